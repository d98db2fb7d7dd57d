"""Jobs against the emulator: limits, re-queueing, faults, failures, budgets, kill and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sora_widgets.api import ValidationError, VideoFailedError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import GenerationRequest, Job, JobStatus, generate, remix, resume
from sora_widgets.ledger import Ledger

from .._async import run as run_async
from ..conftest import EmulatorFactory


def settings_for(emulator: EmulatorHandle, tmp_path: Path, **kwargs: object) -> Settings:
    return resolve_settings(
        base_url=emulator.base_url,
        api_key="sk-test",
        profile="openai",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,  # type: ignore[arg-type]
    )


def assert_downloaded(out: Path, video_id: str) -> None:
    for suffix in (".mp4", ".thumbnail.webp", ".spritesheet.jpg"):
        assert (out / f"{video_id}{suffix}").stat().st_size > 0
    assert not list(out.glob("*.part"))


def test_24_jobs_under_a_running_limit_of_2(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(job_seconds=1.0, max_running=2)
    settings = settings_for(emulator, tmp_path)
    statuses: set[str] = set()
    jobs = [
        generate(
            "a lighthouse at dusk", settings=settings, on_change=lambda j: statuses.add(j.status)
        )
        for _ in range(24)
    ]
    for job in jobs:
        job.wait(180)
    ids = [job.id for job in jobs]
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    assert len(set(ids)) == 24 and len(emulator.jobs) == 24  # none duplicated, none lost
    assert JobStatus.WAITING in statuses  # the extra jobs said they were waiting
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert {row.id for row in ledger.recent(100)} == set(ids)
    assert all(row.status == "completed" and row.video_path for row in ledger.recent(100))
    for video_id in ids:
        assert video_id is not None
        assert_downloaded(tmp_path / "out", video_id)


def test_429_on_create_requeues_instead_of_failing(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(job_seconds=1.0, max_running=1)
    settings = settings_for(emulator, tmp_path, max_running=3)  # more than the server allows
    messages: list[str] = []
    jobs = [
        generate(f"crowded {i}", settings=settings, on_change=lambda j: messages.append(j.message))
        for i in range(3)
    ]
    for job in jobs:
        job.wait(120)
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    assert len(emulator.jobs) == 3
    assert any("busy" in m and "Too many running tasks" in m for m in messages)


def test_faults_while_polling_and_downloading_lose_nothing(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(
        job_seconds=1.0,
        faults=["retrieve:429:0.3", "retrieve:503:0.2", "content:drop:0.5", "content:502:0.2"],
        fault_seed=7,
    )
    settings = settings_for(emulator, tmp_path)
    jobs = [generate(f"stormy {i}", settings=settings) for i in range(4)]
    for job in jobs:
        job.wait(120)
    for job in jobs:
        assert job.id is not None
        assert_downloaded(tmp_path / "out", job.id)
    assert len(emulator.jobs) == 4


def test_failed_job_carries_code_and_hint(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(job_seconds=1.0, faults=["create:moderation"])
    settings = settings_for(emulator, tmp_path)
    job = generate("anything", settings=settings)
    with pytest.raises(VideoFailedError) as info:
        job.wait(60)
    assert job.status == JobStatus.FAILED and info.value.code == "moderation_blocked"
    assert "rephrase" in str(info.value)
    row = Ledger(tmp_path / "ledger.sqlite3").get(job.id or "")
    assert row is not None and row.status == "failed" and row.error_code == "moderation_blocked"
    assert Ledger(tmp_path / "ledger.sqlite3").total_spent() == 0.0


def test_max_spend_refuses_before_sending(emulator: EmulatorHandle, tmp_path: Path) -> None:
    settings = settings_for(emulator, tmp_path, max_spend=1.0)
    generate("cheap", seconds=4, settings=settings, wait=True)  # $0.40
    with pytest.raises(ValidationError) as info:
        generate("pricey", model="sora-2", seconds=8, settings=settings)  # $0.80 more
    message = str(info.value)
    assert "$0.80" in message and "$0.40" in message and "max_spend $1.00" in message
    assert len(emulator.jobs) == 1


def test_invalid_request_is_refused_before_sending(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="1792x1024"):
        generate("x", size="1792x1024", settings=settings_for(emulator, tmp_path))
    assert emulator.jobs == []


def test_remix_keeps_the_source_and_refuses_one_without_an_id(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    settings = settings_for(emulator, tmp_path)
    source = generate("a lighthouse", size="720x1280", seconds=4, settings=settings, wait=True)
    remixed = remix(source, "the same lighthouse at night", settings=settings)
    remixed.wait(60)
    assert remixed.status == JobStatus.COMPLETED
    assert (remixed.size, remixed.seconds) == ("720x1280", "4")
    assert emulator.jobs[-1].remixed_from_video_id == source.id

    unsent = Job(GenerationRequest(prompt="not sent yet"), settings)
    with pytest.raises(ValidationError, match="no video id yet"):
        remix(unsent, "anything", settings=settings)
    assert len(emulator.jobs) == 2


def test_job_is_awaitable(emulator: EmulatorHandle, tmp_path: Path) -> None:

    async def main() -> str:
        job = generate("await me", settings=settings_for(emulator, tmp_path))
        done = await job
        return done.status

    assert run_async(main()) == JobStatus.COMPLETED


KILLED_SCRIPT = """
import sys, time
from sora_widgets.config import resolve_settings
from sora_widgets.jobs import generate
settings = resolve_settings(base_url=sys.argv[1], api_key="sk-test", profile="openai",
                            output_dir=sys.argv[2], ledger_path=sys.argv[3], max_running=5)
jobs = [generate(f"survivor {i}", settings=settings) for i in range(3)]
while any(job.id is None for job in jobs):
    time.sleep(0.05)
print("created", flush=True)
time.sleep(600)
"""


def test_killed_process_is_resumed_and_every_job_finishes(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(job_seconds=3.0)
    out, ledger_path = tmp_path / "out", tmp_path / "ledger.sqlite3"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(KILLED_SCRIPT),
            emulator.base_url,
            str(out),
            str(ledger_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "created"
        time.sleep(0.5)  # mid-poll
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    ledger = Ledger(ledger_path)
    unfinished = ledger.unfinished()
    assert len(unfinished) == 3 and not any(row.pending for row in unfinished)

    settings = settings_for(emulator, tmp_path)
    jobs = resume(settings=settings, wait=True)
    assert sorted(job.id or "" for job in jobs) == sorted(row.id for row in unfinished)
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    for job in jobs:
        assert_downloaded(out, job.id or "")
    assert ledger.unfinished() == [] and len(emulator.jobs) == 3


def test_resume_marks_expired_content(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    emulator = emulator_factory(job_seconds=1.0, content_ttl=0.5)
    settings = settings_for(emulator, tmp_path)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    from sora_widgets.api import SoraClient

    with SoraClient(base_url=emulator.base_url, api_key=settings.api_key) as client:
        video = client.create(prompt="forgotten")
        ledger.record(None, video.to_dict(), provider=emulator.base_url, profile="openai", cost=0.4)
        client.wait(video.id, timeout=30)
    time.sleep(1.0)
    jobs = resume(settings=settings, wait=True)
    assert [job.status for job in jobs] == [JobStatus.EXPIRED]
    row = ledger.get(video.id)
    assert row is not None and row.status == "expired"
