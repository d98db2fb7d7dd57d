"""Jobs: follow every generation to the end with few requests, and never lose one.

`Runner` (one per process) runs an asyncio loop in a daemon thread and owns one `AsyncSoraClient`
per provider. `generate` hands it a job and returns a `Job` handle at once; the Runner records the
create in the ledger before sending, waits for a free slot under the provider's running-job limit,
re-queues after a 429, polls with `PollTracker`, streams the video, thumbnail and spritesheet into
the output folder, and keeps the ledger current. `resume` picks up whatever a dead kernel left.
Listeners registered with `Job.on_change` run on the Runner thread.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSoraClient,
    NotFoundError,
    PollPolicy,
    PollTracker,
    RateLimitError,
    RetryPolicy,
    SoraError,
    ValidationError,
    Video,
    VideoFailedError,
    VideoStatus,
)
from .api._client import safe_filename
from .api._flows import failure_hint
from .api._references import FileReference, PreparedReference, normalize_reference
from .config import Settings, resolve_settings
from .ledger import Ledger, LedgerRow

__all__ = ["GenerationRequest", "Job", "JobStatus", "Runner", "generate", "resume"]

Listener = Callable[["Job"], None]

logger = logging.getLogger("sora_widgets.jobs")

VARIANT_FILES = ("video", "thumbnail", "spritesheet")


class JobStatus:
    """The statuses a Job passes through (server statuses plus the kit's own)."""

    WAITING = "waiting"
    """Held locally until the provider has a free slot."""
    SUBMITTING = "submitting"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    DOWNLOADING = "downloading"
    COMPLETED = "completed"
    FAILED = "failed"
    """The server said the job failed (see ``Job.error``)."""
    ERROR = "error"
    """The kit could not create or follow the job (see ``Job.error``)."""
    STUCK = "stuck"
    """Past the polling deadline; still resumable."""
    EXPIRED = "expired"
    """Completed, but its content expired before it was downloaded."""

    FINAL = frozenset({COMPLETED, FAILED, ERROR, STUCK, EXPIRED})


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

    def reference_sha256(self) -> str | None:
        if self.input_reference is None:
            return None
        try:
            ref = normalize_reference(self.input_reference)
        except ValidationError:
            return None
        if isinstance(ref, FileReference):
            return hashlib.sha256(ref.data).hexdigest()
        return hashlib.sha256((ref.url or ref.file_id or "").encode()).hexdigest()


class Job:
    """A handle on one generation. Its fields change as the Runner follows it."""

    def __init__(self, request: GenerationRequest, settings: Settings) -> None:
        self.request = request
        self.settings = settings
        self.id: str | None = None
        self.status: str = JobStatus.SUBMITTING
        self.progress: int = 0
        self.eta: float | None = None
        """Estimated seconds until completion, when the trend allows a guess."""
        self.video: Video | None = None
        self.paths: dict[str, Path] = {}
        self.error: BaseException | None = None
        self.message: str = ""
        """A short human sentence on the current state (``waiting for a free slot`` …)."""
        profile = settings.profile
        self.model = request.model or profile.default_model
        self.size = request.size or profile.default_size
        self.seconds = str(request.seconds or profile.default_seconds)
        self.cost: float | None = profile.estimate_cost(self.model, self.size, self.seconds)
        self.created = time.time()
        self._listeners: list[Listener] = []
        self._future: concurrent.futures.Future[Job] = concurrent.futures.Future()
        self._lock = threading.Lock()

    # -- observing -----------------------------------------------------------------------------

    def on_change(self, callback: Listener) -> Listener:
        """Call ``callback(job)`` on every change (on the Runner thread); returns it."""
        with self._lock:
            self._listeners.append(callback)
        return callback

    def _changed(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(self)
            except Exception:  # a broken display must not stop the job
                logger.exception("a listener of job %s failed", self.id)

    @property
    def done(self) -> bool:
        return self.status in JobStatus.FINAL

    def _finish(self) -> None:
        if not self._future.done():
            self._future.set_result(self)

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job ends; raises its error (e.g. `VideoFailedError`) if it did not
        complete. ``timeout`` in seconds stops the waiting (`TimeoutError`), never the job."""
        try:
            self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"job {self.id or '(not yet created)'} is still {self.status} after waiting "
                f"{timeout} s; it keeps going: call job.wait() again"
            ) from None
        if self.error is not None:
            raise self.error
        return self

    def __await__(self) -> Generator[Any, None, Job]:
        yield from asyncio.wrap_future(self._future).__await__()
        if self.error is not None:
            raise self.error
        return self

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}", f"status={self.status!r}"]
        if self.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS):
            parts.append(f"progress={self.progress}")
        return f"Job({', '.join(parts)}, model={self.model!r}, size={self.size!r})"


class _Slots:
    """A running-job limit for one provider, on the Runner's loop."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self._changed = asyncio.Condition()

    async def acquire(self, on_wait: Callable[[int], None]) -> None:
        async with self._changed:
            if self.limit is not None and self.running >= self.limit:
                self.waiting += 1
                on_wait(self.running)
                try:
                    await self._changed.wait_for(lambda: self.running < (self.limit or 0))
                finally:
                    self.waiting -= 1
            self.running += 1

    async def take(self) -> None:
        """Count a job that is already running on the server (resumed), even past the limit."""
        async with self._changed:
            self.running += 1

    async def release(self) -> None:
        async with self._changed:
            self.running = max(0, self.running - 1)
            self._changed.notify_all()


class Runner:
    """One asyncio loop in a daemon thread; clients, slots and ledgers are made on first use."""

    _instance: Runner | None = None
    _instance_lock = threading.Lock()

    def __init__(
        self, *, poll_policy: PollPolicy | None = None, retry_policy: RetryPolicy | None = None
    ) -> None:
        self.poll_policy = poll_policy or PollPolicy()
        self.retry_policy = retry_policy or RetryPolicy(max_retries=4)
        # a 429 on create is the provider's running-job limit: the Runner re-queues the job itself
        # (and says so) rather than letting the client retry it blindly
        self._create_policy = dataclasses.replace(
            self.retry_policy, retry_statuses=self.retry_policy.retry_statuses - {429}
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sora-runner", daemon=True
        )
        self._thread.start()
        self._clients: dict[tuple[str, str | None, str, float | None], AsyncSoraClient] = {}
        self._slots: dict[str, _Slots] = {}
        self._ledgers: dict[Path, Ledger] = {}
        self._following: set[str] = set()
        self._durations: dict[tuple[str, str, str, str], list[float]] = {}
        self.jobs: list[Job] = []
        """Every Job this Runner has handled, oldest first."""

    @classmethod
    def get(cls) -> Runner:
        """The process's Runner, started on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = Runner()
                atexit.register(cls.shutdown)
            return cls._instance

    @classmethod
    def shutdown(cls) -> None:
        """Stop the loop; unfinished jobs stay in the ledger for `resume`."""
        with cls._instance_lock:
            runner, cls._instance = cls._instance, None
        if runner is not None:
            runner.stop()

    def stop(self) -> None:
        async def close() -> None:
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()
            for client in self._clients.values():
                await client.close()

        if self._loop.is_running():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        for ledger in self._ledgers.values():
            ledger.close()

    def run(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Schedule a coroutine on the Runner's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # -- shared resources (Runner thread only) -----------------------------------------------

    def client(self, settings: Settings) -> AsyncSoraClient:
        key = settings.client_key()
        client = self._clients.get(key)
        if client is None:
            client = AsyncSoraClient(
                api_key=settings.api_key,
                base_url=settings.base_url,
                profile=settings.profile,
                timeout=settings.timeout,
                retry_policy=self.retry_policy,
                poll_policy=self.poll_policy,
            )
            self._clients[key] = client
        return client

    def ledger(self, settings: Settings) -> Ledger:
        ledger = self._ledgers.get(settings.ledger_path)
        if ledger is None:
            ledger = Ledger(settings.ledger_path)
            self._ledgers[settings.ledger_path] = ledger
        return ledger

    def slots(self, settings: Settings) -> _Slots:
        slots = self._slots.get(settings.provider)
        if slots is None:
            slots = _Slots(settings.running_limit)
            self._slots[settings.provider] = slots
        return slots

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, job: Job) -> Job:
        self.jobs.append(job)
        self.run(self._create_and_follow(job))
        return job

    def follow(self, job: Job) -> Job:
        """Follow a job that already exists on the server (``job.id`` set)."""
        self.jobs.append(job)
        self.run(self._resume(job))
        return job

    async def _create_and_follow(self, job: Job) -> None:
        settings = job.settings
        slots = self.slots(settings)
        ledger = self.ledger(settings)
        client = self.client(settings)
        request = job.request

        def waiting(running: int) -> None:
            job._changed(
                status=JobStatus.WAITING,
                message=f"waiting for a free slot ({running} running on this provider, "
                f"limit {slots.limit})",
            )

        try:
            await slots.acquire(waiting)
        except asyncio.CancelledError:
            raise
        released = False
        placeholder: str | None = None
        try:
            placeholder = ledger.record_pending(
                provider=settings.base_url,
                profile=settings.profile.name,
                model=job.model,
                size=job.size,
                seconds=job.seconds,
                prompt=request.prompt,
                reference_sha256=request.reference_sha256(),
                cost=job.cost,
                remixed_from=request.remix_of,
            )
            video = await self._create(job, client)
            ledger.record(placeholder, video.to_dict())
            placeholder = None
            job._changed(
                id=video.id,
                video=video,
                status=video.status.value,
                progress=video.progress,
                message="",
            )
            released = await self._follow(job, client, ledger, slots)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if placeholder is not None:
                if isinstance(exc, (APIError, ValidationError)):
                    ledger.forget(placeholder)  # refused: no job exists, nothing billed
                else:
                    ledger.update(placeholder, note=f"create unconfirmed: {type(exc).__name__}")
            job._changed(status=JobStatus.ERROR, error=exc, message=str(exc))
        finally:
            if not released:
                await slots.release()
            job._finish()

    async def _create(self, job: Job, client: AsyncSoraClient) -> Video:
        """Create, re-queueing after 429s (Retry-After or backoff) rather than failing."""
        request = job.request
        delay = 2.0
        while True:
            job._changed(status=JobStatus.SUBMITTING, message="submitting")
            try:
                if request.remix_of:
                    return await client.remix(request.remix_of, prompt=request.prompt)
                return await client.create(
                    prompt=request.prompt,
                    model=job.model,
                    size=job.size,
                    seconds=job.seconds,
                    input_reference=request.input_reference,
                    extra_body=request.extra or None,
                    retry_policy=self._create_policy,
                )
            except RateLimitError as exc:
                wait = exc.retry_after if exc.retry_after is not None else delay
                delay = min(delay * 2, 60.0)
                job._changed(
                    status=JobStatus.WAITING,
                    message=f"the provider is busy ({exc.message}); trying again in {wait:.0f} s",
                )
                await asyncio.sleep(wait)

    async def _follow(
        self, job: Job, client: AsyncSoraClient, ledger: Ledger, slots: _Slots
    ) -> bool:
        """Poll to the end, download, keep the ledger current. True if the slot was released."""
        assert job.id is not None
        video_id = job.id
        if video_id in self._following:
            return False
        self._following.add(video_id)
        try:
            return await self._poll_and_fetch(job, client, ledger, slots)
        finally:
            self._following.discard(video_id)

    async def _poll_and_fetch(
        self, job: Job, client: AsyncSoraClient, ledger: Ledger, slots: _Slots
    ) -> bool:
        assert job.id is not None
        video_id = job.id
        clock = time.monotonic
        kind = (job.settings.provider, job.model, job.size, job.seconds)
        tracker = PollTracker(
            policy=self.poll_policy, started=clock(), expected=self._typical_duration(kind)
        )
        video = job.video
        # a fresh job waits the policy's first delay; a resumed one is asked about at once
        delay = tracker.next_delay(clock()) if video is not None else 0.0
        while video is None or not video.is_terminal:
            await asyncio.sleep(delay)
            video, hint = await self._retrieve(client, video_id)
            now = clock()
            tracker.observe(now, video.progress, hint)
            # "completed" is the kit's word for "on disk": until then the job is downloading
            status = (
                JobStatus.DOWNLOADING
                if video.status is VideoStatus.COMPLETED
                else video.status.value
            )
            ledger.update(video_id, status=status, progress=video.progress)
            job._changed(
                video=video,
                status=status,
                progress=video.progress,
                eta=tracker.eta(now),
                message="",
            )
            if not video.is_terminal and tracker.expired(now):
                ledger.update(video_id, note="stuck")
                job._changed(
                    status=JobStatus.STUCK,
                    error=APITimeoutError(
                        f"video {video_id} is still {video.status.value} at {video.progress}% "
                        f"after {self.poll_policy.deadline:.0f} s; it keeps running on the "
                        "server: sora_widgets.resume() picks it up later"
                    ),
                )
                return False
            delay = tracker.next_delay(now)
        if (
            tracker.started is not None
            and job.video is not None
            and video.status is VideoStatus.COMPLETED
        ):
            self._durations.setdefault(kind, []).append(clock() - tracker.started)
        if video.status is VideoStatus.FAILED:
            error = VideoFailedError(video, hint=failure_hint(video))
            ledger.update(
                video_id,
                status="failed",
                error_code=error.code,
                error_message=error.server_message,
                completed_at=video.completed_at,
            )
            job._changed(status=JobStatus.FAILED, error=error, message=str(error))
            return False
        await slots.release()
        ledger.update(video_id, completed_at=video.completed_at, expires_at=video.expires_at)
        await self._download(job, client, ledger, video)
        return True

    def _typical_duration(self, kind: tuple[str, str, str, str]) -> float | None:
        """The median duration of the last jobs of this kind that this Runner saw complete."""
        seen = self._durations.get(kind)
        if not seen:
            return None
        recent = sorted(seen[-9:])
        return recent[len(recent) // 2]

    async def _retrieve(self, client: AsyncSoraClient, video_id: str) -> tuple[Video, str | None]:
        hint: list[str | None] = [None]
        video = await client._run(_retrieve_with_hint(client, video_id, hint))
        return video, hint[0]

    async def _download(
        self, job: Job, client: AsyncSoraClient, ledger: Ledger, video: Video
    ) -> None:
        assert job.id is not None
        out = Path(job.settings.output_dir)
        job._changed(
            status=JobStatus.DOWNLOADING, video=video, progress=100, eta=0.0, message="downloading"
        )
        paths: dict[str, Path] = {}
        try:
            for variant in VARIANT_FILES:
                try:
                    paths[variant] = await client.download(
                        job.id, out / safe_filename(job.id, variant), variant=variant
                    )
                except NotFoundError:
                    if variant == "video":
                        raise
        except NotFoundError as exc:
            expired = exc.code == "video_expired" or (
                video.expires_at is not None and video.expires_at <= time.time()
            )
            if expired:
                ledger.update(job.id, status="expired", note="content expired before download")
                job._changed(
                    status=JobStatus.EXPIRED,
                    error=exc,
                    message="the video's content expired before it was downloaded",
                )
            else:  # the ledger keeps it as downloading, so resume() tries again
                ledger.update(job.id, note=f"download failed: {exc.message}")
                job._changed(
                    status=JobStatus.ERROR,
                    error=exc,
                    message=f"download failed ({exc.message}); resume() or %sora download tries again",
                )
            return
        except (APIConnectionError, APIError) as exc:
            ledger.update(job.id, note=f"download failed: {type(exc).__name__}")
            job._changed(
                status=JobStatus.ERROR,
                error=exc,
                message=f"download failed ({exc}); resume() or %sora download tries again",
            )
            return
        ledger.update(
            job.id,
            status="completed",
            progress=100,
            video_path=str(paths.get("video")),
            thumbnail_path=str(paths["thumbnail"]) if "thumbnail" in paths else None,
            spritesheet_path=str(paths["spritesheet"]) if "spritesheet" in paths else None,
        )
        job._changed(status=JobStatus.COMPLETED, paths=paths, message="")

    # -- resuming ------------------------------------------------------------------------------

    async def _resume(self, job: Job) -> None:
        settings = job.settings
        slots, ledger, client = self.slots(settings), self.ledger(settings), self.client(settings)
        await slots.take()
        released = False
        try:
            released = await self._follow(job, client, ledger, slots)
        except asyncio.CancelledError:
            raise
        except NotFoundError as exc:
            assert job.id is not None
            ledger.update(job.id, status="lost", note="the provider no longer knows this id")
            job._changed(status=JobStatus.ERROR, error=exc, message=str(exc))
        except BaseException as exc:
            job._changed(status=JobStatus.ERROR, error=exc, message=str(exc))
        finally:
            if not released:
                await slots.release()
            job._finish()


def _retrieve_with_hint(
    client: AsyncSoraClient, video_id: str, hint: list[str | None]
) -> Generator[Any, Any, Video]:
    """Retrieve (retrying malformed answers), keeping ``openai-poll-after-ms`` for the tracker."""
    from .api._flows import parsed_flow
    from .api._requests import build_retrieve, parse_video

    def parse(spec: Any, response: Any) -> Video:
        video = parse_video(spec, response)
        hint[0] = response.headers.get("openai-poll-after-ms")
        return video

    return parsed_flow(build_retrieve(video_id), client.retry_policy, parse)


# -- the public functions --------------------------------------------------------------------------


def _prepare_reference(reference: Any, size: str, fit: str) -> Any:
    if reference is None or isinstance(reference, PreparedReference):
        return reference
    if isinstance(reference, (dict, tuple)) or (
        isinstance(reference, str) and reference.startswith(("data:",))
    ):
        return reference
    from .reference import prepare_reference

    return prepare_reference(reference, size, fit=fit)  # type: ignore[arg-type]


def check_budget(settings: Settings, ledger: Ledger, cost: float | None, count: int = 1) -> None:
    if settings.max_spend is None or cost is None:
        return
    spent = ledger.total_spent(provider=settings.base_url)
    in_flight = sum(
        j.cost or 0.0
        for j in Runner.get().jobs
        if not j.done and j.id is None and j.settings.provider == settings.provider
    )
    total = spent + in_flight + cost * count
    if total > settings.max_spend + 1e-9:
        what = "this job costs" if count == 1 else f"these {count} jobs cost"
        raise ValidationError(
            f"{what} about ${cost * count:.2f}; with ${spent + in_flight:.2f} already spent on "
            f"this provider that passes max_spend ${settings.max_spend:.2f} (raise max_spend, or "
            "choose a shorter or smaller video)",
            param="max_spend",
        )


def generate(
    prompt: str,
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    fit: str = "cover",
    extra: dict[str, Any] | None = None,
    remix_of: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    settings: Settings | None = None,
    on_change: Listener | None = None,
    **setting_overrides: Any,
) -> Job:
    """Submit one generation and return its `Job` at once (or when finished, with ``wait=True``).

    ``reference`` is any picture `prepare_reference` takes (fitted to ``size`` with ``fit``) or a
    URL. Settings come from ``settings`` or are resolved from ``setting_overrides`` (``base_url``,
    ``api_key``, ``profile``, ``output_dir``, ``max_spend``, ``max_running``, ``ledger_path``).
    Raises `ValidationError` before sending anything the provider would refuse or that would pass
    ``max_spend``.
    """
    settings = settings or resolve_settings(**setting_overrides)
    profile = settings.profile
    size = size or profile.default_size
    seconds_text = None if seconds is None else str(seconds)
    if remix_of is None:
        profile.check(prompt=prompt, model=model, size=size, seconds=seconds_text, extra=extra)
    request = GenerationRequest(
        prompt=prompt,
        model=model,
        size=size,
        seconds=seconds_text,
        input_reference=_prepare_reference(reference, size, fit),
        extra=dict(extra or {}),
        remix_of=remix_of,
    )
    runner = Runner.get()
    job = Job(request, settings)
    check_budget(settings, runner.run(_ledger_of(runner, settings)).result(), job.cost)
    if on_change is not None:
        job.on_change(on_change)
    runner.submit(job)
    if wait:
        job.wait(timeout)
    return job


def remix(source: Job | LedgerRow, prompt: str, *, settings: Settings | None = None) -> Job:
    """Submit a remix of ``source`` (a job, or its ledger row) with a new prompt.

    The remix keeps the source's model, size and length, as the API does.
    """
    if source.id is None:
        raise ValidationError(
            "this job has no video id yet, so it cannot be remixed; wait until it is submitted"
        )
    return generate(
        prompt,
        model=source.model,
        size=source.size,
        seconds=source.seconds,
        remix_of=source.id,
        settings=settings,
    )


async def _ledger_of(runner: Runner, settings: Settings) -> Ledger:
    return runner.ledger(settings)


def job_from_row(row: LedgerRow, settings: Settings) -> Job:
    """A Job handle for a ledger row (used by resume and the notebook layer)."""
    request = GenerationRequest(
        prompt=row.prompt or "",
        model=row.model,
        size=row.size,
        seconds=row.seconds,
        remix_of=row.remixed_from,
    )
    job = Job(request, settings)
    job.id = row.id
    job.status = row.status
    job.progress = row.progress
    job.cost = row.cost
    job.created = row.created_at
    paths = {
        "video": row.video_path,
        "thumbnail": row.thumbnail_path,
        "spritesheet": row.spritesheet_path,
    }
    job.paths = {k: Path(v) for k, v in paths.items() if v}
    return job


def resume(
    *, settings: Settings | None = None, wait: bool = False, **setting_overrides: Any
) -> list[Job]:
    """Pick up every unfinished job of the current provider from the ledger and follow it to the end.

    Creates that never answered (a kernel died mid-create) are matched against the provider's
    recent list; completed jobs whose content expired are marked ``expired``.
    """
    settings = settings or resolve_settings(**setting_overrides)
    runner = Runner.get()
    ledger: Ledger = runner.run(_ledger_of(runner, settings)).result()
    following = {j.id for j in runner.jobs if not j.done}
    jobs: list[Job] = []
    pending = [row for row in ledger.unfinished(provider=settings.base_url) if row.pending]
    if pending:
        runner.run(_adopt_pending(runner, settings, ledger, pending)).result()
    for row in ledger.unfinished(provider=settings.base_url):
        if row.pending or row.id in following:
            continue
        job = job_from_row(row, settings)
        if (
            row.expires_at is not None
            and row.expires_at <= time.time()
            and row.status == "completed"
        ):
            ledger.update(row.id, status="expired", note="content expired before download")
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
    recent = [v async for v in client.list(limit=100, order="desc")] if rows else []
    known = {row.id for row in ledger.recent(1000, provider=settings.base_url)}
    for row in rows:
        match = next(
            (
                v
                for v in recent
                if v.id not in known
                and (v.prompt is None or v.prompt == row.prompt)
                and (v.model is None or v.model == row.model)
                and (v.size is None or v.size == row.size)
                and (v.created_at is None or v.created_at >= row.created_at - 120)
            ),
            None,
        )
        if match is not None:
            ledger.record(row.id, match.to_dict())
            known.add(match.id)
        elif time.time() - row.created_at > 60:
            ledger.update(row.id, status="lost", note="the create never reached the provider")
