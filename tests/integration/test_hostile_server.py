"""A hostile or broken server: ids that try to escape the output folder, absurd progress, unknown
statuses, oversized JSON. Nothing escapes the folder; every answer is tamed or a clear error."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from sora_widgets.api import APIConnectionError, SoraClient
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import JobStatus, generate

from .bigbody_server import serve_on_loopback

CONTENT = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000


class Script:
    def __init__(self, video_id: str, polls: list[dict[str, Any]], oversized: bool = False) -> None:
        self.video_id = video_id
        self.polls = polls
        self.oversized = oversized
        self.paths: list[str] = []


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _video(self, **fields: Any) -> dict[str, Any]:
            return {
                "id": script.video_id,
                "object": "video",
                "model": "sora-2",
                "size": "720x1280",
                "seconds": "4",
                "created_at": 2_000_000_000,
                **fields,
            }

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._json(self._video(status="queued", progress=0))

        def do_GET(self) -> None:
            script.paths.append(self.path)
            if "/content" in self.path:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                self.wfile.write(CONTENT)
                return
            if script.oversized:
                self._json(self._video(status="in_progress", progress=1, junk="x" * 9_000_000))
                return
            fields = script.polls.pop(0) if len(script.polls) > 1 else script.polls[0]
            self._json(self._video(**fields))

    return Handler


def hostile(script: Script) -> AbstractContextManager[str]:
    return serve_on_loopback(_handler(script))


@pytest.mark.parametrize(
    "video_id",
    [
        "../../escaped",
        "/etc/passwd",
        "..",
        "nul\x00byte",
        "a/../../b",
        "C:\\windows\\x",
        "video_é漢字",
    ],
)
def test_hostile_ids_never_escape_the_output_folder(tmp_path: Path, video_id: str) -> None:
    script = Script(video_id, [{"status": "completed", "progress": 100}])
    work = tmp_path / "a" / "b"
    out = work / "out"
    with hostile(script) as base_url:
        settings = resolve_settings(
            base_url=base_url, api_key="k", output_dir=out, ledger_path=work / "ledger.sqlite3"
        )
        job = generate("x", settings=settings).wait(30)
    assert job.status == JobStatus.COMPLETED
    for path in job.paths.values():
        assert path.resolve().parent == out.resolve()
        assert "\x00" not in str(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    assert all(p.name.startswith(("out", "ledger")) for p in work.iterdir())
    assert all("%2F" in p or "/" not in video_id for p in script.paths if "videos/" in p)


def test_absurd_progress_and_unknown_status_are_tamed(tmp_path: Path) -> None:
    seen: list[int] = []
    script = Script(
        "video_1",
        [
            {"status": "in_progress", "progress": -40},
            {"status": "sparkling", "progress": 1e12},
            {"status": "in_progress", "progress": "lots"},
            {"status": "completed", "progress": 100},
        ],
    )
    with hostile(script) as base_url:
        settings = resolve_settings(
            base_url=base_url,
            api_key="k",
            output_dir=tmp_path / "out",
            ledger_path=tmp_path / "l.sqlite3",
        )
        job = generate("x", settings=settings, on_change=lambda j: seen.append(j.progress))
        job.wait(60)
    assert job.status == JobStatus.COMPLETED
    assert all(0 <= p <= 100 for p in seen)


def test_oversized_json_is_refused_clearly(tmp_path: Path) -> None:
    script = Script("video_1", [], oversized=True)
    with (
        hostile(script) as base_url,
        SoraClient(base_url=base_url, api_key="k", max_retries=1) as client,
        pytest.raises(APIConnectionError, match="more than any video object needs"),
    ):
        client.retrieve("video_1")
