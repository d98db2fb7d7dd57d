"""Jobs, their life cycle on a clock, and the in-memory store.

A job's status is computed when it is read, from the clock: ``queued`` for its first few percent of
``duration``, then ``in_progress`` with uneven but monotonic progress (`progress_curve`), then
``completed`` once the duration has passed **and** its render has finished, or ``failed`` (a
moderation block or an injected failure, at a planned moment; or a render error). Nothing ticks in
the background. The store is thread-safe: render workers report back from other threads.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import random
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("sora_widgets.emulator")

__all__ = [
    "Character",
    "Job",
    "JobSnapshot",
    "JobStore",
    "gateway_video_id",
    "new_character_id",
    "new_video_id",
    "progress_curve",
]

MODERATION_MESSAGE = "Your request was blocked by our moderation system."
FAILURE_MESSAGE = "Video generation failed. Please try again."
GATEWAY_STATUS_WORDS = {"queued": "pending", "in_progress": "processing"}
"""The words a gateway uses for unfinished jobs (the ``status-words`` gateway behaviour)."""


def new_video_id() -> str:
    """``video_`` + 48 hex characters, like the real service."""
    return "video_" + secrets.token_hex(24)


def gateway_video_id(upstream_id: str, provider: str, model: str, deployment: str) -> str:
    """An id as LiteLLM's proxy hands it out: ``video_`` + base64 of provider, model, the upstream
    id and the deployment (266–290 characters for the emulator's models)."""
    inner = (
        f"litellm:custom_llm_provider:{provider};model_id:{model};video_id:{upstream_id}"
        f";deployment_id:{deployment}"
    )
    return "video_" + base64.b64encode(inner.encode()).decode()


def new_character_id() -> str:
    """``char_`` + 32 hex characters."""
    return "char_" + secrets.token_hex(16)


def progress_curve(fraction: float, seed: int) -> int:
    """Progress 0–99 at ``fraction`` (0–1) of the in-progress phase: uneven, never decreasing.

    The same seed always draws the same curve: a few segments of random length, each with its own
    gain (some nearly flat, some steep), like a real renderer's stalls and bursts.
    """
    fraction = min(1.0, max(0.0, fraction))
    if fraction >= 1.0:
        return 99
    rng = random.Random(seed)
    count = rng.randint(4, 7)
    cuts = sorted(rng.uniform(0.05, 0.95) for _ in range(count - 1))
    times = [0.0, *cuts, 1.0]
    gains = [rng.uniform(0.05, 1.0) ** 2 for _ in range(count)]
    total = sum(gains)
    levels = [0.0]
    for gain in gains:
        levels.append(levels[-1] + gain / total)
    for k in range(count):
        if fraction <= times[k + 1]:
            span = times[k + 1] - times[k]
            local = (fraction - times[k]) / span if span > 0 else 1.0
            value = levels[k] + (levels[k + 1] - levels[k]) * local
            return min(99, int(value * 99 + 1e-9))
    return 99


@dataclass(frozen=True)
class JobSnapshot:
    """What a job looks like at one moment."""

    status: str
    progress: int
    completed_at: float | None
    expires_at: float | None
    error: dict[str, str] | None

    @property
    def is_terminal(self) -> bool:
        """True once the job can change no more (completed or failed)."""
        return self.status in ("completed", "failed")


@dataclass
class Job:
    """One video job. Times are unix seconds on the store's clock."""

    id: str
    owner: str
    """A hash of the bearer key that created it (never the key)."""
    model: str
    size: str
    seconds: str
    prompt: str
    created_at: float
    duration: float
    content_ttl: float
    seq: int = 0
    remixed_from_video_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra fields echoed in the Video object (e.g. a relay's ``watermark``)."""
    fail_code: str | None = None
    """``moderation_blocked`` or ``video_generation_failed``: the job will fail."""
    expire_at_completion: bool = False
    render_key: str | None = None
    render_paths: dict[str, str] | None = None
    render_finished_at: float | None = None
    render_error: str | None = None
    deleted: bool = False
    render_spec: dict[str, Any] | None = None
    """What the clip is rendered from (`RenderSpec`'s fields, the reference as a file name in the
    state folder), kept so a restarted emulator can render it again."""

    @property
    def _seed(self) -> int:
        return int.from_bytes(hashlib.sha256(self.id.encode()).digest()[:8], "big")

    @property
    def queue_time(self) -> float:
        """Seconds spent ``queued`` (8–18 % of the duration, fixed per job)."""
        return self.duration * (0.08 + 0.10 * random.Random(self._seed).random())

    @property
    def fail_time(self) -> float | None:
        """Seconds after creation at which a failing job fails (fixed per job); None if it won't."""
        if self.fail_code is None:
            return None
        rng = random.Random(self._seed ^ 0xFA11)
        if self.fail_code == "moderation_blocked":
            return self.queue_time + self.duration * rng.uniform(0.05, 0.15)
        return self.duration * rng.uniform(0.4, 0.8)

    def render_done(self, paths: dict[str, str] | None, error: str | None, now: float) -> None:
        """Called by the renderer (from any thread) when the clip is ready or failed."""
        self.render_paths = paths
        self.render_error = error
        self.render_finished_at = now

    def snapshot(self, now: float) -> JobSnapshot:
        """The job's state at ``now``."""
        elapsed = now - self.created_at
        fail_time = self.fail_time
        if fail_time is not None and elapsed >= fail_time:
            progress = 0 if self.fail_code == "moderation_blocked" else self._progress(fail_time)
            message = (
                MODERATION_MESSAGE if self.fail_code == "moderation_blocked" else FAILURE_MESSAGE
            )
            return JobSnapshot(
                "failed",
                progress,
                self.created_at + fail_time,
                None,
                {"code": self.fail_code or "", "message": message},
            )
        if elapsed < self.queue_time:
            return JobSnapshot("queued", 0, None, None, None)
        done = self.created_at + self.duration
        if elapsed >= self.duration and self.render_finished_at is not None:
            finished = max(done, self.render_finished_at)
            if self.render_error is not None:
                return JobSnapshot(
                    "failed",
                    99,
                    finished,
                    None,
                    {"code": "internal_error", "message": f"Rendering failed: {self.render_error}"},
                )
            expires = finished if self.expire_at_completion else finished + self.content_ttl
            return JobSnapshot("completed", 100, finished, expires, None)
        return JobSnapshot(
            "in_progress", max(1, self._progress(min(elapsed, self.duration))), None, None, None
        )

    def _progress(self, elapsed: float) -> int:
        span = self.duration - self.queue_time
        fraction = (elapsed - self.queue_time) / span if span > 0 else 1.0
        return progress_curve(fraction, self._seed)

    def to_dict(
        self, now: float, *, omit_nulls: bool = False, status_words: bool = False
    ) -> dict[str, Any]:
        """The Video object at ``now``, with every field of the spec (nulls included by default).

        ``status_words``: speak like a gateway in front of another provider (``pending`` and
        ``processing`` for ``queued`` and ``in_progress``, and no progress at all).
        """
        snap = self.snapshot(now)
        status = GATEWAY_STATUS_WORDS.get(snap.status, snap.status) if status_words else snap.status
        out: dict[str, Any] = {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": None if status_words else snap.progress,
            "created_at": int(self.created_at),
            "completed_at": None if snap.completed_at is None else int(snap.completed_at),
            "expires_at": None if snap.expires_at is None else int(snap.expires_at),
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "remixed_from_video_id": self.remixed_from_video_id,
            "error": snap.error,
        }
        out.update(self.extra)
        if omit_nulls:
            out = {k: v for k, v in out.items() if v is not None}
        return out


@dataclass(frozen=True)
class Character:
    """A character made from a video."""

    id: str
    name: str
    created_at: int
    owner: str = ""
    """A hash of the bearer key that made it (never the key); ``""`` for no owner."""

    def to_dict(self) -> dict[str, Any]:
        """The character as the service sends it."""
        return {
            "id": self.id,
            "object": "character",
            "name": self.name,
            "created_at": self.created_at,
        }


class JobStore:
    """All jobs and characters of one emulator, in creation order. Thread-safe.

    With a ``path``, the jobs are kept in that JSON file (written atomically after every change)
    and read back by `load`, so a restarted emulator still knows them.
    """

    def __init__(self, clock: Callable[[], float], path: Path | None = None) -> None:
        self.clock = clock
        self.path = path
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._characters: dict[str, Character] = {}
        self._seq = 0

    def add(self, job: Job) -> Job:
        """Store ``job``, numbering it so jobs created in the same second keep their order."""
        with self._lock:
            self._seq += 1
            job.seq = self._seq
            self._jobs[job.id] = job
        self.save()
        return job

    def save(self) -> None:
        """Write every job to ``path`` (if any), atomically; a failure is logged, never raised."""
        if self.path is None:
            return
        with self._lock:
            data = [dataclasses.asdict(job) for job in self._jobs.values()]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                part = self.path.with_name(f"{self.path.name}.{threading.get_ident()}.part")
                part.write_text(json.dumps({"version": 1, "jobs": data}), encoding="utf-8")
                part.replace(self.path)
            except (OSError, TypeError, ValueError) as exc:
                logger.warning("could not keep the emulator's jobs in %s: %s", self.path, exc)

    def load(self) -> list[Job]:
        """Read the jobs kept in ``path`` (none when it is missing or unreadable); returns them."""
        if self.path is None:
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            jobs = [Job(**entry) for entry in raw.get("jobs", [])]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("could not read the emulator's jobs from %s: %s", self.path, exc)
            return []
        with self._lock:
            for job in jobs:
                self._jobs[job.id] = job
                self._seq = max(self._seq, job.seq)
        return jobs

    def get(self, video_id: str, owner: str | None = None) -> Job | None:
        """The job, or None if unknown, deleted, or (when ``owner`` is given) another key's."""
        with self._lock:
            job = self._jobs.get(video_id)
            if job is None or job.deleted or (owner is not None and job.owner != owner):
                return None
            return job

    def delete(self, video_id: str) -> None:
        """Mark the job deleted (it is then unknown to every route); an unknown id is ignored."""
        with self._lock:
            job = self._jobs.get(video_id)
            if job is not None:
                job.deleted = True
        self.save()

    def __iter__(self) -> Iterator[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if not j.deleted]
        return iter(jobs)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def running(self, owner: str, now: float) -> list[Job]:
        """The owner's jobs that are not finished at ``now``."""
        return [j for j in self if j.owner == owner and not j.snapshot(now).is_terminal]

    def page(
        self, *, order: str, after: str | None, limit: int, owner: str | None = None
    ) -> tuple[list[Job], bool]:
        """One page of jobs (``desc``: newest first) after the job ``after``, and ``has_more``.

        With ``owner``, only that key's jobs are listed (and ``after`` must be one of them).
        """
        mine = (j for j in self if owner is None or j.owner == owner)
        jobs = sorted(mine, key=lambda j: (j.created_at, j.seq), reverse=order == "desc")
        if after is not None:
            ids = [j.id for j in jobs]
            if after not in ids:
                return [], False
            jobs = jobs[ids.index(after) + 1 :]
        return jobs[:limit], len(jobs) > limit

    def add_character(self, character: Character) -> None:
        """Store a character under its id."""
        with self._lock:
            self._characters[character.id] = character

    def character(self, character_id: str, owner: str | None = None) -> Character | None:
        """The character, or None if unknown or (when ``owner`` is given) another key's."""
        with self._lock:
            character = self._characters.get(character_id)
            if character is None or (owner is not None and character.owner != owner):
                return None
            return character
