"""The clients over a mock transport: retries on a fake clock, create reconciliation, downloads.

A mock transport is used only for what a real server cannot produce on demand (a timeout exactly
after the body was sent, a chosen sequence of failures); the integration tests use the emulator.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sora_widgets.api import (
    APIConnectionError,
    APITimeoutError,
    AsyncSoraClient,
    AuthenticationError,
    PollPolicy,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SoraClient,
    ValidationError,
    VideoFailedError,
    parse_retry_after,
)

from .._async import run as run_async

KEY = "sk-test-SECRETSECRET1234"
BASE = "http://gateway.test/v1"


def video(vid: str = "video_1", status: str = "queued", **extra: Any) -> dict[str, Any]:
    return {
        "id": vid,
        "object": "video",
        "status": status,
        "progress": extra.pop("progress", 0),
        "model": "sora-2",
        "size": "720x1280",
        "seconds": "4",
        "created_at": extra.pop("created_at", 2_000_000_000),
        **extra,
    }


class Server:
    """A scripted handler: each call pops the next behaviour for the route."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.script: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = {}

    def on(self, route: str, *behaviours: Callable[[httpx.Request], httpx.Response]) -> None:
        self.script.setdefault(route, []).extend(behaviours)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        route = f"{request.method} {request.url.path}"
        queue = self.script.get(route)
        if not queue:
            return httpx.Response(404, json={"error": {"message": f"no script for {route}"}})
        behaviour = queue.pop(0) if len(queue) > 1 else queue[0]
        return behaviour(request)

    def count(self, route: str) -> int:
        return sum(1 for r in self.calls if f"{r.method} {r.url.path}" == route)


def ok(
    body: Any, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=body, headers=headers)


def status(
    code: int, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    envelope = {
        "error": {"message": f"failure {code}", "type": "server_error", "param": None, "code": None}
    }
    return lambda request: httpx.Response(code, json=envelope, headers=headers)


def raises(exc: type[httpx.HTTPError]) -> Callable[[httpx.Request], httpx.Response]:
    def behaviour(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)

    return behaviour


def make_client(server: Server, sleeps: list[float], **kwargs: Any) -> SoraClient:
    policy = kwargs.pop("retry_policy", RetryPolicy(max_retries=3, rng=random.Random(1)))
    client = SoraClient(
        api_key=KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
        retry_policy=policy,
        sleep=sleeps.append,
        **kwargs,
    )
    client.clock = lambda: 2_000_000_000.0
    return client


def test_retries_5xx_with_growing_jittered_backoff() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", status(500), status(502), status(503), ok(video()))
    assert make_client(server, sleeps).retrieve("video_1").id == "video_1"
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        base = 0.5 * 2**attempt
        assert 0.75 * base <= slept <= base


def test_gives_up_after_max_retries_with_server_error() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", status(500))
    with pytest.raises(ServerError) as info:
        make_client(server, sleeps).retrieve("video_1")
    assert info.value.status_code == 500 and server.count("GET /v1/videos/video_1") == 4


def test_retry_after_and_retry_after_ms_are_honoured() -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1",
        status(429, {"retry-after": "7"}),
        status(429, {"retry-after-ms": "1500"}),
        ok(video()),
    )
    make_client(server, sleeps).retrieve("video_1")
    assert sleeps == [7.0, 1.5]


def test_retry_after_beyond_cap_raises_rate_limit() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", status(429, {"retry-after": "3600"}))
    with pytest.raises(RateLimitError) as info:
        make_client(server, sleeps).retrieve("video_1")
    assert info.value.retry_after == 3600 and sleeps == []


def test_4xx_is_not_retried() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", status(401))
    with pytest.raises(AuthenticationError, match="SORA_API_KEY"):
        make_client(server, sleeps).retrieve("video_1")
    assert sleeps == [] and server.count("GET /v1/videos/video_1") == 1


def test_parse_retry_after_ignores_garbage() -> None:
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert parse_retry_after({"retry-after-ms": "-4", "Retry-After": "2"}) == 2.0
    assert parse_retry_after({}) is None


# -- create reconciliation ---------------------------------------------------------------------


