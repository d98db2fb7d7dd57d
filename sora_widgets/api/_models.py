"""The objects of the `/v1/videos` contract, parsed leniently.

Real responses omit null fields that the spec marks required, and gateways add fields of their own:
every parser here tolerates both, and keeps unknown fields in ``extra``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "Character",
    "DeletedVideo",
    "Video",
    "VideoError",
    "VideoList",
    "VideoStatus",
]


class VideoStatus(enum.StrEnum):
    """Where a job stands.

    Gateways speak other words (``processing``, ``pending``, ``running``, ``IN_QUEUE``,
    ``SUCCEEDED``…): `parse` reads the common ones as the contract's four; anything else is
    ``UNKNOWN`` and the word itself is kept in `Video.status_text`.
    """

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True once the job can change no more (completed or failed)."""
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED)

    @classmethod
    def parse(cls, value: object) -> VideoStatus:
        """The status named by ``value`` (any case, gateway words included); else ``UNKNOWN``.

        Never an error: an unfamiliar word is ``UNKNOWN``, shown to the user as itself.
        """
        if value is None:
            return cls.UNKNOWN
        word = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(word)
        except ValueError:
            return _STATUS_WORDS.get(word, cls.UNKNOWN)

    def __str__(self) -> str:
        return self.value


_STATUS_WORDS: Mapping[str, VideoStatus] = MappingProxyType(
    {
        **dict.fromkeys(
            ("pending", "in_queue", "queueing", "queue", "waiting", "submitted", "throttled"),
            VideoStatus.QUEUED,
        ),
        **dict.fromkeys(
            (
                "processing",
                "running",
                "generating",
                "preparing",
                "starting",
                "started",
                "rendering",
                "active",
                "inprogress",
            ),
            VideoStatus.IN_PROGRESS,
        ),
        **dict.fromkeys(
            ("succeeded", "success", "successful", "complete", "done", "finished"),
            VideoStatus.COMPLETED,
        ),
        **dict.fromkeys(
            ("fail", "failure", "error", "errored", "cancelled", "canceled", "rejected"),
            VideoStatus.FAILED,
        ),
    }
)
"""Gateway and provider status words (lower case) and the contract status each means."""


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def _frozen(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True)
class VideoError:
    """Why a job failed: the server's ``code`` (e.g. ``moderation_blocked``) and ``message``."""

    code: str
    message: str

    @classmethod
    def from_dict(cls, data: object) -> VideoError | None:
        """Parse the ``error`` field: None stays None, a bare string becomes code ``unknown``."""
        if not isinstance(data, Mapping):
            return None if data is None else cls(code="unknown", message=str(data))
        return cls(code=str(data.get("code") or "unknown"), message=str(data.get("message") or ""))


_VIDEO_FIELDS = frozenset(
    {
        "id",
        "object",
        "model",
        "status",
        "progress",
        "created_at",
        "completed_at",
        "expires_at",
        "prompt",
        "size",
        "seconds",
        "remixed_from_video_id",
        "error",
    }
)


