"""A small real HTTP server for downloads larger than the emulator renders.

Serves ``GET /v1/videos/{id}/content`` with a deterministic body of any size, generated on the fly
(no disk, no memory), with HTTP Range (206) and, on request, a connection dropped mid-body.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOCK = bytes((i * 7 + 3) % 251 for i in range(1 << 16))


def body_bytes(start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start``..``end - 1`` of the body, in blocks."""
    position = start
    while position < end:
        offset = position % len(BLOCK)
        chunk = BLOCK[offset : offset + min(len(BLOCK) - offset, end - position)]
        yield chunk
        position += len(chunk)


def body_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in body_bytes(0, size):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BigBodyConfig:
    size: int
    drop_at: list[int] = field(default_factory=list)
    """Byte positions (absolute) at which successive responses cut the connection."""
    honour_range: bool = True
    requests: list[str | None] = field(default_factory=list)
    """The Range header of every content request, in order."""


def _handler(config: BigBodyConfig) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            if not self.path.split("?")[0].endswith("/content"):
                self.send_error(404)
                return
            if "variant=" in self.path and "variant=video" not in self.path:
                payload = b'{"error": {"message": "No such variant", "type": "invalid_request_error", "param": "variant", "code": null}}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            header = self.headers.get("Range")
            config.requests.append(header)
            start = 0
            if header and config.honour_range:
                start = int(header.split("=", 1)[1].split("-", 1)[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{config.size - 1}/{config.size}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(config.size - start))
            self.end_headers()
            drop = config.drop_at.pop(0) if config.drop_at else None
            end = config.size if drop is None or drop <= start else drop
            for chunk in body_bytes(start, end):
                self.wfile.write(chunk)
            if end < config.size:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)

    return Handler


@contextmanager
def serve_on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run ``handler`` on 127.0.0.1 (a free port) in a thread; yield its ``…/v1`` base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve_big_body(config: BigBodyConfig) -> Iterator[str]:
    """Serve the big body on 127.0.0.1 (a free port) and yield its ``…/v1`` base URL."""
    with serve_on_loopback(_handler(config)) as base_url:
        yield base_url