def test_create_timeout_after_send_finds_the_job_and_does_not_resubmit() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", raises(httpx.ReadTimeout))
    made = video("video_made", prompt="a cat", created_at=2_000_000_001)
    other = video("video_other", prompt="a dog")
    server.on("GET /v1/videos", ok({"object": "list", "data": [other, made], "has_more": False}))
    created = make_client(server, sleeps).create(prompt="a cat")
    assert created.id == "video_made"
    assert server.count("POST /v1/videos") == 1


def test_create_dropped_then_nothing_found_resubmits_once() -> None:
    server, sleeps = Server(), []
    server.on(
        "POST /v1/videos", raises(httpx.RemoteProtocolError), ok(video("video_new", prompt="a cat"))
    )
    old = video("video_old", prompt="a cat", created_at=2_000_000_000 - 3600)
    server.on("GET /v1/videos", ok({"object": "list", "data": [old], "has_more": False}))
    created = make_client(server, sleeps).create(prompt="a cat")
    assert created.id == "video_new"
    assert server.count("POST /v1/videos") == 2 and server.count("GET /v1/videos") == 1


def test_create_refused_before_reaching_server_is_retried_without_lookup() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", raises(httpx.ConnectError), ok(video("video_new")))
    assert make_client(server, sleeps).create(prompt="x").id == "video_new"
    assert server.count("GET /v1/videos") == 0


def test_create_never_resubmits_when_lookup_fails() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", raises(httpx.ReadTimeout))
    server.on("GET /v1/videos", status(401))
    with pytest.raises(APITimeoutError) as info:
        make_client(server, sleeps).create(prompt="x")
    assert "nothing was resubmitted" in str(info.value)
    assert server.count("POST /v1/videos") == 1


def test_create_does_not_match_a_job_it_already_returned() -> None:
    server, sleeps = Server(), []
    first = video("video_first", prompt="same")
    server.on(
        "POST /v1/videos",
        ok(first),
        raises(httpx.ReadTimeout),
        ok(video("video_second", prompt="same")),
    )
    server.on("GET /v1/videos", ok({"object": "list", "data": [first], "has_more": False}))
    client = make_client(server, sleeps)
    assert client.create(prompt="same").id == "video_first"
    assert client.create(prompt="same").id == "video_second"


def test_create_502_from_gateway_is_reconciled() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", status(502))
    made = video("video_made", prompt="x")
    server.on("GET /v1/videos", ok({"object": "list", "data": [made], "has_more": False}))
    assert make_client(server, sleeps).create(prompt="x").id == "video_made"
    assert server.count("POST /v1/videos") == 1


def test_create_with_malformed_answer_is_reconciled() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", lambda r: httpx.Response(200, content=b'{"id": "vid'))
    made = video("video_made", prompt="x")
    server.on("GET /v1/videos", ok({"object": "list", "data": [made], "has_more": False}))
    assert make_client(server, sleeps).create(prompt="x").id == "video_made"
    assert server.count("POST /v1/videos") == 1


def test_malformed_read_is_retried() -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1", lambda r: httpx.Response(200, content=b"<html>"), ok(video())
    )
    assert make_client(server, sleeps).retrieve("video_1").id == "video_1"
    assert len(sleeps) == 1


def test_remix_is_never_blindly_resent() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos/video_1/remix", raises(httpx.ReadTimeout))
    made = video("video_remix", prompt="at night", remixed_from_video_id="video_1")
    server.on("GET /v1/videos", ok({"object": "list", "data": [made], "has_more": False}))
    assert make_client(server, sleeps).remix("video_1", prompt="at night").id == "video_remix"
    assert server.count("POST /v1/videos/video_1/remix") == 1


def test_download_refuses_an_html_page_as_content(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1/content",
        lambda r: httpx.Response(
            200, content=b"<html>login</html>", headers={"content-type": "text/html"}
        ),
        range_server(b"real video", []),
    )
    path = make_client(server, sleeps).download("video_1", tmp_path)
    assert path.read_bytes() == b"real video"


