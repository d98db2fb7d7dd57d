"""Through the real LiteLLM proxy (1.108.7): what it lacks or changes (no list, no delete, variants
answered with the MP4, ids of 266–290 characters, Veo's own status words, a job failed upstream
reported "completed", wrapped errors), and what the kit makes of each: a working alternative or one
line a user can act on."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sora_widgets.api import (
    AuthenticationError,
    BadRequestError,
    ContentFailedError,
    SoraClient,
    UnsupportedError,
    ValidationError,
    VideoStatus,
)
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.display import status_card
from sora_widgets.jobs import JobStatus, generate, resume
from sora_widgets.ledger import Ledger

from ..conftest import FAST_POLL
from ._cutter import CuttingRelay
from ._helpers import close_to, decode_litellm_id, first_frame, is_mp4, png
from .conftest import Gateway
from .veo_standin import BLOCKED_WORD

pytestmark = pytest.mark.slow

ORANGE = (230, 120, 20)


@pytest.fixture
def client(gateway: Gateway) -> SoraClient:
    return SoraClient(
        base_url=gateway.base_url, api_key=gateway.master_key, poll_policy=FAST_POLL, max_retries=0
    )


def settings_for(gateway: Gateway, tmp_path: Path, **kwargs: Any) -> Settings:
    return resolve_settings(
        base_url=gateway.base_url,
        api_key=gateway.master_key,
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,
    )


def finished(client: SoraClient) -> str:
    video = client.create(prompt="a quiet harbour", model="sora-2", size="1280x720", seconds=4)
    client.wait(video.id, timeout=60)
    return video.id


def test_list_and_delete_are_missing_and_say_so(client: SoraClient) -> None:
    video_id = finished(client)
    with pytest.raises(UnsupportedError) as no_list:
        client.list_page(limit=5)
    assert no_list.value.capability == "list"
    assert "has no GET /videos" in str(no_list.value) and "resume()" in str(no_list.value)
    with pytest.raises(UnsupportedError) as no_delete:
        client.delete(video_id)
    assert no_delete.value.capability == "delete"
    assert "DELETE /videos/{id}" in str(no_delete.value)
    assert client.learned == {"list": False, "delete": False}
    assert client.retrieve(video_id).status == VideoStatus.COMPLETED  # still there


def test_a_variant_answered_with_the_mp4_is_refused_before_the_rename(
    client: SoraClient, tmp_path: Path
) -> None:
    video_id = finished(client)
    target = tmp_path / "poster.webp"
    with pytest.raises(UnsupportedError) as wrong:
        client.download(video_id, target, variant="thumbnail")
    assert wrong.value.capability == "variants" and "sent an MP4" in str(wrong.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a .part


def test_generate_makes_the_previews_from_the_mp4_and_names_files_apart(
    gateway: Gateway, tmp_path: Path
) -> None:
    """Two Veo jobs: ids of ~290 characters that share their first 200; each gets its own files,
    and a real WebP poster and JPEG spritesheet made from its own MP4."""
    settings = settings_for(gateway, tmp_path)
    wide = generate(
        "a wide sea", model=gateway.veo_model, size="1280x720", seconds=4, settings=settings
    )
    tall = generate(
        "a tall tree", model=gateway.veo_model, size="720x1280", seconds=4, settings=settings
    )
    wide.wait(90)
    tall.wait(90)
    assert wide.id is not None and tall.id is not None
    assert len(wide.id) > 250 and wide.id[:100] == tall.id[:100]
    assert set(wide.paths.values()).isdisjoint(tall.paths.values())
    for job, size in ((wide, (1280, 720)), (tall, (720, 1280))):
        assert job.status == JobStatus.COMPLETED
        assert len(job.paths["video"].name) < 80
        assert first_frame(job.paths["video"]).size == size
        assert job.paths["thumbnail"].read_bytes()[8:12] == b"WEBP"
        assert job.paths["spritesheet"].read_bytes()[:3] == b"\xff\xd8\xff"
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    rows = [ledger.get(job.id) for job in (wide, tall)]
    assert len({row.video_path for row in rows if row is not None}) == 2


def test_veo_processing_is_in_progress_and_a_job_failed_upstream_fails(
    gateway: Gateway, client: SoraClient, tmp_path: Path
) -> None:
    video = client.create(
        prompt=f"a {BLOCKED_WORD} storm", model=gateway.veo_model, size="1280x720", seconds=4
    )
    assert video.status == VideoStatus.IN_PROGRESS and video.status_text == "processing"
    assert video.progress is None  # LiteLLM sends none: no "0 %" for the whole job
    # LiteLLM calls Veo's finished operation "completed" even when it ended in an error…
    assert client.wait(video.id, timeout=60).status == VideoStatus.COMPLETED
    with pytest.raises(ContentFailedError, match="failed upstream"):
        client.download_bytes(video.id)

    # …and the jobs layer reports such a job failed, with the gateway's words; while it runs, its
    # card shows the time it has been running rather than a percentage it does not know
    cards: list[str] = []
    job = generate(
        f"another {BLOCKED_WORD} storm",
        model=gateway.veo_model,
        size="1280x720",
        seconds=4,
        settings=settings_for(gateway, tmp_path),
        on_change=lambda j: cards.append(status_card(j).data["text/plain"]),
    )
    with pytest.raises(ContentFailedError):
        job.wait(90)
    running = [card for card in cards if card.startswith("sora in_progress")]
    assert running and all("running for" in card and "%" not in card for card in running)
    assert job.status == JobStatus.FAILED and "video" not in job.paths
    assert "No response data in completed operation" in str(job.error)
    assert not list((tmp_path / "out").glob("*.mp4"))


def test_errors_come_back_in_the_providers_words(
    client: SoraClient, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the emulator's validation error, wrapped by LiteLLM in its own message, read back out
    with pytest.raises(BadRequestError) as bad:
        client.create(prompt="x", model="sora-2", size="999x111", seconds=4, validate=False)
    assert bad.value.code == "invalid_value" and bad.value.param == "size"
    assert str(bad.value).count("Invalid value: '999x111'") == 1
    # a key the proxy does not know (it has no database for virtual keys), and no key at all
    stranger = SoraClient(base_url=gateway.base_url, api_key="sk-not-a-key", max_retries=0)
    with pytest.raises(AuthenticationError, match="the gateway refused the key"):
        stranger.create(prompt="x", model="sora-2", size="1280x720", seconds=4)
    for name in ("SORA_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    keyless = SoraClient(base_url=gateway.base_url, api_key="", max_retries=0)
    with pytest.raises(AuthenticationError, match="no key was sent"):
        keyless.retrieve("video_123")


KILLED = """
import sys, time
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import generate
settings = resolve_settings(base_url=sys.argv[1], api_key=sys.argv[2], output_dir=sys.argv[3],
                            ledger_path=sys.argv[4])
