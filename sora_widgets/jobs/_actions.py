"""What a person can do with a job, written once for the magic and the panel alike.

Find a job by id, download a variant, delete it, ask its live status, retry it, remix it, take its
last frame, resume unfinished jobs. Every action runs on the Runner (its one client and connection
pool; SQLite on the ledger writer), keeps the ledger current, sets the job's fields and tells every
listener of that job. Each returns at once (a `concurrent.futures.Future`, or a new `Job`), so it is
safe from the kernel, a widget callback or a job listener.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api import SoraError, UnsupportedError, ValidationError, Video
from ..config import Settings, resolve_settings
from ..ledger import Ledger, LedgerRow
from ..status import JobStatus
from ._capabilities import capability, capability_reason, known, learn, preload
from ._files import VARIANT_FILES, fetch_files
from ._job import GenerationRequest, Job
from ._plan import _planned, kept_reference, ledger_for, plan_remix, submit
from ._runner import Runner

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "delete",
    "download",
    "find_job",
    "job_from_row",
    "last_frame",
    "refresh",
    "remix",
    "resume",
    "retry",
]


def job_from_row(row: LedgerRow, settings: Settings) -> Job:
    """A Job handle for a ledger row (its files, cost and status as the ledger has them)."""
    request = GenerationRequest(
        prompt=row.prompt or "",
        model=row.model,
        size=row.size,
        seconds=row.seconds,
        remix_of=row.remixed_from,
        reference_sha256=row.reference_sha256,
        board=row.board_id,
        shot=row.shot,
    )
    job = Job(request, settings)
    job.id = row.id
    job.status = JobStatus.parse(row.status)
    job.progress = row.progress
    job.cost = row.cost
    job.cost_source = row.cost_source or "estimate"
    job.created = row.created_at
    paths = {
        "video": row.video_path,
        "thumbnail": row.thumbnail_path,
        "spritesheet": row.spritesheet_path,
    }
    job.paths = {k: Path(v) for k, v in paths.items() if v}
    return job


def find_job(ident: str, settings: Settings | None = None) -> Job:
    """The job with this id (or unique id prefix): the handle this process already holds, so every
    listener hears what is done to it, else one made from the ledger row.

    Raises `ValidationError` when the ledger has no such job for this provider.
    """
    settings = settings or resolve_settings()
    runner = Runner.get()
    live = _known(runner, ident, settings)
    if live is not None:
        return live
    row = ledger_for(settings).find(ident)
    if row is None or row.provider != settings.provider:
        raise ValidationError(
            f"no job {ident!r} in the ledger for {settings.provider} (see %sora list)", param="id"
        )
    live = _known(runner, row.id, settings)
    if live is not None:
        return live
    job = job_from_row(row, settings)
    runner.remember(job)
    return job


def _known(runner: Runner, video_id: str, settings: Settings) -> Job | None:
    """The live handle of ``video_id`` if it was made with this provider and key (another key's
    job is never handed out)."""
    live = runner.known(video_id)
    if live is None:
        return None
    same = live.settings.provider == settings.provider and live.settings.api_key == settings.api_key
    return live if same else None


def _created(job: Job) -> str:
    if not job.id or job.id.startswith("pending:"):
        raise ValidationError(
            f"job {job.id or '(not yet created)'} does not exist on the provider yet", param="id"
        )
    return job.id


def download(
    job: Job, variant: str | None = None, *, force: bool = False
) -> concurrent.futures.Future[dict[str, Path]]:
    """Save ``variant`` of the job (``video``, ``thumbnail``, ``spritesheet``; None: all three,
    a missing thumbnail or spritesheet tolerated) into its output folder.

    Files already on disk are not fetched again unless ``force``. The Future gives the saved paths
    by variant; it raises the download's error (`NotFoundError` for expired content)."""
    _created(job)
    if variant is not None and variant not in VARIANT_FILES:
        raise ValidationError(
            f"variant {variant!r} must be video, thumbnail or spritesheet", param="variant"
        )
    wanted = (variant,) if variant else VARIANT_FILES
    on_disk = {v: p for v, p in job.paths.items() if v in wanted and p.exists()}
    if not force and (set(on_disk) == set(wanted) or (variant is None and "video" in on_disk)):
        done: concurrent.futures.Future[dict[str, Path]] = concurrent.futures.Future()
        done.set_result(on_disk)
        return done
    runner = Runner.get()
    preload(job.settings)  # what the provider lacks, read here: never SQLite on the loop
    return runner.run(
        fetch_files(
            runner, job, ledger_for(job.settings), wanted if variant else None, raise_errors=True
        )
    )


def delete(job: Job) -> concurrent.futures.Future[None]:
    """Delete the video on the provider; the job becomes ``deleted`` (local files are kept)."""
    video_id = _created(job)
    if capability(job.settings, "delete") is False:
        raise UnsupportedError(  # known from an earlier answer: nothing is sent
            capability_reason(job.settings, "delete"), capability="delete", status_code=405
        )
    runner = Runner.get()
    ledger = ledger_for(job.settings)

    async def work() -> None:
        try:
            await runner.client(job.settings).delete(video_id)
        except UnsupportedError as exc:
            learn(runner, job.settings, exc)
            await runner.flushed()  # known before the caller hears of it
            raise
        runner.write(ledger, "update", video_id, status=JobStatus.DELETED.value)
        await runner.flushed()  # the ledger says so before any listener looks (the gallery)
        job._changed(status=JobStatus.DELETED, message="deleted on the provider (local files kept)")

    return runner.run(work())