def test_create_429_waits_and_retries_without_lookup() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", status(429, {"retry-after": "2"}), ok(video("video_new")))
    assert make_client(server, sleeps).create(prompt="x").id == "video_new"
    assert sleeps == [2.0] and server.count("GET /v1/videos") == 0


def test_validation_error_sends_nothing() -> None:
    server, sleeps = Server(), []
    with pytest.raises(ValidationError):
        make_client(server, sleeps).create(prompt="x", size="1920x1080")
    assert server.calls == []


# -- pagination, waiting -------------------------------------------------------------------------


def test_list_iterates_pages_lazily() -> None:
    server, sleeps = Server(), []
    pages = {
        None: {"data": [video("v1"), video("v2")], "has_more": True, "last_id": "v2"},
        "v2": {"data": [video("v3")], "has_more": False, "last_id": "v3"},
    }
    server.on(
        "GET /v1/videos", lambda r: httpx.Response(200, json=pages[r.url.params.get("after")])
    )
    iterator = iter(make_client(server, sleeps).list(limit=2))
    assert next(iterator).id == "v1"
    assert server.count("GET /v1/videos") == 1
    assert [v.id for v in iterator] == ["v2", "v3"]
    assert server.count("GET /v1/videos") == 2


def test_wait_follows_hint_and_raises_on_failure() -> None:
    server, sleeps = Server(), []
    failed = video(status="failed", error={"code": "moderation_blocked", "message": "blocked"})
    server.on(
        "GET /v1/videos/video_1",
        ok(video(status="in_progress", progress=10), {"openai-poll-after-ms": "3000"}),
        ok(failed),
    )
    with pytest.raises(VideoFailedError) as info:
        make_client(server, sleeps).wait("video_1")
    assert info.value.code == "moderation_blocked" and "real people" in str(info.value)
    assert sleeps and sleeps[0] >= 3.0


