"""Saving a job's files: the video, its thumbnail and its spritesheet, into the output folder.

Written once for the Runner (when a job completes) and for the download action (a user's
``%sora download``, the panel's Download), so both treat missing variants and expiry alike.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import APIConnectionError, APIError, NotFoundError, safe_filename
from ..status import JobStatus

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ._job import Job
    from ._runner import Runner

__all__ = ["VARIANT_FILES", "fetch_files"]

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
            try:
                paths[variant] = await client.download(
                    video_id, out / safe_filename(video_id, variant), variant=variant
                )
            except NotFoundError:
                if variant in required:
                    raise
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
    await runner.flushed()
    return paths
