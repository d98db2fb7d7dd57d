"""Retries, create reconciliation, resumable downloads and waiting, written once for both clients.

Each flow is a generator that yields actions (`Send`, `Stream`, `Sleep`) and receives their
results: an `httpx.Response`, or an `APIConnectionError` thrown in. The sync and async clients
only drive these generators, so the policy exists in one place and is tested on a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import httpx

from ._capabilities import detect_profile
from ._content import HEAD_BYTES, check_content
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ContentFailedError,
    UnsupportedError,
    VideoFailedError,
)
from ._models import Video, VideoList
from ._polling import PollPolicy, PollTracker
from ._requests import (
    BUDGET_EXCEEDED,
    CreateParams,
    RequestSpec,
    build_list,
    build_retrieve,
    error_from_response,
    parse_list,
    parse_video,
    parse_video_with_hint,
)
from ._retry import RetryPolicy, parse_retry_after

T = TypeVar("T")

__all__ = [
    "FINAL_ERRORS",
    "Deadline",
    "Flow",
    "Send",
    "Sleep",
    "Stream",
    "create_flow",
    "download_flow",
    "failure_hint",
    "is_final",
    "parsed_flow",
    "request_flow",
    "wait_flow",
]


@dataclass(frozen=True)
class Send:
    """Send ``request`` and give back the whole response."""

    request: RequestSpec
    timeout: float | None = None
    """Seconds left before the flow's deadline: the driver caps every timeout of the request to it."""


