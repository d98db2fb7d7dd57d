"""One status vocabulary for jobs, the ledger, the magic and the panel.

Built on the API's `VideoStatus` (queued, in_progress, completed, failed), plus the kit's own words
for what happens around the server's job: waiting for a slot, submitting, downloading, and the
local endings (error, stuck, expired, lost, deleted).
"""

from __future__ import annotations

import enum

from .api import VideoStatus

__all__ = ["JobStatus"]


class JobStatus(enum.StrEnum):
    """Where a job stands, as the kit tells it (a `str`, so it compares with plain words)."""

    WAITING = "waiting"
    """Held locally until the provider has a free slot (or after a 429)."""
    SUBMITTING = "submitting"
    """The create is being sent."""
    QUEUED = VideoStatus.QUEUED.value
    IN_PROGRESS = VideoStatus.IN_PROGRESS.value
    DOWNLOADING = "downloading"
    """The server finished; the files are being saved."""
    COMPLETED = VideoStatus.COMPLETED.value
    """Finished and on disk."""
    FAILED = VideoStatus.FAILED.value
    """The server said the job failed (see ``Job.error``)."""
    ERROR = "error"
    """The kit could not create or follow the job (see ``Job.error``); resumable."""
    STUCK = "stuck"
    """Past the polling deadline; still resumable."""
    EXPIRED = "expired"
    """Completed, but its content expired before it was downloaded."""
    LOST = "lost"
    """The provider does not know the id (or the create never reached it)."""
    DELETED = "deleted"
    """Deleted on the provider (local files are kept)."""

    @property
    def final(self) -> bool:
        """True when nothing more will ever happen to the job."""
        return self in _FINAL

    @property
    def stopped(self) -> bool:
        """True when a handle no longer follows the job: final, or error / stuck (resumable)."""
        return self in _FINAL or self in (JobStatus.ERROR, JobStatus.STUCK)

    @property
    def active(self) -> bool:
        """True while the job runs on the server (queued or in progress)."""
        return self in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)

    @classmethod
    def parse(cls, value: object) -> JobStatus:
        """The status for a word from a server or the ledger; an unknown word (a gateway's
        ``processing``) reads as in progress."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.IN_PROGRESS

    @classmethod
    def of_video(cls, status: VideoStatus) -> JobStatus:
        """The kit's word for a server status while following: a completed job is still
        downloading until its files are on disk."""
        if status is VideoStatus.COMPLETED:
            return cls.DOWNLOADING
        return cls.parse(status.value)

    def __str__(self) -> str:
        return self.value


_FINAL = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.EXPIRED,
        JobStatus.LOST,
        JobStatus.DELETED,
    }
)
