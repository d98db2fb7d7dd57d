"""`Runner`: one asyncio loop in a daemon thread that creates, follows and fetches every job.

It owns one `AsyncSoraClient` (one connection pool) per provider and key, a running-job limit per
provider, and one ledger writer thread: SQLite never runs on the loop, and a write that waits for a
locked ledger holds up no job's polling. Finished jobs leave `Runner.active`; a job is still found
by id while anything (a card, a variable) holds its handle.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ..api import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSoraClient,
    GatewayPrice,
    NotFoundError,
    PollPolicy,
    PollTracker,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SoraError,
    ValidationError,
    Video,
    VideoFailedError,
    VideoStatus,
    failure_hint,
)
from ..config import Settings
from ..ledger import Ledger
from ..status import JobStatus
from ._capabilities import preload
from ._files import fetch_files, mark_failed
from ._job import Job

__all__ = ["Clock", "Runner"]

T = TypeVar("T")

logger = logging.getLogger("sora_widgets.jobs")


@dataclass(frozen=True)
class Clock:
    """The Runner's sense of time: a monotonic reading and an awaitable sleep (fake in tests)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep


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


class _Slot:
    """One job's hold on its provider's slot, released once."""

    def __init__(self, slots: _Slots) -> None:
        self._slots = slots
        self.held = False

    async def take(self, on_wait: Callable[[int], None] | None = None) -> None:
        if on_wait is None:
            await self._slots.take()
        else:
            await self._slots.acquire(on_wait)
        self.held = True

    async def release(self) -> None:
        if self.held:
            self.held = False
            await self._slots.release()