@dataclass(frozen=True)
class Video:
    """A video job as the server describes it. Immutable; compare snapshots to see change.

    Gateways send less than the spec: ``progress``, ``size``, ``seconds`` and ``created_at`` may
    be None, and ``status_text`` keeps the status word as sent (``processing``, ``RUNNING``…).
    """

    id: str
    """The server's id, e.g. ``video_`` + 48 hex characters, or a gateway's ~280-character one.
    Not safe as a file name as is: use `safe_filename`."""
    status: VideoStatus
    """queued, in_progress, completed or failed (``UNKNOWN`` for a word the kit does not know)."""
    progress: int | None = None
    """Approximate percentage, clamped to 0–100; None when the server did not say (show elapsed
    time then, never "0 %")."""
    model: str | None = None
    size: str | None = None
    """``WxH`` in pixels, e.g. ``1280x720``; None when a gateway leaves it out."""
    seconds: str | None = None
    """Length in seconds, as the string the API uses (for extensions, the stitched total)."""
    prompt: str | None = None
    created_at: int | None = None
    """Unix seconds."""
    completed_at: int | None = None
    expires_at: int | None = None
    """Unix seconds after which the content can no longer be downloaded."""
    remixed_from_video_id: str | None = None
    error: VideoError | None = None
    object: str = "video"
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Fields this version of the contract does not know, kept as sent."""
    status_text: str = ""
    """The status word exactly as the server sent it (``""`` if it sent none): show this to a
    user when ``status`` is ``UNKNOWN``."""
    gateway_cost: float | None = None
    """The cost in US dollars the gateway reported for the request that returned this state
    (LiteLLM's ``x-litellm-response-cost`` header), or None when it reported none."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, gateway_cost: float | None = None) -> Video:
        """Parse a Video, tolerating omitted or null fields and keeping unknown ones.

        ``gateway_cost`` is the cost a gateway reported beside the body (see `parse_video`).
        """
        progress = _opt_int(data.get("progress"))
        raw_status = data.get("status")
        return cls(
            id=str(data.get("id") or ""),
            object=str(data.get("object") or "video"),
            status=VideoStatus.parse(raw_status),
            status_text="" if raw_status is None else str(raw_status),
            progress=None if progress is None else max(0, min(100, progress)),
            model=_opt_str(data.get("model")),
            size=_opt_str(data.get("size")),
            seconds=_opt_str(data.get("seconds")),
            prompt=_opt_str(data.get("prompt")),
            created_at=_opt_int(data.get("created_at")),
            completed_at=_opt_int(data.get("completed_at")),
            expires_at=_opt_int(data.get("expires_at")),
            remixed_from_video_id=_opt_str(data.get("remixed_from_video_id")),
            error=VideoError.from_dict(data.get("error")),
            extra=_frozen({k: v for k, v in data.items() if k not in _VIDEO_FIELDS}),
            gateway_cost=gateway_cost,
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, with every field of the spec present (nulls included) and extras kept.

        ``status`` is the contract's word when the kit knows the server's, else the server's own.
        """
        out: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "model": self.model,
            "status": self.status_label,
            "progress": self.progress,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "expires_at": self.expires_at,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "remixed_from_video_id": self.remixed_from_video_id,
            "error": None
            if self.error is None
            else {"code": self.error.code, "message": self.error.message},
        }
        out.update(self.extra)
        return out

    @property
    def is_terminal(self) -> bool:
        """True once the job can change no more (completed or failed)."""
        return self.status.is_terminal

    @property
    def status_label(self) -> str:
        """The status to show a user: the contract's word, or the server's own for ``UNKNOWN``."""
        if self.status is VideoStatus.UNKNOWN and self.status_text:
            return self.status_text
        return self.status.value

    @property
    def width_height(self) -> tuple[int, int] | None:
        """``(width, height)`` parsed from ``size``, or None."""
        if not self.size or "x" not in self.size:
            return None
        w, _, h = self.size.partition("x")
        try:
            return int(w), int(h)
        except ValueError:
            return None

    def __repr__(self) -> str:
        return (
            f"Video(id={self.id!r}, status={self.status_label!r}, progress={self.progress}, "
            f"model={self.model!r}, size={self.size!r}, seconds={self.seconds!r})"
        )


@dataclass(frozen=True)
class DeletedVideo:
    """The answer to a delete."""

    id: str
    deleted: bool = True
    object: str = "video.deleted"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeletedVideo:
        """Parse a delete's answer; a missing ``deleted`` counts as True."""
        return cls(
            id=str(data.get("id") or ""),
            deleted=bool(data.get("deleted", True)),
            object=str(data.get("object") or "video.deleted"),
        )


@dataclass(frozen=True)
class VideoList:
    """One page of a list."""

    data: tuple[Video, ...]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoList:
        """Parse a page; items that are not objects are skipped, missing ids come from the data."""
        items = data.get("data") or []
        videos = tuple(Video.from_dict(v) for v in items if isinstance(v, Mapping))
        last_id = _opt_str(data.get("last_id")) or (videos[-1].id if videos else None)
        first_id = _opt_str(data.get("first_id")) or (videos[0].id if videos else None)
        return cls(
            data=videos,
            has_more=bool(data.get("has_more", False)),
            first_id=first_id,
            last_id=last_id,
        )


@dataclass(frozen=True)
class Character:
    """A character made from a video (``/videos/characters``)."""

    id: str | None
    name: str | None
    created_at: int | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Character:
        """Parse a character, keeping unknown fields in ``extra``."""
        known = {"id", "name", "created_at"}
        return cls(
            id=_opt_str(data.get("id")),
            name=_opt_str(data.get("name")),
            created_at=_opt_int(data.get("created_at")),
            extra=_frozen({k: v for k, v in data.items() if k not in known}),
        )