def test_wait_has_a_deadline() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", ok(video(status="in_progress", progress=5)))
    client = make_client(server, sleeps)
    now = [0.0]
    client.monotonic = lambda: now[0]

    def advance(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client._sleep = advance
    with pytest.raises(APITimeoutError, match="keeps running"):
        client.wait("video_1", timeout=60)
    assert now[0] <= 60.0 + 1e-6 and server.count("GET /v1/videos/video_1") < 30


# -- downloads -----------------------------------------------------------------------------------


class DroppingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks off with a reset after ``drop_after`` bytes (sync and async)."""

    def __init__(self, data: bytes, drop_after: int | None) -> None:
        self.data, self.drop_after = data, drop_after

    def __iter__(self) -> Iterator[bytes]:
        end = len(self.data) if self.drop_after is None else self.drop_after
        for i in range(0, end, 1000):
            yield self.data[i : min(i + 1000, end)]
        if self.drop_after is not None:
            raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk


def range_server(
    data: bytes, drops: list[int], honour_range: bool = True
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        start = 0
        header = request.headers.get("range")
        status_code, headers = 200, {"content-type": "video/mp4"}
        if header and honour_range:
            start = int(header.split("=")[1].split("-")[0])
            status_code = 206
            headers["content-range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        drop = drops.pop(0) if drops else None
        return httpx.Response(status_code, headers=headers, stream=DroppingStream(body, drop))

    return handler


@pytest.mark.parametrize("honour_range", [True, False])
def test_download_survives_drops_and_renames_into_place(tmp_path: Path, honour_range: bool) -> None:
    data = bytes(random.Random(3).randbytes(50_000))
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1/content", range_server(data, [12_000, 30_000], honour_range))
    path = make_client(server, sleeps).download("video_1", tmp_path)
    assert path == tmp_path / "video_1.mp4"
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["video_1.mp4"]
    ranges = [r.headers.get("range") for r in server.calls]
    assert ranges[0] is None and ranges[1] == "bytes=12000-"


def test_failed_download_leaves_no_file(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1/content", status(404))
    with pytest.raises(Exception, match="404"):
        make_client(server, sleeps).download("video_1", tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_hostile_id_cannot_escape_the_folder(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/../../evil/content", range_server(b"abc", []))
    path = make_client(server, sleeps).download("../../evil", tmp_path)
    assert path.parent == tmp_path and path.read_bytes() == b"abc"
    assert server.calls[0].url.raw_path == b"/v1/videos/..%2F..%2Fevil/content"


# -- secrets -------------------------------------------------------------------------------------


def test_key_only_in_authorization_header_and_never_shown() -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1",
        lambda r: httpx.Response(500, text=f"echo {r.headers['authorization']}"),
    )
    client = make_client(
        server,
        sleeps,
    )
    with pytest.raises(ServerError) as info:
        client.retrieve("video_1")
    assert KEY not in str(info.value) and KEY not in repr(client)
    request = server.calls[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)


def test_connection_error_message_has_no_key() -> None:
    client = SoraClient(api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.retrieve("video_1")
    assert KEY not in str(info.value) and "cannot connect" in str(info.value)


def test_missing_base_url_explains_the_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SORA_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="2026-09-24"):
        SoraClient(api_key="k")


def test_environment_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA_BASE_URL", "http://user:pw@gw.test/v1/")
    monkeypatch.setenv("SORA_API_KEY", KEY)
    monkeypatch.setenv("SORA_PROFILE", "relay")
    client = SoraClient()
    assert client.profile.name == "relay" and client.has_api_key
    assert "pw" not in repr(client) and KEY not in repr(client)


# -- the async twin --------------------------------------------------------------------------------


def test_async_client_shares_the_flows(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", raises(httpx.ReadTimeout))
    server.on("GET /v1/videos", ok({"data": [video("video_made", prompt="x")], "has_more": False}))
    data = b"x" * 5000
    server.on("GET /v1/videos/video_made/content", range_server(data, [2000]))

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> tuple[str, bytes, list[str]]:
        async with AsyncSoraClient(
            api_key=KEY,
            base_url=BASE,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
            sleep=fake_sleep,
        ) as client:
            client.clock = lambda: 2_000_000_000.0
            made = await client.create(prompt="x")
            path = await client.download(made.id, tmp_path)
            ids = [v.id async for v in client.list()]
            return made.id, path.read_bytes(), ids

    made_id, content, ids = run_async(main())
    assert made_id == "video_made" and content == data and ids == ["video_made"]
    assert server.count("POST /v1/videos") == 1


def test_poll_policy_is_configurable() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", ok(video(status="in_progress", progress=5)))
    policy = PollPolicy(deadline=5, max_interval=1.0)
    client = make_client(server, sleeps, poll_policy=policy)
    now = [0.0]
    client.monotonic = lambda: now[0]

    def advance(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client._sleep = advance
    with pytest.raises(APITimeoutError, match="after 5 s"):
        client.wait("video_1")
    assert now[0] == pytest.approx(5.0) and max(sleeps) <= 1.0  # its deadline and its pacing
    now[0] = 0.0
    with pytest.raises(APITimeoutError, match="after 2 s"):
        client.wait("video_1", timeout=2)  # a call's timeout overrides the deadline only
    assert now[0] == pytest.approx(2.0) and client.poll_policy is policy and policy.deadline == 5


def test_retrieve_with_hint_gives_the_raw_poll_header() -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1",
        lambda r: httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
        ok(video(status="in_progress", progress=30), {"openai-poll-after-ms": "2500"}),
        ok(video(status="completed", progress=100)),
    )
    client = make_client(server, sleeps)
    got, hint = client.retrieve_with_hint("video_1")
    assert (got.id, got.progress, hint) == ("video_1", 30, "2500")
    assert len(sleeps) == 1  # the malformed answer was retried like retrieve does
    assert client.retrieve_with_hint("video_1")[1] is None


def test_async_retrieve_with_hint() -> None:
    server = Server()
    server.on("GET /v1/videos/video_1", ok(video(status="queued"), {"openai-poll-after-ms": "x"}))

    async def main() -> tuple[str, str | None]:
        async with AsyncSoraClient(
            api_key=KEY,
            base_url=BASE,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        ) as client:
            got, hint = await client.retrieve_with_hint("video_1")
            return got.status.value, hint

    assert run_async(main()) == ("queued", "x")  # raw: garbage is the tracker's to ignore