class Runner:
    """One asyncio loop in a daemon thread; clients and slots are made on first use."""

    _instance: Runner | None = None
    _instance_lock = threading.Lock()
    _atexit_registered = False
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        poll_policy: PollPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.poll_policy = poll_policy or _policy_from_environment()
        self.retry_policy = retry_policy or RetryPolicy(max_retries=4)
        self.clock = clock or Clock()
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
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sora-ledger")
        self._clients: dict[tuple[str, str | None, str, float | None, bool], AsyncSoraClient] = {}
        self._slots: dict[str, _Slots] = {}
        self._following: set[str] = set()
        self._durations: dict[tuple[str, str, str, str], collections.deque[float]] = {}
        self._active: dict[int, Job] = {}
        self._prices: dict[str, dict[str, GatewayPrice]] = {}
        """A gateway's own price list, by provider (read once, after its first create)."""
        self._known: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    # -- the process's Runner ------------------------------------------------------------------

    @classmethod
    def get(cls) -> Runner:
        """The process's Runner, started on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = Runner(**cls._defaults)
                cls._register_atexit()
            return cls._instance

    @classmethod
    def configure(
        cls,
        *,
        poll_policy: PollPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock | None = None,
    ) -> Runner:
        """Replace the process's Runner with one using these policies and clock, also for the
        Runners `get` starts later (the old one is stopped; its unfinished jobs stay in the ledger
        for `resume`). The seam for tests; ``SORA_POLL_POLICY`` does the same for a kernel."""
        defaults: dict[str, Any] = {
            "poll_policy": poll_policy,
            "retry_policy": retry_policy,
            "clock": clock,
        }
        runner = Runner(**defaults)
        with cls._instance_lock:
            cls._defaults = defaults
            old, cls._instance = cls._instance, runner
            cls._register_atexit()
        if old is not None:
            old.stop()
        return runner

    @classmethod
    def _register_atexit(cls) -> None:
        if not cls._atexit_registered:
            atexit.register(cls.shutdown)
            cls._atexit_registered = True

    @classmethod
    def shutdown(cls) -> None:
        """Stop the process's Runner; unfinished jobs stay in the ledger for `resume`."""
        with cls._instance_lock:
            runner, cls._instance = cls._instance, None
        if runner is not None:
            runner.stop()

    def stop(self) -> None:
        """Cancel every task, close the clients, stop the loop and let the ledger writes finish."""

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
        self._writer.shutdown(wait=True)

    # -- running work --------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the Runner's loop; its Future can be waited on from any thread
        but the loop's own."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def write(
        self, ledger: Ledger, method: str, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Queue a ledger call (``ledger.<method>(*args, **kwargs)``) on the one writer thread.

        Writes run in the order queued; a failure is logged, never lost silently."""
        future = self._writer.submit(getattr(ledger, method), *args, **kwargs)
        future.add_done_callback(_log_write_failure)
        return future

    async def flushed(self) -> None:
        """Return once every ledger write queued so far has run (a job's last step, so that
        whoever waits on the job reads a current ledger)."""
        await asyncio.wrap_future(self._writer.submit(_nothing))

    async def written(self, ledger: Ledger, method: str, *args: Any, **kwargs: Any) -> Any:
        """`write`, awaited: for the writes a job must not get ahead of (the pending record)."""
        return await asyncio.wrap_future(self.write(ledger, method, *args, **kwargs))

    # -- jobs ----------------------------------------------------------------------------------

    @property
    def active(self) -> list[Job]:
        """The jobs this Runner is creating or following now, oldest first."""
        with self._lock:
            return list(self._active.values())

    jobs = active  # the name earlier releases used

    def known(self, video_id: str) -> Job | None:
        """The handle of a job with this id that this process still holds, if any."""
        with self._lock:
            return self._known.get(video_id)

    def remember(self, job: Job) -> None:
        """Let `known` find ``job`` by its id (for as long as anything holds the handle)."""
        if job.id is not None:
            with self._lock:
                self._known[job.id] = job

    def _track(self, job: Job) -> None:
        job._rearm()
        with self._lock:
            self._active[id(job)] = job
        self.remember(job)

    async def _end(self, job: Job) -> None:
        with contextlib.suppress(RuntimeError):  # the writer is shut down when the Runner stops
            await self.flushed()
        with self._lock:
            self._active.pop(id(job), None)
        self.remember(job)
        job._finish()

    # -- shared resources (Runner thread only) -------------------------------------------------

    def client(self, settings: Settings) -> AsyncSoraClient:
        """The connection pool for this provider and key (Runner thread only)."""
        key = settings.client_key()
        client = self._clients.get(key)
        if client is None:
            client = AsyncSoraClient(
                api_key=settings.api_key,
                base_url=settings.base_url,
                # a profile nobody chose gives way to the one the server names (litellm)
                profile=settings.profile if settings.profile_chosen else None,
                timeout=settings.timeout,
                retry_policy=self.retry_policy,
                poll_policy=self.poll_policy,
                sleep=self.clock.sleep,
            )
            self._clients[key] = client
        return client

    def _slots_of(self, settings: Settings) -> _Slots:
        slots = self._slots.get(settings.provider)
        if slots is None:
            slots = _Slots(settings.running_limit)
            self._slots[settings.provider] = slots
        return slots

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, job: Job) -> Job:
        """Create ``job`` on its provider and follow it to the end (returns at once)."""
        ledger = Ledger.shared(job.settings.ledger_path)  # opened here, never on the loop
        preload(job.settings)
        self._track(job)
        self.run(self._create_and_follow(job, ledger))
        return job

    def follow(self, job: Job) -> Job:
        """Follow a job that already exists on the server (``job.id`` set); returns at once."""
        ledger = Ledger.shared(job.settings.ledger_path)
        preload(job.settings)
        self._track(job)
        self.run(self._resume(job, ledger))
        return job

    async def _create_and_follow(self, job: Job, ledger: Ledger) -> None:
        settings = job.settings
        slot = _Slot(self._slots_of(settings))

        def waiting(running: int) -> None:
            job._changed(
                status=JobStatus.WAITING,
                message=(
                    f"waiting for a free slot ({running} running of {settings.running_limit} "
                    "allowed at once on this provider)"
                ),
            )

        placeholder: str | None = None
        try:
            await slot.take(waiting)
            placeholder = await self.written(
                ledger,
                "record_pending",
                provider=settings.provider,
                profile=settings.profile.name,
                model=job.model,
                size=job.size,
                seconds=job.seconds,
                prompt=job.request.prompt,
                reference_sha256=job.request.reference_sha256,
                cost=job.cost,
                remixed_from=job.request.remix_of,
                board_id=job.request.board,
                shot=job.request.shot,
            )
            video = await self._create(job)
            recorded = self.write(ledger, "record", placeholder, video.to_dict())
            placeholder = None
            # the id is told only once the ledger holds it: a kernel that dies a moment after
            # the create answered still leaves the job to resume (a failed write is logged)
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(recorded)
            job._changed(
                id=video.id,
                video=video,
                status=JobStatus.of_video(video.status),
                progress=video.progress or 0,
                message="",
            )
            self._take_gateway_cost(job, ledger, video)
            self.remember(job)
            self._read_prices_once(settings)
            await self._follow(job, ledger, slot)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if placeholder is not None:
                if isinstance(exc, (APIError, ValidationError)):
                    self.write(ledger, "forget", placeholder)  # refused: nothing was billed
                else:
                    self.write(
                        ledger,
                        "update",
                        placeholder,
                        note=f"create unconfirmed: {type(exc).__name__}",
                    )
            logger.warning("job %s: %s: %s", job.id or "(create)", type(exc).__name__, exc)
            job._changed(status=JobStatus.ERROR, error=exc, message=str(exc))
        finally:
            await slot.release()
            await self._end(job)

    async def _create(self, job: Job) -> Video:
        """Create, re-queueing after 429s (Retry-After, capped, or backoff) rather than failing."""
        client = self.client(job.settings)
        request = job.request
        cap = self.retry_policy.max_retry_after
        delay = 2.0
        while True:
            job._changed(status=JobStatus.SUBMITTING, message="submitting")
            try:
                if request.remix_of:
                    return await client.remix(request.remix_of, prompt=request.prompt)
                if request.extend_of:
                    return await client.extend(
                        prompt=request.prompt,
                        seconds=job.seconds,
                        video=request.extend_of,
                        extra_body=request.extra or None,
                    )
                return await client.create(
                    prompt=request.prompt,
                    model=job.model,
                    size=job.size,
                    seconds=job.seconds,
                    input_reference=request.input_reference,
                    extra_body=request.extra or None,
                    validate=request.validate,
                    retry_policy=self._create_policy,
                )
            except RateLimitError as exc:
                asked = exc.retry_after
                wait = delay if asked is None else min(asked, cap)
                delay = min(delay * 2, cap)
                capped = "" if asked is None or asked <= cap else f" (it asked for {asked:.0f} s)"
                job._changed(
                    status=JobStatus.WAITING,
                    message=f"the provider is busy ({exc.message}); trying again in "
                    f"{wait:.0f} s{capped}",
                )
                await self.clock.sleep(wait)

    async def _follow(self, job: Job, ledger: Ledger, slot: _Slot) -> None:
        """Poll to the end, download, keep the ledger current."""
        assert job.id is not None
        video_id = job.id
        if video_id in self._following:
            return
        self._following.add(video_id)
        try:
            await self._poll_and_fetch(job, ledger, slot)
        finally:
            self._following.discard(video_id)

    async def _poll_and_fetch(self, job: Job, ledger: Ledger, slot: _Slot) -> None:
        assert job.id is not None
        video_id = job.id
        client = self.client(job.settings)
        clock = self.clock.monotonic
        kind = (job.settings.provider, job.model, job.size, job.seconds)
        tracker = PollTracker(
            policy=self.poll_policy, started=clock(), expected=self._typical_duration(kind)
        )
        video = job.video
        fresh = video is not None
        # a fresh job waits the policy's first delay; a resumed one is asked about at once
        delay = tracker.next_delay(clock()) if video is not None else 0.0
        troubled = 0
        while video is None or not video.is_terminal:
            await self.clock.sleep(delay)
            try:
                video, hint = await client.retrieve_with_hint(video_id)
            except (RateLimitError, ServerError, APIConnectionError) as exc:
                # the job runs on whatever the provider's front door does: keep asking, slower
                troubled += 1
                if tracker.expired(clock()):
                    raise
                delay = min(2.0**troubled, self.poll_policy.max_interval)
                job._changed(
                    message=f"the provider did not answer ({exc}); asking again in {delay:.0f} s"
                )
                continue
            troubled = 0
            now = clock()
            # a gateway may send no progress at all: then there is no trend and no percentage
            progress = job.progress if video.progress is None else video.progress
            tracker.observe(now, progress, hint)
            status = JobStatus.of_video(video.status)
            self.write(ledger, "update", video_id, status=status.value, progress=progress)
            job._changed(
                video=video,
                status=status,
                progress=progress,
                eta=None if video.progress is None else tracker.display_eta(now),
                message=_unfamiliar(video),
            )
            self._take_gateway_cost(job, ledger, video)
            if not video.is_terminal and tracker.expired(now):
                self.write(ledger, "update", video_id, note="stuck")
                job._changed(
                    status=JobStatus.STUCK,
                    error=APITimeoutError(
                        f"video {video_id} is still {video.status.value} at {video.progress}% "
                        f"after {self.poll_policy.deadline:.0f} s; it keeps running on the "
                        "server: sora_widgets.resume() picks it up later"
                    ),
                )
                return
            delay = tracker.next_delay(now)
        if fresh and video.status is VideoStatus.COMPLETED:
            assert tracker.started is not None
            seen = self._durations.setdefault(kind, collections.deque(maxlen=9))
            seen.append(clock() - tracker.started)
        if video.status is VideoStatus.FAILED:
            error = VideoFailedError(video, hint=failure_hint(video))
            mark_failed(
                self,
                ledger,
                job,
                error,
                code=error.code,
                server_message=error.server_message,
                completed_at=video.completed_at,
            )
            return
        await slot.release()
        self.write(
            ledger, "update", video_id, completed_at=video.completed_at, expires_at=video.expires_at
        )
        job._changed(video=video)
        await fetch_files(self, job, ledger, None)

    def gateway_price(
        self, settings: Settings, model: str, size: str, seconds: str
    ) -> float | None:
        """What the gateway's own price list says a video costs, if it was read (never sends)."""
        price = self._prices.get(settings.provider, {}).get(model)
        return None if price is None else price.cost(size, seconds)

    def remember_prices(self, settings: Settings, prices: dict[str, GatewayPrice]) -> None:
        """Keep a gateway's price list (read by `provider_models`) for later plans."""
        self._prices[settings.provider] = dict(prices)

    def _read_prices_once(self, settings: Settings) -> None:
        """After the first create on a gateway that names itself, read its price list in the
        background (LiteLLM's /model/info), so later plans can price models the kit does not."""
        client = self.client(settings)
        gateway = client.detected_profile == "litellm" or settings.profile.name == "litellm"
        if not gateway or settings.provider in self._prices:
            return
        self._prices[settings.provider] = {}

        async def read() -> None:
            try:
                self._prices[settings.provider] = await client.model_prices()
            except SoraError as exc:  # a gateway without the route: estimates only
                logger.info("no price list from %s: %s", settings.provider, exc)

        self._loop.create_task(read())

    def _take_gateway_cost(self, job: Job, ledger: Ledger, video: Video) -> None:
        """Use the gateway's own figure for the job's cost when it sends one."""
        cost = video.gateway_cost
        if cost is None or job.id is None or (job.cost_source == "gateway" and job.cost == cost):
            return
        self.write(ledger, "update", job.id, cost=cost, cost_source="gateway")
        job._changed(cost=cost, cost_source="gateway")

    def _typical_duration(self, kind: tuple[str, str, str, str]) -> float | None:
        """The median duration of the last jobs of this kind that this Runner saw complete."""
        seen = self._durations.get(kind)
        if not seen:
            return None
        recent = sorted(seen)
        return recent[len(recent) // 2]

    # -- resuming ------------------------------------------------------------------------------

    async def _resume(self, job: Job, ledger: Ledger) -> None:
        slot = _Slot(self._slots_of(job.settings))
        try:
            await slot.take()
            await self._follow(job, ledger, slot)
        except asyncio.CancelledError:
            raise
        except NotFoundError as exc:
            assert job.id is not None
            self.write(
                ledger, "update", job.id, status="lost", note="the provider no longer knows this id"
            )
            job._changed(status=JobStatus.LOST, error=exc, message=str(exc))
        except BaseException as exc:
            logger.warning("job %s: %s: %s", job.id, type(exc).__name__, exc)
            job._changed(status=JobStatus.ERROR, error=exc, message=str(exc))
        finally:
            await slot.release()
            await self._end(job)


def _policy_from_environment() -> PollPolicy:
    """`PollPolicy` with the fields ``SORA_POLL_POLICY`` sets (``first_delay=0.2,max_interval=2``);
    a malformed value is named in a warning and ignored."""
    text = os.environ.get("SORA_POLL_POLICY", "").strip()
    if not text:
        return PollPolicy()
    names = {f.name for f in dataclasses.fields(PollPolicy)}
    values: dict[str, float] = {}
    for pair in text.split(","):
        name, _, value = pair.partition("=")
        try:
            if name.strip() not in names:
                raise ValueError(f"unknown field {name.strip()!r}")
            values[name.strip()] = float(value)
        except ValueError as exc:
            logger.warning("SORA_POLL_POLICY %r ignored: %s (fields: %s)", text, exc, sorted(names))
            return PollPolicy()
    return dataclasses.replace(PollPolicy(), **values)  # type: ignore[arg-type]


def _unfamiliar(video: Video) -> str:
    """The provider's own word for the status when the kit reads it as another ("processing")."""
    text = video.status_text or video.status.value
    return "" if text == video.status.value else f"the provider says: {text}"


def _nothing() -> None:
    return None


def _log_write_failure(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("a ledger write failed: %s", future.exception())
