"""Deadlines hold for every shape of answer: the sans-I/O flows driven on a fake clock.

A fake driver answers every request with one shape (an error status, a page that is not JSON, a
reset, a server slower than any timeout…) and moves a fake clock by each sleep and each request's
latency, honouring the timeout a flow puts on its requests. Whatever the shape, `wait_flow` and
`parsed_flow` end by the deadline: no sleep and no request runs past it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sora_widgets.api import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSoraClient,
    PollPolicy,
    RetryPolicy,
    SoraClient,
    SoraError,
)
from sora_widgets.api._endpoints import capped_timeout
from sora_widgets.api._flows import Deadline, Send, Sleep, parsed_flow, request_flow, wait_flow
from sora_widgets.api._requests import RequestSpec, build_retrieve, parse_video

from .._async import run as run_async

CLIENT_TIMEOUT = 60.0
DEADLINE = 5.0


def _video(**fields: Any) -> dict[str, Any]:
    return {"id": "video_1", "object": "video", "status": "in_progress", "progress": 5, **fields}


def _envelope(code: int) -> dict[str, Any]:
    return {
        "error": {"message": f"failure {code}", "type": "server_error", "param": None, "code": None}
    }


@dataclass(frozen=True)
class Shape:
    """How the fake server answers: a response (or a connection error) after ``latency`` seconds."""

    answer: Callable[[], httpx.Response | APIConnectionError]
    latency: float = 0.05


def _response(status: int, **kwargs: Any) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(status, **kwargs)


SHAPES: dict[str, Shape] = {
    "in progress forever": Shape(_response(200, json=_video())),
    "queued, poll hint of 10 minutes": Shape(
        _response(
            200,
            json=_video(status="queued", progress=0),
            headers={"openai-poll-after-ms": "600000"},
        )
    ),
    "429 with Retry-After: 60": Shape(
        _response(429, json=_envelope(429), headers={"retry-after": "60"})
    ),
    "429 with Retry-After: 1": Shape(
        _response(429, json=_envelope(429), headers={"retry-after": "1"})
    ),
    "429 with retry-after-ms: 250": Shape(
        _response(429, json=_envelope(429), headers={"retry-after-ms": "250"})
    ),
    "429 without Retry-After": Shape(_response(429, json=_envelope(429))),
    "500": Shape(_response(500, json=_envelope(500))),
    "502": Shape(_response(502, json=_envelope(502))),
    "503": Shape(_response(503, json=_envelope(503))),
    "502 HTML page from a proxy": Shape(
        _response(
            502, content=b"<html>502 Bad Gateway</html>", headers={"content-type": "text/html"}
        )
    ),
    "200 HTML page from a proxy": Shape(
        _response(200, content=b"<html>please log in</html>", headers={"content-type": "text/html"})
    ),
    "200 empty body": Shape(_response(200, content=b"")),
    "200 malformed JSON": Shape(
        _response(200, content=b'{"id": "video_', headers={"content-type": "application/json"})
    ),
    "200 JSON that is not an object": Shape(_response(200, json=[1, 2])),
    "200 video without an id": Shape(_response(200, json={"object": "video", "status": "queued"})),
    "reset before the answer": Shape(lambda: APIConnectionError("reset", request_sent=True)),
    "connection refused": Shape(lambda: APIConnectionError("refused", request_sent=False)),
    "slow (answers after an hour)": Shape(_response(200, json=_video()), latency=3600.0),
    "slow error (502 after 40 s)": Shape(_response(502, json=_envelope(502)), latency=40.0),
}


@dataclass
class FakeDriver:
    """Drives a flow against one shape on a fake clock, checking every action against ``at``."""

    shape: Shape
    at: float = DEADLINE
    now: float = 0.0
    actions: list[tuple[str, float]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def run(self, flow: Generator[Any, Any, Any]) -> Any:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value
            result, error = None, None
            left = self.at - self.now
            if isinstance(action, Sleep):
                assert 0 <= action.seconds <= left + 1e-9, (action, left)
                self.actions.append(("sleep", action.seconds))
                self.now += action.seconds
                continue
            assert isinstance(action, Send)
            assert action.timeout is not None and 0 < action.timeout <= left + 1e-9, (action, left)
            timeout = min(CLIENT_TIMEOUT, action.timeout)
            self.actions.append(("send", timeout))
            if self.shape.latency > timeout:
                self.now += timeout
                error = APITimeoutError("GET /videos/video_1 timed out (ReadTimeout)")
                continue
            self.now += self.shape.latency
            answer = self.shape.answer()
            if isinstance(answer, APIConnectionError):
                error = answer
            else:
                answer.request = httpx.Request("GET", "http://test/v1/videos/video_1")
                result = answer


PATIENT = RetryPolicy(max_retries=1000, rng=random.Random(0))
"""Retries alone would run for hours: only the deadline can end the wait."""


@pytest.mark.parametrize("name", list(SHAPES))
def test_wait_ends_by_its_deadline_whatever_the_server_answers(name: str) -> None:
    driver = FakeDriver(SHAPES[name])
    flow = wait_flow("video_1", PATIENT, PollPolicy(deadline=DEADLINE), driver.clock)
    with pytest.raises(APITimeoutError) as info:
        driver.run(flow)
    assert driver.now <= DEADLINE + 1e-9, driver.actions
    assert driver.now >= DEADLINE - 0.1, "gave up before the deadline"
    message = str(info.value)
    assert "keeps running on the server" in message and "client.wait('video_1'" in message


@pytest.mark.parametrize("name", list(SHAPES))
def test_wait_with_default_retries_ends_by_its_deadline(name: str) -> None:
    driver = FakeDriver(SHAPES[name])
    flow = wait_flow(
        "video_1", RetryPolicy(rng=random.Random(0)), PollPolicy(deadline=DEADLINE), driver.clock
    )
    with pytest.raises(SoraError) as info:
        driver.run(flow)
    assert isinstance(info.value, (APIError, APIConnectionError)), info.value
    assert driver.now <= DEADLINE + 1e-9, driver.actions


def test_a_retry_sleep_is_clipped_to_the_time_left() -> None:
    driver = FakeDriver(SHAPES["429 with Retry-After: 60"])
    with pytest.raises(
        APITimeoutError,
        match=r"no state of video video_1 received within 5 s \(last attempt: Error 429",
    ):
        driver.run(wait_flow("video_1", PATIENT, PollPolicy(deadline=DEADLINE), driver.clock))
    assert driver.actions == [("send", DEADLINE), ("sleep", pytest.approx(DEADLINE - 0.05))]


def test_unusable_answers_are_polled_through_backing_off_and_named_at_the_end() -> None:
    driver = FakeDriver(SHAPES["200 HTML page from a proxy"], at=60.0)
    flow = wait_flow("video_1", PATIENT, PollPolicy(deadline=60.0), driver.clock)
    with pytest.raises(APITimeoutError) as info:
        driver.run(flow)
    assert "not JSON" in str(info.value) and "please log in" in str(info.value)
    sleeps = [seconds for kind, seconds in driver.actions if kind == "sleep"]
    assert sleeps[:3] == [1.0, 1.6, pytest.approx(2.56)]
    assert len(sleeps) < 15


def test_an_unusable_answer_between_good_ones_does_not_end_the_wait() -> None:
    answers = iter(
        [
            httpx.Response(200, json=_video(progress=40)),
            httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
            httpx.Response(200, json=_video(status="completed", progress=100)),
        ]
    )
    driver = FakeDriver(Shape(lambda: next(answers)), at=3600.0)
    video = driver.run(wait_flow("video_1", PATIENT, PollPolicy(deadline=3600.0), driver.clock))
    assert video.status.value == "completed"


def test_a_timeout_after_progress_names_the_last_state() -> None:
    driver = FakeDriver(SHAPES["in progress forever"])
    with pytest.raises(APITimeoutError, match="video video_1 is still in_progress at 5% after 5 s"):
        driver.run(wait_flow("video_1", PATIENT, PollPolicy(deadline=DEADLINE), driver.clock))


@pytest.mark.parametrize(
    "name", ["200 HTML page from a proxy", "200 empty body", "500", "reset before the answer"]
)
def test_parsed_flow_with_a_deadline_stops_retrying_at_it(name: str) -> None:
    driver = FakeDriver(SHAPES[name])
    deadline = Deadline(
        DEADLINE, driver.clock, lambda cause: f"out of time after {type(cause).__name__}"
    )
    flow = parsed_flow(build_retrieve("video_1"), PATIENT, parse_video, deadline)
    with pytest.raises(APITimeoutError, match="out of time"):
        driver.run(flow)
    assert driver.now == pytest.approx(DEADLINE)


def test_request_flow_without_a_deadline_is_unchanged() -> None:
    flow = request_flow(RequestSpec("GET", "videos/video_1"), RetryPolicy())
    action = next(flow)
    assert action == Send(RequestSpec("GET", "videos/video_1")) and action.timeout is None


def test_deadline_sleep_raises_after_the_time_left() -> None:
    now = [0.0]
    deadline = Deadline(2.0, lambda: now[0], lambda cause: "done")
    sleeper = deadline.sleep(5.0)
    assert next(sleeper) == Sleep(2.0)
    now[0] = 2.0
    with pytest.raises(APITimeoutError, match="done"):
        next(sleeper)
    assert list(Deadline(9.0, lambda: now[0], lambda cause: "").sleep(1.0)) == [Sleep(1.0)]


# -- the clients put the time left on each request -----------------------------------------------


def test_capped_timeout_caps_every_part() -> None:
    capped = capped_timeout(httpx.Timeout(60.0, connect=5.0), 2.5)
    assert (capped.connect, capped.read, capped.write, capped.pool) == (2.5, 2.5, 2.5, 2.5)
    assert capped_timeout(httpx.Timeout(None), 1.0).read == 1.0


def test_wait_caps_each_request_timeout_to_the_time_left() -> None:
    seen: list[float] = []
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=_video())

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = SoraClient(
        base_url="http://gateway.test/v1",
        api_key="k",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleep,
    )
    client.monotonic = lambda: now[0]
    with pytest.raises(APITimeoutError, match="keeps running"):
        client.wait("video_1", timeout=5)
    assert seen[0] == 5.0 and all(0 < t <= 5.0 for t in seen)
    assert client.retrieve("video_1").id == "video_1"
    assert seen[-1] == 60.0  # no deadline, the client's own timeout


def test_async_wait_has_the_same_deadline() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"})

    async def main() -> None:
        async with AsyncSoraClient(
            base_url="http://gateway.test/v1",
            api_key="k",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            sleep=sleep,
        ) as client:
            client.monotonic = lambda: now[0]
            await client.wait("video_1", timeout=5)

    with pytest.raises(APITimeoutError, match="keeps running"):
        run_async(main())
    assert now[0] == pytest.approx(5.0)