@dataclass(frozen=True)
class Stream:
    """Send ``request``; on 2xx write the body to ``sink`` from ``offset`` (see `accept_stream`)."""

    request: RequestSpec
    sink: IO[bytes]
    offset: int
    learned: dict[str, bool] | None = None
    """Where `accept_stream` records a Range answered with 200 (``{"range": False}``)."""


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before going on."""

    seconds: float


Action = Send | Stream | Sleep
Flow = Generator[Action, Any, Any]

#: How far the server's clock may run behind ours when matching a lost create, in seconds.
CLOCK_SKEW = 120.0
#: Drops tolerated in one download while it keeps making progress.
MAX_DOWNLOAD_DROPS = 20
#: A request that failed this close to the deadline (seconds) failed because of it.
DEADLINE_SLACK = 0.01

#: Errors no retry can help: the key was refused, the route is missing, the content is gone.
FINAL_ERRORS: tuple[type[APIError], ...] = (
    AuthenticationError,
    UnsupportedError,
    ContentFailedError,
)


def is_final(error: APIError) -> bool:
    """True when retrying cannot help and the request made nothing: one of `FINAL_ERRORS`, or a
    gateway's refusal for a spent budget (LiteLLM's ``budget_exceeded``, 422 or 429)."""
    return isinstance(error, FINAL_ERRORS) or error.type == BUDGET_EXCEEDED


class Deadline:
    """An overall time limit on ``clock``: no send, sleep or retry of a flow runs past it.

    ``describe(cause)`` is called when the limit is reached and gives the message of the
    `APITimeoutError` raised then, so it can tell the latest state of what was waited for;
    ``cause`` is the failure of the last attempt, if it failed.
    """

    def __init__(
        self,
        at: float,
        clock: Callable[[], float],
        describe: Callable[[Exception | None], str],
    ) -> None:
        self.at = at
        """The moment it passes, on ``clock``."""
        self._clock = clock
        self._describe = describe

    def left(self) -> float:
        """Seconds left (negative once the deadline has passed)."""
        return self.at - self._clock()

    def error(self, cause: Exception | None = None) -> APITimeoutError:
        """The `APITimeoutError` to raise now that the deadline has passed."""
        return APITimeoutError(self._describe(cause))

    def check(self, cause: Exception | None = None) -> float:
        """Seconds left; raises `APITimeoutError` when none are."""
        left = self.left()
        if left <= 0:
            raise self.error(cause)
        return left

    def sleep(self, seconds: float, cause: Exception | None = None) -> Generator[Action, Any, None]:
        """Sleep ``seconds``, or only the time left and then raise `APITimeoutError`.

        ``cause``: why the flow sleeps (the failure it will retry), named if the deadline comes.
        """
        left = self.check(cause)
        if seconds >= left:
            yield Sleep(left)
            raise self.error(cause)
        yield Sleep(seconds)


def _pause(
    seconds: float, deadline: Deadline | None, cause: Exception
) -> Generator[Action, Any, None]:
    if deadline is None:
        yield Sleep(seconds)
    else:
        yield from deadline.sleep(seconds, cause)


def request_flow(
    spec: RequestSpec, policy: RetryPolicy, deadline: Deadline | None = None
) -> Generator[Action, Any, httpx.Response]:
    """Send ``spec`` with retries; return the successful response or raise the mapped error.

    With a ``deadline``, each request's timeouts are capped to the time left and retry sleeps are
    clipped to it; once it passes, its `APITimeoutError` is raised.
    """
    attempt = 0
    while True:
        send = Send(spec) if deadline is None else Send(spec, timeout=deadline.check())
        failure: Exception
        try:
            response: httpx.Response = yield send
        except APIConnectionError as exc:
            if deadline is not None and deadline.left() < DEADLINE_SLACK:
                raise deadline.error(exc) from exc  # the capped timeout fired
            if not policy.should_retry(attempt, None):
                raise
            failure, delay = exc, policy.delay(attempt)
        else:
            if response.status_code < 400:
                return response
            error = error_from_response(spec, response)
            if is_final(error) or not policy.should_retry(attempt, response.status_code):
                raise error
            delay = policy.delay(attempt, parse_retry_after(response.headers))
            if delay is None:
                raise error
            failure = error
        assert delay is not None
        yield from _pause(delay, deadline, failure)
        attempt += 1


def parsed_flow(
    spec: RequestSpec,
    policy: RetryPolicy,
    parse: Callable[[RequestSpec, httpx.Response], T],
    deadline: Deadline | None = None,
) -> Generator[Action, Any, T]:
    """`request_flow`, then parse; a malformed success body is retried like a dropped connection.

    Only for requests that are safe to repeat (reads and deletes). A ``deadline`` bounds the
    whole, retries of malformed bodies included.
    """
    attempt = 0
    while True:
        response = yield from request_flow(spec, policy, deadline)
        try:
            return parse(spec, response)
        except APIConnectionError as exc:
            if not policy.should_retry(attempt, None):
                raise
            delay = policy.delay(attempt)
            assert delay is not None
            yield from _pause(delay, deadline, exc)
            attempt += 1


def _matches(video: Video, params: CreateParams, sent_at: float) -> bool:
    for wanted, got in (
        (params.prompt, video.prompt),
        (params.model, video.model),
        (params.size, video.size),
        (params.seconds, video.seconds),
    ):
        if wanted is not None and got is not None and wanted != got:
            return False
    return video.created_at is None or video.created_at >= sent_at - CLOCK_SKEW


def reconcile_flow(
    params: CreateParams, sent_at: float, known_ids: set[str], policy: RetryPolicy
) -> Generator[Action, Any, Video | None]:
    """Look for a job that a create whose answer was lost may have made; None if there is none."""
    spec = build_list(limit=20, order="desc")
    response = yield from request_flow(spec, policy)
    page: VideoList = parse_list(spec, response)
    for video in page.data:
        if video.id not in known_ids and _matches(video, params, sent_at):
            return video
    return None


_AMBIGUOUS_STATUS = frozenset({408, 500, 502, 503, 504})


def create_flow(
    spec: RequestSpec,
    params: CreateParams,
    policy: RetryPolicy,
    known_ids: set[str],
    clock: Callable[[], float] = time.time,
    *,
    can_list: bool | None = True,
    learned: dict[str, bool] | None = None,
) -> Generator[Action, Any, Video]:
    """Create a video without ever billing twice.

    A create refused before it reached the server is retried. After an ambiguous failure (a
    timeout, a dropped connection or a gateway error once the body was sent) the recent list is
    searched for the job first; only when none matches is the create sent again. If even that
    search fails, the error is raised saying so, and nothing is resubmitted.

    A failure that made no job is not ambiguous: a refused key (`AuthenticationError`, whatever
    the status) or a missing route is raised at once. Where the provider cannot list
    (``can_list`` False, or ``learned["list"]`` False) the job cannot be looked for: the error
    is raised saying so and what to check. A list found missing is recorded in ``learned``.
    """
    attempt = 0
    while True:
        sent_at = clock()
        failure: Exception
        retry_after: float | None = None
        try:
            response: httpx.Response = yield Send(spec)
        except APIConnectionError as exc:
            failure = exc
            ambiguous = exc.request_sent
            status: int | None = None
        else:
            status = response.status_code
            if status < 400:
                try:
                    video = parse_video(spec, response)
                except APIConnectionError as exc:  # a malformed answer: the job may exist
                    failure, ambiguous, status = exc, True, None
                else:
                    known_ids.add(video.id)
                    return video
            else:
                failure = error_from_response(spec, response)
                if is_final(failure):
                    raise failure  # refused before any job existed: nothing to look for
                ambiguous = status in _AMBIGUOUS_STATUS
                retry_after = parse_retry_after(response.headers)
        if ambiguous:
            if can_list is False or (learned is not None and learned.get("list") is False):
                raise _add_lookup_note(failure, None) from None
            try:
                found = yield from reconcile_flow(params, sent_at, known_ids, policy)
            except (APIError, APIConnectionError) as exc:
                if isinstance(exc, UnsupportedError) and learned is not None:
                    learned[exc.capability] = False
                raise _add_lookup_note(failure, exc) from None
            if found is not None:
                known_ids.add(found.id)
                return found
        if not policy.should_retry(attempt, status):
            raise failure
        delay = policy.delay(attempt, retry_after)
        if delay is None:
            raise failure
        yield Sleep(delay)
        attempt += 1


def _add_lookup_note(failure: Exception, lookup_error: Exception | None) -> Exception:
    """``failure`` with a note saying the job could not be looked for, and what to check."""
    if lookup_error is None or isinstance(lookup_error, UnsupportedError):
        note = (
            " The create may have reached the server, and this provider cannot list videos, so "
            "the kit cannot look for the job; nothing was resubmitted, so no second job is "
            "billed. Check the provider's console or the gateway's spend logs for a job made "
            "just now before creating again."
        )
    else:
        note = (
            " The create may have reached the server, and looking for the job failed too "
            f"({type(lookup_error).__name__}); nothing was resubmitted, so no second job is "
            "billed. Check client.list() before creating again."
        )
    if isinstance(failure, APIError):
        failure.message += note
        failure.args = (failure.message,)
    else:
        failure.args = (str(failure) + note,)
    return failure


def accept_stream(
    response: httpx.Response,
    sink: IO[bytes],
    offset: int,
    learned: dict[str, bool] | None = None,
) -> bool:
    """Ready ``sink`` for the body of ``response``; True if the body should be written to it.

    A 206 must resume exactly at ``offset``; a 200 restarts from zero (the sink is truncated, so
    a second copy is never appended), and when a Range was asked for (``offset`` > 0) it is
    recorded in ``learned`` as ``{"range": False}``; errors are not written.
    """
    if response.status_code >= 400:
        return False
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/json", "text/html"):
        raise APIConnectionError(
            f"the server answered {response.status_code} with {content_type} instead of the "
            "content (a proxy or a broken gateway?)",
            request_sent=True,
        )
    if response.status_code == 206:
        content_range = response.headers.get("content-range", "")
        start = _range_start(content_range)
        if start != offset:
            raise APIConnectionError(
                f"the server resumed the download at byte {start}, not {offset}", request_sent=True
            )
        sink.seek(offset)
        sink.truncate()
        return True
    if offset and learned is not None:
        learned["range"] = False
    sink.seek(0)
    sink.truncate()
    return True


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, _, rest = content_range.partition(" ")
        if unit.strip().lower() != "bytes":
            return None
        return int(rest.split("-", 1)[0])
    except ValueError:
        return None


def download_flow(
    spec: RequestSpec,
    sink: IO[bytes],
    policy: RetryPolicy,
    learned: dict[str, bool] | None = None,
) -> Generator[Action, Any, int]:
    """Stream a body into ``sink``, resuming a dropped transfer with Range; returns bytes written.

    ``sink`` must be readable and seekable (``w+b``). A server that answered a Range with 200 is
    recorded in ``learned`` (``{"range": False}``), and once it is, a dropped transfer starts
    again from byte 0 instead. The finished body is checked against the variant asked for
    (`check_content`) before this returns: `UnsupportedError` (capability ``variants``) for a
    thumbnail or spritesheet that is not an image. A completed job whose content the gateway
    cannot produce raises `ContentFailedError` at once.
    """
    variant = (spec.params or {}).get("variant", "video")
    attempt = 0
    drops = 0
    while True:
        offset = sink.tell()
        if offset and learned is not None and learned.get("range") is False:
            sink.seek(0)  # this server ignores Range: start again rather than append
            sink.truncate()
            offset = 0
        request = spec.with_headers(Range=f"bytes={offset}-") if offset else spec
        try:
            response: httpx.Response = yield Stream(request, sink, offset, learned)
        except APIConnectionError:
            progressed = sink.tell() > offset
            drops += 1
            if progressed and drops <= MAX_DOWNLOAD_DROPS:
                attempt = 0
            elif not policy.should_retry(attempt, None):
                raise
            delay = policy.delay(attempt)
        else:
            if response.status_code < 400:
                size = sink.tell()
                sink.seek(0)
                head = sink.read(HEAD_BYTES)
                sink.seek(size)
                check_content(
                    variant,
                    head,
                    size,
                    response.headers.get("content-type", ""),
                    detect_profile(response.headers),
                )
                return size
            if response.status_code == 416 and offset:
                sink.seek(0)
                sink.truncate()
                continue
            error = error_from_response(spec, response)
            if is_final(error) or not policy.should_retry(attempt, response.status_code):
                raise error
            delay = policy.delay(attempt, parse_retry_after(response.headers))
            if delay is None:
                raise error
        assert delay is not None
        yield Sleep(delay)
        attempt += 1


def wait_flow(
    video_id: str,
    policy: RetryPolicy,
    poll: PollPolicy,
    clock: Callable[[], float],
    on_update: Callable[[Video], None] | None = None,
    raise_on_failure: bool = True,
) -> Generator[Action, Any, Video]:
    """Poll until the job is terminal; `APITimeoutError` once ``poll.deadline`` seconds have passed.

    The deadline holds whatever the server answers: retry sleeps are clipped to it, each request's
    timeouts are capped to the time left, and answers that are not a video (a proxy's HTML page,
    an empty or truncated body) are polled through, backing off, until it passes. A failed job
    raises `VideoFailedError` unless ``raise_on_failure`` is False.
    """
    started = clock()
    tracker = PollTracker(policy=poll, started=started)
    spec = build_retrieve(video_id)
    last: Video | None = None

    def describe(cause: Exception | None) -> str:
        if last is None:
            state = f"no state of video {video_id} received within {poll.deadline:g} s"
        else:
            where = "" if last.progress is None else f" at {last.progress}%"
            state = (
                f"video {video_id} is still {last.status_label}{where} after {poll.deadline:g} s"
            )
        if cause is not None:
            state += f" (last attempt: {cause})"
        return (
            f"{state}; the job keeps running on the server: wait for it again "
            f"(client.wait({video_id!r}, timeout=…)) or resume it (sora_widgets.resume())"
        )

    deadline = Deadline(started + poll.deadline, clock, describe)
    streak = 0
    while True:
        response = yield from request_flow(spec, policy, deadline)
        try:
            video, hint = parse_video_with_hint(spec, response)
        except APIConnectionError as exc:  # not a video: poll on, backing off, till the deadline
            streak += 1
            backoff = poll.tail_interval * poll.stall_factor ** (streak - 1)
            yield from deadline.sleep(min(backoff, poll.max_interval), exc)
            continue
        streak, last = 0, video
        now = clock()
        tracker.observe(now, video.progress, hint)
        if on_update is not None:
            on_update(video)
        if video.status.is_terminal:
            if raise_on_failure and video.status.value == "failed":
                raise VideoFailedError(video, hint=failure_hint(video))
            return video
        if tracker.expired(now):
            raise deadline.error()
        yield from deadline.sleep(tracker.next_delay(now))


def failure_hint(video: Video) -> str | None:
    """A short hint on what to do about a failed job, by its error code."""
    code = video.error.code if video.error else None
    if code == "moderation_blocked":
        return (
            "Prompts are typically blocked for real people (public figures included), "
            "copyrighted characters or music, sexual or violent content, or content unsuitable "
            "for under-18s; rephrase and try again."
        )
    if code:
        return "Try again; if it keeps failing, change the prompt or the reference."
    return None
