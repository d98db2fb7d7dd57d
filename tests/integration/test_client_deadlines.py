"""`wait(timeout=…)` ends by its deadline against real local servers that never give a usable answer.

A loopback server answers every retrieve with a proxy's ``200 text/html`` page, an empty body, or
no answer at all for a minute; the emulator answers with its faults. The clock is the real one:
each test measures how long the wait took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from sora_widgets.api import APITimeoutError, AsyncSoraClient, RetryPolicy, SoraClient

from .._async import run as run_async
from ..conftest import EmulatorFactory
from .bigbody_server import serve_on_loopback

PROXY_PAGE = b"<html><body><h1>Please sign in to the proxy</h1></body></html>"


def _handler(kind: str, release: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            if kind == "silent":
                release.wait(60)  # a server that accepted the request and never answers
                return
            body = PROXY_PAGE if kind == "html" else b""
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if kind == "html" else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_sync_wait_against_a_200_html_page_ends_by_its_deadline(release: threading.Event) -> None:
    with (
        serve_on_loopback(_handler("html", release)) as base_url,
        SoraClient(base_url=base_url, api_key="k") as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            client.wait("video_1", timeout=5)
        elapsed = time.monotonic() - started
    assert 4.5 <= elapsed < 7.0
    message = str(info.value)
    assert "keeps running on the server" in message and "not JSON" in message


def test_async_wait_against_a_200_html_page_ends_by_its_deadline(release: threading.Event) -> None:
    async def main(base_url: str) -> tuple[APITimeoutError, float]:
        async with AsyncSoraClient(base_url=base_url, api_key="k") as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as info:
                await client.wait("video_1", timeout=5)
            return info.value, time.monotonic() - started

    with serve_on_loopback(_handler("html", release)) as base_url:
        error, elapsed = run_async(main(base_url))
    assert 4.5 <= elapsed < 7.0
    assert "keeps running on the server" in str(error) and "not JSON" in str(error)


@pytest.mark.parametrize("kind", ["empty", "silent"])
def test_wait_against_an_empty_or_silent_server_ends_by_its_deadline(
    kind: str, release: threading.Event
) -> None:
    retries = RetryPolicy(max_retries=50)  # only the deadline can end it
    with (
        serve_on_loopback(_handler(kind, release)) as base_url,
        SoraClient(base_url=base_url, api_key="k", retry_policy=retries) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="keeps running on the server"):
            client.wait("video_1", timeout=2)
        assert time.monotonic() - started < 4.0


@pytest.mark.parametrize("fault", ["retrieve:html", "retrieve:429=60", "retrieve:slow=30000"])
def test_wait_against_emulator_faults_ends_by_its_deadline(
    emulator_factory: EmulatorFactory, fault: str
) -> None:
    emulator = emulator_factory(faults=[fault], job_seconds=60)
    retries = RetryPolicy(max_retries=50)
    with SoraClient(base_url=emulator.base_url, api_key="k", retry_policy=retries) as client:
        video = client.create(prompt="a lighthouse that never finishes")
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="keeps running on the server"):
            client.wait(video.id, timeout=2)
        assert time.monotonic() - started < 4.0