def refresh(job: Job) -> concurrent.futures.Future[Job]:
    """Ask the provider for the job's live status; the job and the ledger follow the answer.

    A completed job whose video is on disk stays ``completed``."""
    video_id = _created(job)
    runner = Runner.get()
    ledger = ledger_for(job.settings)

    async def work() -> Job:
        video = await runner.client(job.settings).retrieve(video_id)
        status = JobStatus.of_video(video.status)
        on_disk = job.paths.get("video")
        if status == JobStatus.DOWNLOADING and on_disk is not None and on_disk.exists():
            status = JobStatus.COMPLETED
        message = f"{video.error.code}: {video.error.message}" if video.error else ""
        runner.write(ledger, "update", video_id, status=status.value, progress=video.progress)
        job._changed(video=video, status=status, progress=video.progress, message=message)
        await runner.flushed()
        return job

    return runner.run(work())


def retry(job: Job) -> Job:
    """Submit the job's request again: a new job, billed again. A reference image whose bytes the
    finished job gave back is read from the kept copy (see `references_folder`)."""
    request = job.request
    if request.reference_sha256 is not None and request.input_reference is None:
        kept = kept_reference(request, job.settings)
        if kept is None:
            raise ValidationError(
                f"job {job.id} was made with a reference image that is no longer kept; "
                "submit it again with the reference",
                param="reference",
            )
        request = replace(request, input_reference=kept)
    return submit(_planned(request, job.settings, 1))[0]


def remix(source: Job | LedgerRow, prompt: str, *, settings: Settings | None = None) -> Job:
    """Submit a remix of ``source`` (a job, or its ledger row) with a new prompt; its `Job`.

    The remix keeps the source's model, size and length, as the API does."""
    return submit(plan_remix(source, prompt, settings=settings))[0]


def last_frame(job: Job) -> concurrent.futures.Future[Image.Image]:
    """The last frame of the job's video as an RGB image (downloading the video first if it is not
    on disk), e.g. to use as the next reference."""
    from ..media import last_frame as frame_of

    runner = Runner.get()
    fetched = download(job, "video")

    async def work() -> Image.Image:
        paths = await asyncio.wrap_future(fetched)
        video = paths.get("video") or job.paths.get("video")
        assert video is not None
        return await asyncio.to_thread(frame_of, video)

    return runner.run(work())


def resume(
    *, settings: Settings | None = None, wait: bool = False, **setting_overrides: Any
) -> list[Job]:
    """Pick up every unfinished job of the current provider from the ledger and follow it to the
    end; returns their handles (safe from a job listener).

    Creates that never answered (a kernel died mid-create) are matched against the provider's
    recent list; completed jobs whose content expired are marked ``expired``.
    """
    settings = settings or resolve_settings(**setting_overrides)
    runner = Runner.get()
    ledger = ledger_for(settings)
    preload(settings)
    following = {job.id for job in runner.active}
    pending = [row for row in ledger.unfinished(provider=settings.provider) if row.pending]
    if pending:
        runner.run(_adopt_pending(runner, settings, ledger, pending)).result()
    jobs: list[Job] = []
    for row in ledger.unfinished(provider=settings.provider):
        if row.pending or row.id in following:
            continue
        job = _known(runner, row.id, settings) or job_from_row(row, settings)
        if (
            row.expires_at is not None
            and row.expires_at <= time.time()
            and row.status
            in (
                JobStatus.COMPLETED,
                JobStatus.DOWNLOADING,
            )
        ):
            runner.write(ledger, "update", row.id, status="expired", note="content expired")
            job._changed(
                status=JobStatus.EXPIRED,
                message="the video's content expired before it was downloaded",
            )
            job._finish()
            jobs.append(job)
            continue
        jobs.append(runner.follow(job))
    if wait:
        for job in jobs:
            with contextlib.suppress(SoraError):
                job.wait()
    return jobs


async def _adopt_pending(
    runner: Runner, settings: Settings, ledger: Ledger, rows: list[LedgerRow]
) -> None:
    """Match creates that never answered against the provider's recent jobs."""
    client = runner.client(settings)
    recent: list[Video] | None = None
    if known(settings, "list") is not False:
        try:
            recent = [v async for v in client.list(limit=100, order="desc")]
        except UnsupportedError as exc:
            learn(runner, settings, exc)
    if recent is None:  # the provider cannot list: nothing can be matched, and nothing is resent
        for row in rows:
            if time.time() - row.created_at > 60:
                runner.write(
                    ledger,
                    "update",
                    row.id,
                    status="lost",
                    note="create unconfirmed and this provider cannot list its jobs: check the "
                    f"gateway's logs for a job created at {time.ctime(row.created_at)}",
                )
        return
    seen = {
        row.id for row in await asyncio.to_thread(ledger.recent, 1000, provider=settings.provider)
    }
    for row in rows:
        match = next(
            (
                v
                for v in recent
                if v.id not in seen
                and (v.prompt is None or v.prompt == row.prompt)
                and (v.model is None or v.model == row.model)
                and (v.size is None or v.size == row.size)
                and (v.created_at is None or v.created_at >= row.created_at - 120)
            ),
            None,
        )
        if match is not None:
            await runner.written(ledger, "record", row.id, match.to_dict())
            seen.add(match.id)
        elif time.time() - row.created_at > 60:
            runner.write(
                ledger,
                "update",
                row.id,
                status="lost",
                note="the create never reached the provider",
            )
