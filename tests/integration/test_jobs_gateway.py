"""The jobs layer behind a provider that lacks things, as gateways do (the emulator's gateway
behaviours): what is refused is learned once and remembered, and every feature degrades plainly."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from sora_widgets.api import PollPolicy, UnsupportedError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import (
    JobStatus,
    Runner,
    capability,
    delete,
    download,
    generate,
    ledger_for,
    resume,
)

from ..conftest import EmulatorFactory


@pytest.fixture
def runner() -> Iterator[Runner]:
    runner = Runner.configure(poll_policy=PollPolicy(first_delay=0.2, min_interval=0.1))
    yield runner
    Runner.shutdown()


def settings_for(emulator: EmulatorHandle, tmp_path: Path) -> Settings:
    return resolve_settings(
        base_url=emulator.base_url,
        api_key="sk-gateway-student",
        profile="openai",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
    )


def requests(emulator: EmulatorHandle, method: str) -> list[str]:
    return [line for line in emulator.state.access_log if f'"{method} ' in line]


def test_previews_are_made_locally_where_variants_come_back_as_the_mp4(
    emulator_factory: EmulatorFactory, tmp_path: Path, runner: Runner
) -> None:
    emulator = emulator_factory(gateway=["ignore-variants"])
    settings = settings_for(emulator, tmp_path)
    first = generate("a red kite", size="1280x720", settings=settings, wait=True, timeout=60)
    with Image.open(first.paths["thumbnail"]) as thumb:
        assert thumb.format == "WEBP"  # a real picture, not MP4 bytes under a .webp name
    with Image.open(first.paths["spritesheet"]) as sheet:
        assert sheet.format == "JPEG" and sheet.width > sheet.height
    assert capability(settings, "variants") is False  # learned once ...
    asked = len(requests(emulator, "GET"))
    second = generate("a blue kite", size="1280x720", settings=settings, wait=True, timeout=60)
    assert second.paths["thumbnail"].exists() and second.paths["spritesheet"].exists()
    variant_asks = [line for line in requests(emulator, "GET")[asked:] if "variant=" in line]
    assert variant_asks == []  # ... and remembered: the second job does not ask again


def test_delete_where_the_gateway_has_none_says_so_once(
    emulator_factory: EmulatorFactory, tmp_path: Path, runner: Runner
) -> None:
    emulator = emulator_factory(gateway=["no-delete"])
    settings = settings_for(emulator, tmp_path)
    job = generate("a sandcastle", settings=settings, wait=True, timeout=60)
    with pytest.raises(UnsupportedError) as first:
        delete(job).result(30)
    assert first.value.capability == "delete" and "\n" not in str(first.value)
    with pytest.raises(UnsupportedError, match="stays on the provider"):
        delete(job)  # known now: refused before anything is sent
    assert len(requests(emulator, "DELETE")) == 1
    assert job.status == JobStatus.COMPLETED  # nothing pretends it was deleted
    assert download(job).result(30)["video"].exists()


def test_resume_needs_no_list(
    emulator_factory: EmulatorFactory, tmp_path: Path, runner: Runner
) -> None:
    emulator = emulator_factory(gateway=["no-list"], job_seconds=2.0)
    settings = settings_for(emulator, tmp_path)
    running = generate("still going", settings=settings)
    deadline = time.monotonic() + 30
    while running.id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    ledger = ledger_for(settings)
    ghost = ledger.record_pending(  # a create whose answer never came (the kernel died)
        provider=settings.base_url,
        profile="openai",
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="lost in the post",
    )
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as raw:  # ... ten minutes ago
        raw.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (time.time() - 600, ghost))
    Runner.shutdown()  # the kernel "restarts" with one job running and one unconfirmed
    Runner.configure(poll_policy=PollPolicy(first_delay=0.2, min_interval=0.1))
    posts_before = len(requests(emulator, "POST"))
    jobs = resume(settings=settings, wait=True)
    assert [job.id for job in jobs] == [running.id]
    assert jobs[0].status == JobStatus.COMPLETED
    assert len(requests(emulator, "POST")) == posts_before  # nothing was sent twice
    assert capability(settings, "list") is False
    row = ledger.get(ghost)
    assert row is not None and row.status == "lost"
    assert row.note is not None and "cannot list" in row.note  # says what to check instead


def test_everything_works_behind_a_litellm_like_gateway(
    emulator_factory: EmulatorFactory, tmp_path: Path, runner: Runner
) -> None:
    emulator = emulator_factory(gateway=["litellm"])  # every behaviour LiteLLM's proxy shows
    settings = settings_for(emulator, tmp_path)
    said: list[str] = []
    jobs = [
        generate(
            f"a lighthouse, take {n}", settings=settings, on_change=lambda j: said.append(j.message)
        )
        for n in (1, 2)
    ]
    for job in jobs:
        job.wait(60)
    ids = [job.id or "" for job in jobs]
    assert all(len(video_id) > 200 for video_id in ids)  # LiteLLM-long ids ...
    videos = [job.paths["video"] for job in jobs]
    assert videos[0] != videos[1] and all(len(p.name) < 120 for p in videos)  # ... never one file
    assert videos[0].read_bytes() != videos[1].read_bytes()
    for job in jobs:
        assert job.status == JobStatus.COMPLETED
        with Image.open(job.paths["thumbnail"]) as thumb:
            assert thumb.format == "WEBP"
        assert job.cost_source == "gateway" and job.cost == pytest.approx(0.4)
    assert any("processing" in text for text in said)  # the gateway's own word was shown
    row = ledger_for(settings).get(ids[1])
    assert row is not None and row.cost_source == "gateway" and row.video_path == str(videos[1])


def test_a_profile_nobody_chose_gives_way_to_the_one_the_gateway_names(
    emulator_factory: EmulatorFactory,
    tmp_path: Path,
    runner: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SORA_PROFILE", raising=False)
    emulator = emulator_factory(gateway=["litellm-headers"])
    settings = resolve_settings(
        base_url=emulator.base_url,
        api_key="sk-gateway-student",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
    )
    assert not settings.profile_chosen
    generate("a kite over the proxy", settings=settings, wait=True, timeout=60)
    client = runner.client(settings)
    assert client.detected_profile == "litellm" and client.profile.name == "litellm"
    chosen = settings_for(emulator, tmp_path)  # profile="openai", said out loud: kept
    generate("a kite, as told", settings=chosen, wait=True, timeout=60)
    assert runner.client(chosen).profile.name == "openai"
