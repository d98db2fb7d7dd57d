"""Gateways on the wire: LiteLLM's errors, refused keys, missing routes, downloads, cost, profile.

Every body and header below was recorded from LiteLLM's proxy 1.108.7 (``litellm[proxy]``, run
with ``LITELLM_LOCAL_MODEL_COST_MAP=True``) in front of the emulator, unless a comment says it is
read from LiteLLM's source. The server is a mock transport: these are exact shapes on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sora_widgets.api import (
    CAPABILITIES,
    APIConnectionError,
    APIError,
    AsyncSoraClient,
    AuthenticationError,
    BadRequestError,
    ContentFailedError,
    NotFoundError,
    ServerError,
    UnsupportedError,
    ValidationError,
    detect_profile,
    get_profile,
)
from sora_widgets.api._requests import build_content, build_list, error_from_response, unwrap_error

from .._async import run as run_async
from .test_api_client import (
    KEY,
    DroppingStream,
    Server,
    make_client,
    ok,
    raises,
    range_server,
    video,
)

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(range(256)) * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200

LITELLM_HEADERS = {
    "x-litellm-call-id": "709c6e04-5291-40cd-866b-a9d8e864a8dc",
    "x-litellm-version": "1.108.7",
    "x-litellm-response-cost": "0.4",
    "x-litellm-key-spend": "0.4",
}

# 400 for a size the upstream refused: the upstream envelope sits inside LiteLLM's message.
WRAPPED_BAD_SIZE = {
    "error": {
        "message": "litellm.BadRequestError: OpenAIException - "
        '{"error":{"message":"Invalid value: \'1920x1080\'. Supported values are: \'720x1280\', '
        "'1280x720', '1024x1792', and '1792x1024'.\",\"type\":\"invalid_request_error\","
        '"param":"size","code":"invalid_value"}}\n\nLiteLLM: model group \'sora-2\' failed with '
        "the error above. No fallback was attempted.",
        "type": "invalid_request_error",
        "param": None,
        "code": "400",
    }
}
# The same wrapping with a Python dict's repr inside (other provider paths str() the dict).
WRAPPED_REPR = {
    "error": {
        "message": "litellm.BadRequestError: AzureException - {'error': {'code': "
        "'moderation_blocked', 'message': 'Your request was blocked.', 'param': 'prompt', "
        "'type': 'invalid_request_error'}}",
        "type": None,
        "param": None,
        "code": "400",
    }
}
NO_DB = {
    "error": {
        "message": "No connected db.",
        "type": "no_db_connection",
        "param": None,
        "code": "400",
    }
}
NO_LIST = {
    "error": {
        "message": "litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider "
        "you are trying to call. You passed model=\n Pass model as E.g. For 'Huggingface' "
        "inference endpoints pass in `completion(model='huggingface/starcoder',..)` Learn more: "
        "https://docs.litellm.ai/docs/providers",
        "type": "invalid_request_error",
        "param": None,
        "code": "400",
    }
}
# The proxy's answer to a download of a Veo job whose operation finished without a video (the
# ValueError of llms/gemini/videos/transformation.py as its proxy wraps it; read from source).
NO_CONTENT = {
    "error": {
        "message": "litellm.APIConnectionError: No response data in completed operation",
        "type": None,
        "param": None,
        "code": "500",
    }
}


def respond(
    code: int, body: Any, headers: dict[str, str] | None = None
) -> Any:  # a Server behaviour
    return lambda request: httpx.Response(code, json=body, headers=headers)


def content(
    data: bytes, headers: dict[str, str] | None = None
) -> Any:  # a Server behaviour that streams like a real body
    return lambda request: httpx.Response(200, headers=headers, stream=DroppingStream(data, None))


def plain_500(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        500, content=b"Internal Server Error", headers={"content-type": "text/plain; charset=utf-8"}
    )


# -- error bodies -----------------------------------------------------------------------------------


def test_litellm_wrapped_json_error_gives_back_the_upstream_code_param_and_message() -> None:
    detail = unwrap_error(WRAPPED_BAD_SIZE)
    assert detail.code == "invalid_value" and detail.param == "size"
    assert detail.message is not None and detail.message.startswith("Invalid value: '1920x1080'")
    assert detail.gateway_message is not None and "model group 'sora-2'" in detail.gateway_message


def test_litellm_wrapped_python_repr_error_is_read_too() -> None:
    detail = unwrap_error(WRAPPED_REPR)
    assert (detail.code, detail.param, detail.message) == (
        "moderation_blocked",
        "prompt",
        "Your request was blocked.",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "plain {not json} braces", "code": "x"}},
        {"error": {"message": "{'error': 'no message field'}", "code": "x"}},
        {"error": {"message": "{" * 5000, "code": "x"}},
        {"detail": "Method Not Allowed"},
        "a string",
        None,
    ],
)
def test_unwrap_error_never_fails_on_odd_bodies(body: Any) -> None:
    detail = unwrap_error(body)
    assert detail.gateway_message is None


def test_client_raises_the_upstream_error_through_the_gateway() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", respond(400, WRAPPED_BAD_SIZE, LITELLM_HEADERS))
    with pytest.raises(BadRequestError) as info:
        make_client(server, sleeps).create(prompt="x", size="1920x1080", validate=False)
    error = info.value
    assert (error.status_code, error.code, error.param) == (400, "invalid_value", "size")
    assert str(error).startswith("Error 400 (invalid_value): Invalid value: '1920x1080'")


# -- a refused key --------------------------------------------------------------------------------


def test_no_connected_db_is_a_refused_key() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", respond(400, NO_DB))
    with pytest.raises(AuthenticationError, match="the gateway refused the key") as info:
        make_client(server, sleeps).retrieve("video_1")
    assert "master key" in str(info.value) and info.value.status_code == 400
    assert server.count("GET /v1/videos/video_1") == 1


def test_plain_text_500_without_a_key_is_a_refused_key_and_not_retried() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", plain_500)
    client = make_client(server, sleeps)
    client._api_key = None
    with pytest.raises(AuthenticationError, match="no key was sent") as info:
        client.retrieve("video_1")
    assert "SORA_API_KEY" in str(info.value) and sleeps == []


def test_plain_text_500_with_a_key_stays_a_server_error() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", plain_500)
    with pytest.raises(ServerError, match="Internal Server Error"):
        make_client(server, sleeps).retrieve("video_1")
    assert len(sleeps) == 3  # retried like any 500


def test_401_says_the_gateway_refused_the_key() -> None:
    server, sleeps = Server(), []
    body = {"error": {"message": "Authentication Error", "type": "auth_error", "code": "401"}}
    server.on("GET /v1/videos/video_1", respond(401, body))
    with pytest.raises(AuthenticationError, match="the gateway refused the key") as info:
        make_client(server, sleeps).retrieve("video_1")
    assert KEY not in str(info.value)


@pytest.mark.parametrize("behaviour", [respond(400, NO_DB), plain_500])
def test_create_refused_for_the_key_is_not_a_job_that_may_exist(behaviour: Any) -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", behaviour)
    server.on("GET /v1/videos", ok({"data": [video("video_other", prompt="x")]}))
    client = make_client(server, sleeps)
    client._api_key = None if behaviour is plain_500 else KEY
    with pytest.raises(AuthenticationError) as info:
        client.create(prompt="x")
    assert "may have reached" not in str(info.value)
    assert server.count("POST /v1/videos") == 1 and server.count("GET /v1/videos") == 0
    assert sleeps == []


# -- missing routes ---------------------------------------------------------------------------------


def test_list_at_litellm_is_unsupported_and_learned() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos", respond(400, NO_LIST, LITELLM_HEADERS))
    client = make_client(server, sleeps)
    with pytest.raises(UnsupportedError) as info:
        client.list_page()
    error = info.value
    assert error.capability == "list" and isinstance(error, APIError)
    assert str(error).startswith("Error 400")
    assert "this gateway (litellm) has no GET /videos" in error.message
    assert "ledger" in error.message and "\n" not in error.message
    assert client.learned == {"list": False} and client.supports("list") is False
    assert sleeps == []


def test_delete_405_is_unsupported() -> None:
    server, sleeps = Server(), []
    server.on("DELETE /v1/videos/video_1", respond(405, {"detail": "Method Not Allowed"}))
    client = make_client(server, sleeps)
    with pytest.raises(UnsupportedError, match="no DELETE /videos/{id}") as info:
        client.delete("video_1")
    assert info.value.capability == "delete" and "stays on the provider" in str(info.value)
    assert client.learned == {"delete": False}


@pytest.mark.parametrize(
    ("call", "route", "capability"),
    [
        (lambda c: c.remix("video_1", prompt="p"), "POST /v1/videos/video_1/remix", "remix"),
        (lambda c: c.edit(prompt="p", video="video_1"), "POST /v1/videos/edits", "edit"),
        (
            lambda c: c.extend(prompt="p", seconds=4, video="video_1"),
            "POST /v1/videos/extensions",
            "extend",
        ),
    ],
)
def test_missing_job_routes_are_unsupported_and_never_looked_for(
    call: Any, route: str, capability: str
) -> None:
    server, sleeps = Server(), []
    server.on(route, respond(405, {"detail": "Method Not Allowed"}))
    with pytest.raises(UnsupportedError) as info:
        call(make_client(server, sleeps))
    assert info.value.capability == capability
    assert server.count("GET /v1/videos") == 0 and server.count(route) == 1


def test_404_on_a_video_is_not_a_missing_route() -> None:
    server, sleeps = Server(), []
    server.on("DELETE /v1/videos/video_1", respond(404, {"error": {"message": "No such video"}}))
    with pytest.raises(NotFoundError) as info:
        make_client(server, sleeps).delete("video_1")
    assert not isinstance(info.value, UnsupportedError)


def test_404_on_the_list_route_is_unsupported() -> None:
    response = httpx.Response(404, json={"detail": "Not Found"})
    error = error_from_response(build_list(), response)
    assert isinstance(error, UnsupportedError) and error.capability == "list"
    assert "this server has no GET /videos" in error.message


def test_ambiguous_create_where_the_provider_cannot_list_says_so() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", raises(httpx.ReadTimeout))
    server.on("GET /v1/videos", respond(400, NO_LIST, LITELLM_HEADERS))
    client = make_client(server, sleeps)
    with pytest.raises(APIConnectionError) as info:
        client.create(prompt="x")
    message = str(info.value)
    assert "cannot list videos" in message and "nothing was resubmitted" in message
    assert "console" in message
    assert server.count("POST /v1/videos") == 1 and client.learned == {"list": False}
    with pytest.raises(APIConnectionError, match="cannot list videos"):  # learned: no lookup now
        client.create(prompt="y")
    assert server.count("GET /v1/videos") == 1 and server.count("POST /v1/videos") == 2


def test_litellm_profile_skips_the_lookup_it_cannot_make() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", respond(502, {"error": {"message": "bad gateway"}}))
    client = make_client(server, sleeps, profile="litellm")
    with pytest.raises(ServerError, match="cannot list videos"):
        client.create(prompt="x")
    assert server.count("GET /v1/videos") == 0 and server.count("POST /v1/videos") == 1


# -- downloads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "accept"),
    [("video", "video/mp4"), ("thumbnail", "image/webp"), ("spritesheet", "image/jpeg")],
)
def test_content_accept_names_the_variant(variant: str, accept: str) -> None:
    spec = build_content("video_1", variant)
    header = spec.headers["Accept"]
    assert header.startswith(accept) and "*/*" in header and "application/binary" not in header


def test_download_sends_accept_per_variant(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    bodies = {"video": MP4, "thumbnail": WEBP, "spritesheet": JPEG}
    server.on(
        "GET /v1/videos/video_1/content",
        lambda r: content(bodies[r.url.params.get("variant", "video")])(r),
    )
    client = make_client(server, sleeps)
    for variant, body in bodies.items():
        assert client.download("video_1", tmp_path, variant=variant).read_bytes() == body
    accepts = [r.headers["accept"].split(",")[0] for r in server.calls]
    assert accepts == ["video/mp4", "image/webp", "image/jpeg"]


@pytest.mark.parametrize("variant", ["thumbnail", "spritesheet"])
def test_a_variant_answered_with_the_mp4_is_unsupported_and_nothing_is_saved(
    tmp_path: Path, variant: str
) -> None:
    server, sleeps = Server(), []
    headers = {"content-type": "video/mp4", **LITELLM_HEADERS}
    server.on(
        "GET /v1/videos/video_1/content",
        content(MP4, headers),
    )
    client = make_client(server, sleeps)
    with pytest.raises(UnsupportedError) as info:
        client.download("video_1", tmp_path, variant=variant)
    error = info.value
    assert error.capability == "variants" and f"variant={variant}" in error.message
    assert "an MP4 video" in error.message and "this gateway (litellm)" in error.message
    assert list(tmp_path.iterdir()) == []  # neither the file nor a .part
    assert client.learned == {"variants": False}
    with pytest.raises(UnsupportedError):
        client.download_bytes("video_1", variant=variant)


def test_an_image_answered_as_the_video_is_refused(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on(
        "GET /v1/videos/video_1/content",
        content(WEBP, {"content-type": "video/mp4"}),
    )
    with pytest.raises(APIConnectionError, match="a WebP image .* as the video"):
        make_client(server, sleeps).download("video_1", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unrecognised_video_bytes_pass_only_when_labelled_video(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    odd = b"\x00\x01weird-container" * 10
    server.on(
        "GET /v1/videos/video_1/content",
        content(odd, {"content-type": "video/quicktime"}),
        content(odd, {"content-type": "application/octet-stream"}),
    )
    client = make_client(server, sleeps)
    assert client.download("video_1", tmp_path).read_bytes() == odd
    with pytest.raises(APIConnectionError, match="does not recognise"):
        client.download("video_1", tmp_path / "second.mp4")
    assert not (tmp_path / "second.mp4").exists()


def test_range_answered_with_200_restarts_cleanly_and_is_learned(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1/content", range_server(MP4, [3000, 5000], honour_range=False))
    client = make_client(server, sleeps)
    path = client.download("video_1", tmp_path)
    assert path.read_bytes() == MP4  # never a second copy appended
    assert client.learned == {"range": False} and client.supports("range") is False
    ranges = [r.headers.get("range") for r in server.calls]
    assert ranges == [None, "bytes=3000-", None]  # asked once, then never again
    again = client.download_bytes("video_1")
    assert again == MP4 and server.calls[-1].headers.get("range") is None


def test_range_honoured_is_not_learned_as_missing(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1/content", range_server(MP4, [3000]))
    client = make_client(server, sleeps)
    assert client.download("video_1", tmp_path).read_bytes() == MP4
    assert client.learned == {}


def test_completed_job_without_content_is_content_failed(tmp_path: Path) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1/content", respond(500, NO_CONTENT, LITELLM_HEADERS))
    with pytest.raises(ContentFailedError) as info:
        make_client(server, sleeps).download("video_1", tmp_path)
    error = info.value
    assert "No response data in completed operation" in error.message
    assert "create the video again" in error.message and error.status_code == 500
    assert sleeps == [] and server.count("GET /v1/videos/video_1/content") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_same_message_off_the_content_route_is_a_server_error() -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", respond(500, NO_CONTENT))
    with pytest.raises(ServerError) as info:
        make_client(server, sleeps).retrieve("video_1")
    assert not isinstance(info.value, ContentFailedError)


# -- cost -------------------------------------------------------------------------------------------


def test_gateway_cost_comes_from_the_response_header() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", ok(video("video_new"), LITELLM_HEADERS))
    server.on(
        "GET /v1/videos/video_new",
        ok(video("video_new", status="in_progress"), {"x-litellm-call-id": "c"}),
    )
    client = make_client(server, sleeps)
    assert client.create(prompt="x").gateway_cost == pytest.approx(0.4)
    assert client.retrieve("video_new").gateway_cost is None  # retrieve carries no cost


@pytest.mark.parametrize("raw", ["", "free", "-1", "nan", "inf"])
def test_gateway_cost_garbage_is_none(raw: str) -> None:
    server, sleeps = Server(), []
    server.on("GET /v1/videos/video_1", ok(video(), {"x-litellm-response-cost": raw}))
    assert make_client(server, sleeps).retrieve("video_1").gateway_cost is None


# -- the litellm profile ---------------------------------------------------------------------------


def test_profiles_state_their_capabilities() -> None:
    for name in ("openai", "emulator"):
        assert dict(get_profile(name).capabilities) == dict.fromkeys(CAPABILITIES, True)
    litellm = get_profile("litellm")
    assert dict(litellm.capabilities) == {
        "list": False,
        "delete": False,
        "variants": False,
        "range": False,
        "remix": True,
        "edit": True,
        "extend": True,
    }
    assert set(get_profile("relay").capabilities.values()) == {None}
    custom = litellm.with_(capabilities={"delete": True})
    assert custom.supports("delete") is True and custom.supports("list") is False
    with pytest.raises(ValidationError, match="'teleport' is unknown"):
        litellm.supports("teleport")
    with pytest.raises(ValidationError, match="unknown"):
        litellm.with_(capabilities={"teleport": True})


def test_detect_profile_from_headers() -> None:
    assert detect_profile(httpx.Headers(LITELLM_HEADERS)) == "litellm"
    assert detect_profile({"X-LiteLLM-Version": "1.108.7"}) == "litellm"
    assert detect_profile({"content-type": "application/json", "x-request-id": "r"}) is None


def test_litellm_profile_uploads_and_refuses_url_references() -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", ok(video("video_new")))
    client = make_client(server, sleeps, profile="litellm")
    with pytest.raises(ValidationError, match="prepare_reference") as info:
        client.create(prompt="x", input_reference="https://example.com/cat.png")
    assert "uploaded file" in str(info.value) and info.value.param == "input_reference"
    assert server.calls == []
    client.create(prompt="x", extra_body={"negative_prompt": "rain", "aspect_ratio": "9:16"})
    sent = server.calls[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="negative_prompt"' in sent.content


def test_litellm_profile_takes_a_data_url_reference_only_as_a_file() -> None:
    server, sleeps = Server(), []
    client = make_client(server, sleeps, profile="litellm")
    with pytest.raises(ValidationError, match="data:image/png;base64,…"):
        client.create(prompt="x", input_reference="data:image/png;base64," + "A" * 500)


def test_a_gateway_that_names_itself_switches_a_client_with_no_chosen_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SORA_PROFILE", raising=False)
    server, sleeps = Server(), []
    server.on("POST /v1/videos", ok(video("video_new"), LITELLM_HEADERS))
    client = make_client(server, sleeps)
    assert client.profile.name == "openai" and client.detected_profile is None
    client.create(prompt="x")
    assert client.detected_profile == "litellm" and client.profile.name == "litellm"
    assert client.supports("list") is False
    chosen = make_client(server, sleeps, profile="relay")
    chosen.create(prompt="x")
    assert chosen.detected_profile == "litellm" and chosen.profile.name == "relay"


def test_the_async_client_learns_the_same_things(tmp_path: Path) -> None:
    server = Server()
    server.on("GET /v1/videos/video_1/content", range_server(MP4, [3000], honour_range=False))
    server.on(
        "GET /v1/videos/video_2/content",
        content(MP4, {"content-type": "video/mp4", **LITELLM_HEADERS}),
    )

    async def fake_sleep(seconds: float) -> None:
        return None

    async def main() -> tuple[bytes, dict[str, bool], str]:
        async with AsyncSoraClient(
            api_key=KEY,
            base_url="http://gateway.test/v1",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
            sleep=fake_sleep,
        ) as client:
            path = await client.download("video_1", tmp_path)
            with pytest.raises(UnsupportedError) as info:
                await client.download("video_2", tmp_path, variant="thumbnail")
            return path.read_bytes(), dict(client.learned), info.value.capability

    data, learned, capability = run_async(main())
    assert data == MP4 and capability == "variants"
    assert learned == {"range": False, "variants": False}
    assert [r.headers.get("range") for r in server.calls[:3]] == [None, "bytes=3000-", None]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video_1.mp4"]


# A spent virtual-key budget, as LiteLLM 1.108.7's auth raises it (proxy/auth/auth_exception_handler
# and litellm.BudgetExceededError, read from its source: 422 by default, 429 where configured).
def budget_body(code: str) -> dict[str, Any]:
    message = "Budget has been exceeded! Current cost: 0.8, Max budget: 0.5"
    return {"error": {"message": message, "type": "budget_exceeded", "param": None, "code": code}}


@pytest.mark.parametrize("status", [422, 429])
def test_a_spent_budget_is_said_plainly_and_never_retried(status: int) -> None:
    server, sleeps = Server(), []
    server.on("POST /v1/videos", respond(status, budget_body(str(status)), {"retry-after": "1"}))
    with pytest.raises(APIError) as info:
        make_client(server, sleeps).create(prompt="x")
    message = str(info.value)
    assert "this key's budget is spent" in message and "Max budget: 0.5" in message
    assert "raise the key's budget" in message
    assert sleeps == [] and server.count("POST /v1/videos") == 1
    assert server.count("GET /v1/videos") == 0


def test_litellm_auth_error_type_is_a_refused_key_whatever_the_status() -> None:
    server, sleeps = Server(), []
    body = {
        "error": {
            "message": "Authentication Error, Invalid proxy server token passed.",
            "type": "auth_error",
            "param": "None",
            "code": "400",
        }
    }
    server.on("GET /v1/videos/video_1", respond(400, body))
    with pytest.raises(AuthenticationError, match="the gateway refused the key"):
        make_client(server, sleeps).retrieve("video_1")


def test_a_405_names_the_gateway_the_client_knows() -> None:
    server, sleeps = Server(), []
    server.on("DELETE /v1/videos/video_1", respond(405, {"detail": "Method Not Allowed"}))
    with pytest.raises(UnsupportedError) as info:
        make_client(server, sleeps, profile="litellm").delete("video_1")
    assert str(info.value).startswith(
        "Error 405: this gateway (litellm) has no DELETE /videos/{id} (it answered 405: "
        "Method Not Allowed); the video stays on the provider"
    )
