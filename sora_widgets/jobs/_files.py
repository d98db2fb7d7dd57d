"""Saving a job's files: the video, its thumbnail and its spritesheet, into the output folder.

Written once for the Runner (when a job completes) and for the download action (a user's
``%sora download``, the panel's Download), so both treat missing variants and expiry alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import (
    APIConnectionError,
    APIError,
    ContentFailedError,
    NotFoundError,
    ReferenceImageError,
    UnsupportedError,
    safe_filename,
)
from ..status import JobStatus
from ._capabilities import known, learn, learn_from_client

if TYPE_CHECKING:
    from ..api import AsyncSoraClient
    from ..ledger import Ledger
    from ._job import Job
    from ._runner import Runner

__all__ = ["VARIANT_FILES", "fetch_files", "mark_failed"]

logger = logging.getLogger("sora_widgets.jobs")

VARIANT_FILES = ("video", "thumbnail", "spritesheet")
"""What a finished job saves; only the video is required."""

_PATH_COLUMNS = {variant: f"{variant}_path" for variant in VARIANT_FILES}


async def fetch_files(
    runner: Runner,
    job: Job,
    ledger: Ledger,
    variants: tuple[str, ...] | None,
    *,
    raise_errors: bool = False,
) -> dict[str, Path]:
    """Download ``variants`` (None: all three, a missing thumbnail or spritesheet tolerated) of
    ``job`` into its output folder; keep the ledger and the job current and tell its listeners.

    On failure the job says why (expired content: ``expired``; otherwise ``error``, and a later
    download or `resume` tries again); with ``raise_errors`` the error is raised too.
    """
    assert job.id is not None
    video_id = job.id
    client = runner.client(job.settings)
    out = Path(job.settings.output_dir)
    wanted = variants or VARIANT_FILES
    required = set(variants) if variants else {"video"}
    previous = job.status
    job._changed(status=JobStatus.DOWNLOADING, eta=0.0, message=f"downloading {', '.join(wanted)}")
    paths: dict[str, Path] = {}
    try:
        for variant in wanted:
            paths.update(await _fetch_one(runner, job, client, variant, out, required))
        paths.update(await _make_missing_previews(job, wanted, paths, out))
    except ContentFailedError as exc:  # "completed" upstream, yet no content: the job failed
        mark_failed(runner, ledger, job, exc, code=exc.code, server_message=exc.message)
        if raise_errors:
            raise
        return paths
    except NotFoundError as exc:
        video = job.video
        expired = exc.code == "video_expired" or (
            video is not None and video.expires_at is not None and video.expires_at <= time.time()
        )
        if expired:
            runner.write(
                ledger, "update", video_id, status="expired", note="content expired before download"
            )
            job._changed(
                status=JobStatus.EXPIRED,
                error=exc,
                message="the video's content expired before it was downloaded",
            )
        else:  # the ledger keeps it as it was, so resume() tries again
            runner.write(ledger, "update", video_id, note=f"download failed: {exc.message}")
            job._changed(
                status=JobStatus.ERROR,
                error=exc,
                message=f"download failed ({exc.message}); resume() or %sora download tries again",
            )
        if raise_errors:
            raise
        return paths
    except (APIConnectionError, APIError) as exc:
        runner.write(ledger, "update", video_id, note=f"download failed: {type(exc).__name__}")
        job._changed(
            status=JobStatus.ERROR if previous != JobStatus.DELETED else previous,
            error=exc,
            message=f"download failed ({exc}); resume() or %sora download tries again",
        )
        if raise_errors:
            raise
        return paths
    columns = {_PATH_COLUMNS[variant]: str(path) for variant, path in paths.items()}
    final = JobStatus.DELETED if previous == JobStatus.DELETED else JobStatus.COMPLETED
    if "video" in paths or (job.paths.get("video") is not None):
        runner.write(ledger, "update", video_id, status=final.value, progress=100, **columns)
        status = final
    else:
        runner.write(ledger, "update", video_id, **columns)
        status = previous
    job._changed(
        status=status,
        paths={**job.paths, **paths},
        progress=100 if status == final else job.progress,
        error=None,
        message="",
    )
    learn_from_client(runner, job.settings, client)
    await runner.flushed()
    return paths


def mark_failed(
    runner: Runner,
    ledger: Ledger,
    job: Job,
    error: Exception,
    *,
    code: str | None,
    server_message: str | None,
    **columns: object,
) -> None:
    """Record in the ledger, and tell the job's listeners, that the provider's job failed."""
    assert job.id is not None
    runner.write(
        ledger,
        "update",
        job.id,
        status=JobStatus.FAILED.value,
        error_code=code,
        error_message=server_message,
        **columns,
    )
    job._changed(status=JobStatus.FAILED, error=error, message=str(error))


async def _fetch_one(
    runner: Runner,
    job: Job,
    client: AsyncSoraClient,
    variant: str,
    out: Path,
    required: set[str],
) -> dict[str, Path]:
    """One variant from the provider; {} where it has none (a preview is then made locally)."""
    assert job.id is not None
    if variant != "video" and known(job.settings, "variants") is False:
        return {}
    try:
        path = await client.download(job.id, out / safe_filename(job.id, variant), variant=variant)
    except UnsupportedError as exc:  # e.g. a gateway that answers every variant with the MP4
        learn(runner, job.settings, exc)
        if variant == "video":
            raise
        return {}
    except NotFoundError:
        if variant == "video" and variant in required:
            raise
        return {}
    return {variant: path}


async def _make_missing_previews(
    job: Job, wanted: tuple[str, ...], paths: dict[str, Path], out: Path
) -> dict[str, Path]:
    """Thumbnail and spritesheet made from the MP4 where the provider served none, so the poster
    and the scrubbing strip look the same on every provider."""
    assert job.id is not None
    missing = [v for v in ("thumbnail", "spritesheet") if v in wanted and v not in paths]
    video = paths.get("video") or job.paths.get("video")
    if not missing or video is None or not video.exists():
        return {}
    from ..media import make_previews

    targets = {v: out / safe_filename(job.id, v) for v in missing}
    try:
        return await asyncio.to_thread(
            make_previews, video, targets.get("thumbnail"), targets.get("spritesheet")
        )
    except ReferenceImageError as exc:  # a video PyAV cannot read: the job is fine without them
        logger.warning("job %s: no previews made: %s", job.id, exc)
        return {}