jobs = [generate(f"survivor {i}", model=m, seconds=4,
                 settings=settings) for i, m in enumerate(("sora-2", sys.argv[5]))]
while any(job.id is None for job in jobs):
    time.sleep(0.05)
print("created", flush=True)
time.sleep(600)
"""


def test_resume_after_a_kernel_restart_needs_no_list(gateway: Gateway, tmp_path: Path) -> None:
    out, ledger_path = tmp_path / "out", tmp_path / "ledger.sqlite3"
    env = dict(os.environ, SORA_POLL_POLICY="first_delay=30,min_interval=30")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(KILLED),
            gateway.base_url,
            gateway.master_key,
            str(out),
            str(ledger_path),
            gateway.veo_model,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "created"
    finally:
        child.kill()
        child.wait(10)
    unfinished = Ledger(ledger_path).unfinished()
    assert len(unfinished) == 2
    assert {decode_litellm_id(row.id)["custom_llm_provider"] for row in unfinished} == {
        "openai",
        "gemini",
    }
    started = time.monotonic()
    jobs = resume(settings=settings_for(gateway, tmp_path), wait=True)
    assert time.monotonic() - started < 90
    assert sorted(job.id or "" for job in jobs) == sorted(row.id for row in unfinished)
    for job in jobs:
        assert job.status == JobStatus.COMPLETED and is_mp4(job.paths["video"].read_bytes())
    assert Ledger(ledger_path).unfinished() == []


@pytest.fixture
def image_host(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 with one 800x600 orange PNG; yields its URL and the paths asked."""
    folder = tmp_path / "host"
    folder.mkdir()
    (folder / "orange.png").write_bytes(png(800, 600, ORANGE))
    asked: list[str] = []

    class Host(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            asked.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Host, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/orange.png", asked
    server.shutdown()
    server.server_close()


def test_url_references_are_fetched_fitted_and_uploaded_on_the_litellm_profile(
    gateway: Gateway, tmp_path: Path, image_host: tuple[str, list[str]]
) -> None:
    url, asked = image_host
    client = SoraClient(
        base_url=gateway.base_url, api_key=gateway.master_key, profile="litellm", max_retries=0
    )
    for reference in ({"image_url": url}, url):
        with pytest.raises(ValidationError, match="only as an uploaded file.*prepare_reference"):
            client.create(prompt="x", size="1280x720", seconds=4, input_reference=reference)
    assert asked == []  # refused before anything was fetched or sent

    settings = settings_for(gateway, tmp_path, profile="litellm")
    job = generate("the wall at dusk", size="1280x720", seconds=4, reference=url, settings=settings)
    job.wait(60)
    assert asked == ["/orange.png"]  # the kit fetched it, fitted 800x600 to 1280x720, uploaded it
    assert close_to(first_frame(job.paths["video"]).getpixel((640, 360)), ORANGE)


def test_a_range_answered_with_200_restarts_the_download_cleanly(
    gateway: Gateway, client: SoraClient, tmp_path: Path
) -> None:
    """A download cut short is resumed with Range; LiteLLM ignores Range and sends the whole body
    again (200): the kit starts the file again rather than append a second copy, and learns it."""
    video_id = finished(client)
    whole = client.download_bytes(video_id)
    relay = CuttingRelay(gateway.url, cut_after=40_000)
    try:
        through = SoraClient(
            base_url=f"{relay.url}/v1", api_key=gateway.master_key, poll_policy=FAST_POLL
        )
        path = through.download(video_id, tmp_path / "cut.mp4")
    finally:
        relay.stop()
    assert relay.cuts_left == 0 and len(relay.content_requests) == 2
    assert "range: bytes=" not in relay.content_requests[0].lower()
    assert "range: bytes=" in relay.content_requests[1].lower()  # it asked to resume…
    assert path.read_bytes() == whole  # …got the whole body again, and kept exactly one copy
    assert through.learned.get("range") is False
