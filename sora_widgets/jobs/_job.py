"""`Job`: a handle on one generation, and the thread that tells its listeners.

Listeners never run on the Runner's loop: every change is queued to one dispatcher thread
("sora-listeners") that calls them in order. So a listener may do anything a user may do (start a
job, wait on a download) without blocking the loop that follows every job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api import FileReference, ValidationError, Video, normalize_reference
from ..status import JobStatus

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["GenerationRequest", "Job", "Listener"]

Listener = Callable[["Job"], None]

logger = logging.getLogger("sora_widgets.jobs")


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate; checked against the provider profile before anything is sent."""

    prompt: str
    model: str | None = None
    size: str | None = None
    seconds: str | None = None
    input_reference: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    remix_of: str | None = None
    """Remix this completed video instead of creating from scratch."""
    extend_of: str | None = None
    """Continue this completed video by ``seconds`` (``POST /videos/extensions``) instead."""
    board: str | None = None
    """The storyboard this job is a shot of (kept in the ledger, never sent)."""
    shot: int | None = None
    """Its shot number on that board, from 1."""
    reference_sha256: str | None = None
    """The reference's hash (kept when its bytes are released)."""
    validate: bool = True
    """False sends exactly what was asked, unchecked by the profile."""

    def __post_init__(self) -> None:
        if self.reference_sha256 is None and self.input_reference is not None:
            object.__setattr__(self, "reference_sha256", _reference_hash(self.input_reference))

    def without_reference_bytes(self) -> GenerationRequest:
        """This request with its reference released (its hash is kept)."""
        if self.input_reference is None:
            return self
        return replace(self, input_reference=None, reference_sha256=self.reference_sha256)


def _reference_hash(reference: Any) -> str | None:
    try:
        ref = normalize_reference(reference)
    except ValidationError:
        return None
    if isinstance(ref, FileReference):
        return hashlib.sha256(ref.data).hexdigest()
    return hashlib.sha256((ref.url or ref.file_id or "").encode()).hexdigest()


class _Dispatcher:
    """One daemon thread that runs listener calls in the order they were queued."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="sora-listeners", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def put(self, call: Callable[[], None]) -> None:
        self._queue.put(call)

    def _work(self) -> None:
        while True:
            call = self._queue.get()
            try:
                call()
            except Exception:  # pragma: no cover - calls catch their own errors
                logger.exception("a job listener call failed")


_dispatcher_lock = threading.Lock()
_dispatcher: _Dispatcher | None = None


def dispatcher() -> _Dispatcher:
    """The process's listener thread, started on first use."""
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None:
            _dispatcher = _Dispatcher()
        return _dispatcher


def on_listener_thread() -> bool:
    """True when the caller is a job listener (on the dispatcher thread)."""
    return _dispatcher is not None and threading.current_thread() is _dispatcher.thread


def listeners_idle(timeout: float | None = None) -> bool:
    """Block until every listener call queued so far has run; False on timeout (or when called
    from a listener, which cannot wait for itself)."""
    if on_listener_thread():
        return False
    done = threading.Event()
    dispatcher().put(done.set)
    return done.wait(timeout)


class Job:
    """A handle on one generation. Its fields change as the Runner follows it."""

    def __init__(self, request: GenerationRequest, settings: Settings) -> None:
        self.request = request
        self.settings = settings
        self.id: str | None = None
        self.status: JobStatus = JobStatus.SUBMITTING
        self.progress: int = 0
        self.eta: float | None = None
        """Estimated seconds until completion, when the trend allows a guess."""
        self.video: Video | None = None
        self.paths: dict[str, Path] = {}
        self.error: BaseException | None = None
        self.message: str = ""
        """A short human sentence on the current state (``waiting for a free slot`` …)."""
        profile = settings.profile
        self.model: str = request.model or profile.default_model
        default_size, default_seconds = profile.defaults_for(self.model)
        self.size: str = request.size or default_size
        self.seconds: str = str(request.seconds or default_seconds)
        self.cost: float | None = profile.estimate_cost(self.model, self.size, self.seconds)
        """Dollars: the kit's estimate, or the gateway's own figure once it sends one."""
        self.cost_source: str = "estimate"
        """``estimate`` (the kit's price table) or ``gateway`` (the gateway's reported cost)."""
        self.created = time.time()
        self._listeners: list[Listener] = []
        self._future: concurrent.futures.Future[Job] = concurrent.futures.Future()
        self._delivered = threading.Event()
        self._lock = threading.Lock()

    # -- observing -----------------------------------------------------------------------------

    def on_change(self, callback: Listener) -> Listener:
        """Call ``callback(job)`` after every change, on the listener thread; returns it.

        A listener may call anything a user may call (``generate``, a download, ``wait``)."""
        with self._lock:
            self._listeners.append(callback)
        return callback

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback`` (no error if it was not registered)."""
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def _changed(self, **values: Any) -> None:
        """Set fields and queue a call of every listener (from any thread)."""
        with self._lock:
            for name, value in values.items():
                if name == "status":
                    value = JobStatus.parse(value)
                setattr(self, name, value)
        dispatcher().put(self._tell)

    def _tell(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(self)
            except Exception:  # a broken display must not stop the job or other listeners
                logger.exception("a listener of job %s failed", self.id)

    @property
    def done(self) -> bool:
        """True once the Runner no longer follows the job (see `JobStatus.stopped`)."""
        return self.status.stopped

    def _rearm(self) -> None:
        """Make a finished handle followable again (a resumed job): new waiters wait anew."""
        with self._lock:
            if self._future.done():
                self._future = concurrent.futures.Future()
                self._delivered = threading.Event()
                self.error = None

    def _finish(self) -> None:
        """Mark the handle finished: waiters wake once its listeners have heard the last state."""
        self.request = self.request.without_reference_bytes()
        dispatcher().put(self._delivered.set)
        if not self._future.done():
            self._future.set_result(self)

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job ends; raises its error (e.g. `VideoFailedError`) if it did not
        complete. ``timeout`` in seconds stops the waiting (`TimeoutError`), never the job."""
        started = time.monotonic()
        try:
            self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"job {self.id or '(not yet created)'} is still {self.status} after waiting "
                f"{timeout} s; it keeps going: call job.wait() again"
            ) from None
        if not on_listener_thread():
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
            self._delivered.wait(left)
        if self.error is not None:
            raise self.error
        return self

    def __await__(self) -> Generator[Any, None, Job]:
        yield from asyncio.wrap_future(self._future).__await__()
        if self.error is not None:
            raise self.error
        return self

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}", f"status={self.status.value!r}"]
        if self.status.active:
            parts.append(f"progress={self.progress}")
        return f"Job({', '.join(parts)}, model={self.model!r}, size={self.size!r})"
