"""The jobs layer's contract: listeners may do anything, actions tell every listener, resources
are given back, and a locked ledger holds up no polling. Against the real emulator."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sora_widgets.api import NotFoundError, PollPolicy, ValidationError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import (
    Clock,
    Job,
    JobStatus,
    Runner,
    delete,
    download,
    find_job,
    generate,
    job_from_row,
    ledger_for,
    listeners_idle,
    plan,
    refresh,
    remix,
    resume,
)
from sora_widgets.ledger import Ledger

from ..conftest import EmulatorFactory

FAST = PollPolicy(first_delay=0.2, min_interval=0.1, tail_interval=0.2)


@pytest.fixture
def runner() -> Iterator[Runner]:
    runner = Runner.configure(poll_policy=FAST)
    yield runner
    Runner.shutdown()


def settings_for(emulator: EmulatorHandle, tmp_path: Path, **kwargs: object) -> Settings:
    kwargs.setdefault("api_key", "sk-test")
    return resolve_settings(
        base_url=emulator.base_url,
        profile="openai",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,  # type: ignore[arg-type]
    )


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def posts(emulator: EmulatorHandle) -> list[str]:
    return [line for line in emulator.state.access_log if '"POST ' in line]


def test_a_listener_that_generates_gets_its_second_job_completed(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    settings = settings_for(emulator, tmp_path)
    second: list[Job] = []

    def then_a_variation(job: Job) -> None:
        if job.status == JobStatus.COMPLETED and not second:
            follow_up = generate("the same lighthouse, at dawn", settings=settings)
            second.append(follow_up)
            follow_up.wait(60)  # waiting inside a listener must not block the Runner

    first = generate("a lighthouse at dusk", settings=settings, on_change=then_a_variation)
    first.wait(60)
    wait_until(lambda: bool(second) and second[0].done)
    assert second[0].status == JobStatus.COMPLETED
    assert second[0].paths["video"].stat().st_size > 0
    # and the Runner still serves everyone else
    third = generate("a third one", settings=settings, wait=True, timeout=60)
    assert third.status == JobStatus.COMPLETED


def test_a_listener_can_download_remix_and_resume(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    settings = settings_for(emulator, tmp_path)
    seen: dict[str, object] = {}

    def act(job: Job) -> None:
        if job.status == JobStatus.COMPLETED and "thumbnail" not in seen:
            seen["thumbnail"] = download(job, "thumbnail", force=True).result(30)["thumbnail"]
            seen["resumed"] = resume(settings=settings)
            seen["remix"] = remix(job, "now in the rain").wait(60)

    generate("a harbour", settings=settings, on_change=act).wait(60)
    wait_until(lambda: "remix" in seen)
    assert Path(str(seen["thumbnail"])).stat().st_size > 0
    assert seen["resumed"] == []
    assert isinstance(seen["remix"], Job) and seen["remix"].status == JobStatus.COMPLETED


def test_actions_tell_every_listener_of_the_same_job(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    settings = settings_for(emulator, tmp_path)
    job = generate("a kite", settings=settings, wait=True, timeout=60)
    heard: list[str] = []
    job.on_change(lambda j: heard.append(j.status))
    assert job.id is not None
    same = find_job(job.id[:12], settings)  # the magic finds the panel's handle, not a copy
    assert same is job
    delete(same).result(30)
    assert listeners_idle(10)
    assert job.status == JobStatus.DELETED and heard[-1] == JobStatus.DELETED
    row = ledger_for(settings).get(job.id)
    assert row is not None and row.status == "deleted"
    assert job.paths["video"].exists()  # local files are kept
    with pytest.raises(NotFoundError):
        refresh(job).result(30)


def test_download_of_expired_content_says_so(
    emulator_factory: EmulatorFactory, tmp_path: Path, runner: Runner
) -> None:
    emulator = emulator_factory(faults=["content:expire"])
    settings = settings_for(emulator, tmp_path)
    job = generate("a sandcastle", settings=settings)
    with pytest.raises(NotFoundError):
        job.wait(60)
    assert job.status == JobStatus.EXPIRED
    with pytest.raises(NotFoundError):
        download(job, "video", force=True).result(30)
    assert job.status == JobStatus.EXPIRED and "expired" in job.message


def test_finished_jobs_leave_the_runner_and_release_their_reference(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    from PIL import Image

    settings = settings_for(emulator, tmp_path)
    picture = Image.new("RGB", (1280, 720), "teal")
    job = generate("a teal wall", size="1280x720", reference=picture, settings=settings)
    assert job.request.input_reference is not None and job in runner.active
    sha = job.request.reference_sha256
    job.wait(60)
    assert job not in runner.active and runner.active == []
    assert job.request.input_reference is None  # the bytes are given back
    assert job.request.reference_sha256 == sha and sha is not None
    assert job.id is not None and find_job(job.id, settings) is job  # still found while held
    other_key = settings_for(emulator, tmp_path, api_key="sk-someone-else")
    assert find_job(job.id, other_key) is not job  # another key never gets this key's handle


def test_a_locked_ledger_holds_up_no_polling(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    settings = settings_for(emulator, tmp_path)
    ledger_for(settings)  # created and migrated
    seen: list[str] = []
    job = generate("a slow ledger", settings=settings, on_change=lambda j: seen.append(j.status))
    wait_until(lambda: job.id is not None)
    locker = sqlite3.connect(tmp_path / "ledger.sqlite3", timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        # the job is followed to the end and its files saved while the ledger is locked
        wait_until(lambda: JobStatus.COMPLETED in seen, timeout=30)
        assert job.paths["video"].stat().st_size > 0
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    job.wait(60)
    row = ledger_for(settings).get(job.id or "")
    assert row is not None and row.status == "completed" and row.video_path


def test_one_ledger_connection_per_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first = Ledger.shared(path)
    assert Ledger.shared(tmp_path / "." / "ledger.sqlite3") is first
    Ledger.close_shared()
    assert first.closed
    assert Ledger.shared(path) is not first  # reopened on the next use


def test_a_rate_limit_on_create_waits_at_most_the_cap(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(faults=["create:script=429=3600,ok"])
    slept: list[float] = []

    async def recorded(seconds: float) -> None:
        import asyncio

        slept.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))

    Runner.configure(poll_policy=FAST, clock=Clock(sleep=recorded))
    try:
        messages: list[str] = []
        job = generate(
            "a busy day",
            settings=settings_for(emulator, tmp_path),
            on_change=lambda j: messages.append(j.message),
        )
        job.wait(60)
    finally:
        Runner.shutdown()
    assert job.status == JobStatus.COMPLETED
    cap = Runner().retry_policy.max_retry_after
    assert max(slept) == cap  # not the 3600 s the server asked for
    assert any("asked for 3600 s" in m for m in messages)


def test_statuses_are_one_vocabulary(tmp_path: Path, emulator: EmulatorHandle) -> None:
    settings = settings_for(emulator, tmp_path)
    ledger = ledger_for(settings)
    placeholder = ledger.record_pending(
        provider=settings.base_url,
        profile="openai",
        model="sora-2",
        size="720x1280",
        seconds="4",
        prompt="gone",
    )
    ledger.record(placeholder, {"id": "video_gone", "status": "completed"})
    for word, done in (("deleted", True), ("lost", True), ("in_progress", False), ("stuck", True)):
        ledger.update("video_gone", status=word)
        row = ledger.get("video_gone")
        assert row is not None
        job = job_from_row(row, settings)
        assert isinstance(job.status, JobStatus) and job.done is done, word
    assert JobStatus.parse("processing") == JobStatus.IN_PROGRESS  # a gateway's own word
    assert JobStatus.LOST.final and not JobStatus.STUCK.final and JobStatus.STUCK.stopped


def test_a_plan_sends_nothing_and_checks_everything_first(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    from PIL import Image

    settings = settings_for(emulator, tmp_path, max_spend=1.0)
    before = list(emulator.state.access_log)
    the_plan = plan(
        "a red door",
        size="1280x720",
        reference=Image.new("RGB", (640, 480), "red"),
        count=2,
        settings=settings,
    )
    assert the_plan.count == 2 and the_plan.total_cost == pytest.approx(0.8)
    assert the_plan.fields()["input_reference"].endswith("1280x720)")
    with pytest.raises(ValidationError, match="max_spend"):
        plan("a red door", count=3, settings=settings)  # $1.20 for three 4 s videos
    with pytest.raises(ValidationError, match="from 1 to 10"):
        plan("a red door", count=11, settings=settings)
    assert list(emulator.state.access_log) == before


def test_resume_is_safe_from_two_threads(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    settings = settings_for(emulator, tmp_path)
    job = generate("twice", settings=settings, wait=True, timeout=60)
    results: list[list[Job]] = []
    threads = [
        threading.Thread(target=lambda: results.append(resume(settings=settings))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [[], []] and job.status == JobStatus.COMPLETED
    assert posts(emulator) and len(posts(emulator)) == 1


def test_retry_after_the_reference_was_released_sends_the_same_picture(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    from PIL import Image

    from sora_widgets.jobs import retry

    settings = settings_for(emulator, tmp_path)
    picture = Image.new("RGB", (1280, 720), "orange")
    first = generate("an orange wall", size="1280x720", reference=picture, settings=settings)
    first.wait(60)
    assert first.request.input_reference is None  # released from memory ...
    again = retry(first)  # ... yet the retry sends the same picture, kept beside the ledger
    again.wait(60)
    assert again.status == JobStatus.COMPLETED and again.id != first.id
    assert again.request.reference_sha256 == first.request.reference_sha256
    # the emulator opens a video on its reference: the retry's first frame is the orange picture
    import av

    with av.open(str(again.paths["video"])) as container:
        frame = next(container.decode(video=0)).to_image().convert("RGB")
    red, green, blue = frame.resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    assert red > 200 and 100 < green < 200 and blue < 80, (red, green, blue)


def test_an_unpriced_job_is_refused_under_max_spend_and_sent_with_the_allowance(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    import dataclasses

    settings = settings_for(emulator, tmp_path, max_spend=5.0)
    profile = settings.profile
    unpriced = dataclasses.replace(
        profile,
        models=tuple(dataclasses.replace(m, price_per_second={}) for m in profile.known_models),
    )
    settings = dataclasses.replace(settings, profile=unpriced)  # a gateway model with no price
    with pytest.raises(ValidationError) as refused:
        generate("a priceless sunset", settings=settings)
    assert "price of sora-2 at 720x1280, 4 s is unknown" in str(refused.value)
    assert "allow_unpriced=True" in str(refused.value) and "--allow-unpriced" in str(refused.value)
    assert posts(emulator) == []
    job = generate("a priceless sunset", settings=settings, allow_unpriced=True)
    job.wait(60)
    assert job.status == JobStatus.COMPLETED and job.cost is None and len(posts(emulator)) == 1


def test_previews_are_made_from_the_video_where_a_provider_serves_none(
    emulator: EmulatorHandle, tmp_path: Path, runner: Runner
) -> None:
    from PIL import Image

    from sora_widgets.media import SPRITE_COLUMNS, SPRITE_ROWS, make_previews

    job = generate("a windmill", size="1280x720", settings=settings_for(emulator, tmp_path))
    job.wait(60)
    made = make_previews(job.paths["video"], tmp_path / "t.webp", tmp_path / "s.jpg")
    with Image.open(made["thumbnail"]) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (1280, 720)
    with Image.open(made["spritesheet"]) as sheet:
        assert sheet.format == "JPEG" and sheet.size == (192 * SPRITE_COLUMNS, 108 * SPRITE_ROWS)
    assert not list(tmp_path.glob("*.part"))
