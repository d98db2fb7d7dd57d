"""Pure request builders and response parsers for every endpoint.

Nothing here sends anything: a builder returns a `RequestSpec` (method, path, query, body), a parser
takes an `httpx.Response`. Both clients use these, so the endpoint logic exists once.
"""

from __future__ import annotations

import ast
import json as jsonlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ._capabilities import detect_profile
from ._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsupportedError,
    ValidationError,
)
from ._models import Character, DeletedVideo, Video, VideoList
from ._profiles import Profile, Resolved, check_prompt
from ._references import FileReference, UrlReference, image_dimensions, normalize_reference
from ._retry import parse_retry_after
from ._sizes import ratio_of

__all__ = [
    "BUDGET_EXCEEDED",
    "CONTENT_ACCEPT",
    "COST_HEADER",
    "ErrorDetail",
    "RequestSpec",
    "Variant",
    "build_content",
    "build_create",
    "build_delete",
    "build_edit",
    "build_extend",
    "build_get_character",
    "build_list",
    "build_make_character",
    "build_remix",
    "build_retrieve",
    "content_failure",
    "error_from_response",
    "parse_character",
    "parse_deleted",
    "parse_gateway_cost",
    "parse_json",
    "parse_list",
    "parse_video",
    "parse_video_with_hint",
    "unwrap_error",
]

Variant = Literal["video", "thumbnail", "spritesheet"]
VARIANTS: tuple[str, ...] = ("video", "thumbnail", "spritesheet")

MultipartField = tuple[str, str | FileReference]


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request, relative to the client's base URL (``videos/…``)."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = None
    multipart: Sequence[MultipartField] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    capability: str | None = None
    """The capability (see `CAPABILITIES`) this request relies on, if any: a server that evidently
    lacks the route answers with `UnsupportedError` naming it."""

    def with_headers(self, **headers: str) -> RequestSpec:
        """A copy with these headers added (replacing any of the same name)."""
        return replace(self, headers={**self.headers, **headers})

    def encode(self) -> tuple[bytes | None, dict[str, str]]:
        """The body bytes and the headers that describe them."""
        headers = dict(self.headers)
        if self.multipart is not None:
            body, content_type = encode_multipart(self.multipart)
            headers["Content-Type"] = content_type
            return body, headers
        if self.json is not None:
            headers["Content-Type"] = "application/json"
            return jsonlib.dumps(self.json, ensure_ascii=False).encode("utf-8"), headers
        return None, headers

    def describe(self) -> str:
        """``METHOD /path`` for error messages (no query, no body, nothing secret)."""
        return f"{self.method} /{self.path}"


def encode_multipart(fields: Sequence[MultipartField]) -> tuple[bytes, str]:
    """Encode form fields and files as multipart/form-data (also with no file, as the SDK does)."""
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields:
        quoted = name.replace('"', "%22")
        if isinstance(value, FileReference):
            filename = value.filename.replace('"', "%22").replace("\r", "").replace("\n", "")
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted}"; '
                f'filename="{filename}"\r\nContent-Type: {value.mime_type}\r\n\r\n'
            )
            parts.append(head.encode("utf-8") + value.data + b"\r\n")
        else:
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted}"\r\n\r\n'
            parts.append(head.encode("utf-8") + value.encode("utf-8") + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _video_path(video_id: str, suffix: str = "") -> str:
    if not isinstance(video_id, str) or not video_id.strip():
        raise ValidationError(
            f"video_id {video_id!r} is empty (pass a video's id)", param="video_id"
        )
    return "videos/" + quote(video_id, safe="") + suffix


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return jsonlib.dumps(value)
    return str(value)


def _flatten(name: str, value: Any) -> list[MultipartField]:
    """Nested objects become bracketed keys: ``input_reference[image_url]``."""
    if isinstance(value, Mapping):
        out: list[MultipartField] = []
        for key, inner in value.items():
            out.extend(_flatten(f"{name}[{key}]", inner))
        return out
    return [(name, _form_value(value))]


# -- builders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateParams:
    """The resolved fields of a create, kept to recognise the job if the answer is lost
    (None: unknown, not compared; a remix takes its source's model, size and length)."""

    prompt: str
    model: str | None
    size: str | None
    seconds: str | None


def build_create(
    profile: Profile,
    *,
    prompt: str,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    input_reference: Any = None,
    extra_body: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> tuple[RequestSpec, CreateParams]:
    """Build ``POST /videos`` as ``profile`` wants it; raises `ValidationError` before sending.

    A size may be pixels, a ratio, a tier, an orientation or ``auto``: a catalogued model's is
    sent as its own pixel size. ``validate=False`` sends exactly what was asked.
    """
    check_prompt(prompt, limit=profile.max_prompt_chars)
    if isinstance(seconds, bool):
        raise ValidationError(
            f"seconds {seconds!r} must be a whole number such as '4'", param="seconds"
        )
    extra = dict(extra_body or {})
    resolved = profile.resolve(
        model=model, size=size, seconds=seconds, extra=extra, validate=validate
    )
    model, size, seconds_text = resolved.model, resolved.size, resolved.seconds
    fields: dict[str, Any] = {
        "prompt": prompt,
        "model": model,
        "size": size,
        "seconds": seconds_text,
    }
    fields.update(extra)

    reference = None if input_reference is None else normalize_reference(input_reference)
    if isinstance(reference, FileReference) and validate:
        check_reference_shape(reference, resolved)

    use_json = profile.body_encoding == "json"
    if isinstance(reference, FileReference):
        if profile.reference_form == "object":
            fields["input_reference"] = {"image_url": reference.to_data_url()}
            use_json = True
        else:
            use_json = False
            fields["input_reference"] = reference
    elif isinstance(reference, UrlReference):
        if reference.file_id is None and not profile.url_references:
            raise ValidationError(
                f"{profile.name} takes a reference image only as an uploaded file, not as the URL "
                f"{_shorten_url(reference.url or '')!r}: fetch and fit it first with "
                f"sora_widgets.prepare_reference(url, {size!r}) and pass the result (generate() "
                "and %%sora -r do this for you)",
                param="input_reference",
            )
        if reference.file_id is not None:
            fields["input_reference"] = {"file_id": reference.file_id}
        elif profile.reference_form == "url":
            fields["input_reference"] = reference.url
        else:
            fields["input_reference"] = {"image_url": reference.url}

    params = CreateParams(prompt=prompt, model=model, size=size, seconds=seconds_text)
    if use_json:
        return RequestSpec("POST", "videos", json=fields), params
    multipart: list[MultipartField] = []
    for name, value in fields.items():
        if isinstance(value, FileReference):
            multipart.append((name, value))
        else:
            multipart.extend(_flatten(name, value))
    return RequestSpec("POST", "videos", multipart=multipart), params


def check_reference_shape(reference: FileReference, resolved: Resolved) -> None:
    """`ValidationError` when the picture's shape is not what the model takes: the size's pixels
    (``exact``: Sora), its aspect ratio (``ratio``: Veo), or no reference at all (``none``).
    An unknown model's reference is not checked."""
    spec = resolved.spec
    fit = spec.reference if spec is not None else "any"
    size = resolved.size
    if fit == "none":
        raise ValidationError(
            f"{resolved.model} takes no reference image (leave it out, or choose a model that "
            "takes one; to send it anyway, pass validate=False or %sora --no-validate)",
            param="input_reference",
        )
    dims = image_dimensions(reference.data)
    pixels = resolved.pixels
    if dims is None or pixels is None or fit == "any":
        return
    how = f"sora_widgets.prepare_reference(image, {size!r})"
    if fit == "exact" and dims != pixels:
        raise ValidationError(
            f"input_reference {reference.filename!r} is {dims[0]}x{dims[1]} but size is {size}: "
            f"{resolved.model} needs them equal (fit it with {how})",
            param="input_reference",
        )
    if fit == "ratio" and abs(dims[0] / dims[1] - pixels[0] / pixels[1]) > 0.01:
        raise ValidationError(
            f"input_reference {reference.filename!r} is {dims[0]}x{dims[1]}, not the "
            f"{ratio_of(*pixels)} shape of size {size}: {resolved.model} needs the same aspect "
            f"ratio (fit it with {how})",
            param="input_reference",
        )


def _shorten_url(url: str, limit: int = 80) -> str:
    if url.startswith("data:"):
        return url.split(",", 1)[0] + ",…"
    return url if len(url) <= limit else url[: limit - 1] + "…"


def build_retrieve(video_id: str) -> RequestSpec:
    """``GET /videos/{id}``; the id is quoted, so a hostile id cannot change the path."""
    return RequestSpec("GET", _video_path(video_id))


def build_delete(video_id: str) -> RequestSpec:
    """``DELETE /videos/{id}``."""
    return RequestSpec("DELETE", _video_path(video_id), capability="delete")


def build_list(
    *, limit: int | None = None, after: str | None = None, order: str | None = None
) -> RequestSpec:
    """``GET /videos``; `ValidationError` for a limit outside 0–100 or an order not asc/desc."""
    params: dict[str, str] = {}
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 100:
            raise ValidationError(
                f"limit {limit!r} must be a whole number from 0 to 100", param="limit"
            )
        params["limit"] = str(limit)
    if after is not None:
        params["after"] = after
    if order is not None:
        if order not in ("asc", "desc"):
            raise ValidationError(f"order {order!r} must be 'asc' or 'desc'", param="order")
        params["order"] = order
    return RequestSpec("GET", "videos", params=params or None, capability="list")


CONTENT_ACCEPT: Mapping[str, str] = {
    "video": "video/mp4, */*;q=0.1",
    "thumbnail": "image/webp, image/png;q=0.9, image/jpeg;q=0.9, */*;q=0.1",
    "spritesheet": "image/jpeg, image/png;q=0.9, image/webp;q=0.9, */*;q=0.1",
}
"""The ``Accept`` header of each content variant: the spec's type first (``video/mp4``,
``image/webp``, JPEG for spritesheets), other image types a gateway may send, then anything (a
strict server would answer 406 to ``application/binary``, which the official SDK sends)."""


def build_content(video_id: str, variant: str = "video") -> RequestSpec:
    """``GET /videos/{id}/content`` of a variant (video, thumbnail, spritesheet; else `ValidationError`).

    ``Accept`` names the variant's type (`CONTENT_ACCEPT`); the thumbnail and spritesheet rely
    on the ``variants`` capability.
    """
    if variant not in VARIANTS:
        raise ValidationError(
            f"variant {variant!r} is unknown (choose 'video', 'thumbnail' or 'spritesheet')",
            param="variant",
        )
    params = None if variant == "video" else {"variant": variant}
    return RequestSpec(
        "GET",
        _video_path(video_id, "/content"),
        params=params,
        headers={"Accept": CONTENT_ACCEPT[variant]},
        capability=None if variant == "video" else "variants",
    )


def build_remix(video_id: str, *, prompt: str) -> RequestSpec:
    """``POST /videos/{id}/remix``; the prompt is checked first (`ValidationError`)."""
    check_prompt(prompt)
    return RequestSpec(
        "POST", _video_path(video_id, "/remix"), json={"prompt": prompt}, capability="remix"
    )


def _video_ref(video: Any) -> dict[str, Any]:
    if isinstance(video, Video):
        return {"id": video.id}
    if isinstance(video, str) and video.strip():
        return {"id": video}
    if isinstance(video, Mapping) and isinstance(video.get("id"), str):
        return {"id": video["id"]}
    raise ValidationError(
        f"video {video!r} must be a video id, a Video or {{'id': …}}", param="video"
    )


def build_edit(
    *, prompt: str, video: Any, extra_body: Mapping[str, Any] | None = None
) -> RequestSpec:
    """``POST /videos/edits`` (``video``: an id, a Video or ``{"id": …}``, else `ValidationError`)."""
    check_prompt(prompt)
    body = {"prompt": prompt, "video": _video_ref(video), **(extra_body or {})}
    return RequestSpec("POST", "videos/edits", json=body, capability="edit")


def build_extend(
    *, prompt: str, seconds: str | int, video: Any, extra_body: Mapping[str, Any] | None = None
) -> RequestSpec:
    """``POST /videos/extensions``: ``seconds`` to add, a whole number (else `ValidationError`)."""
    check_prompt(prompt)
    if isinstance(seconds, bool) or not str(seconds).strip().isdigit():
        raise ValidationError(
            f"seconds {seconds!r} must be a whole number such as '8'", param="seconds"
        )
    body = {"prompt": prompt, "seconds": str(seconds).strip(), "video": _video_ref(video)}
    body.update(extra_body or {})
    return RequestSpec("POST", "videos/extensions", json=body, capability="extend")


def build_make_character(*, name: str, video: FileReference) -> RequestSpec:
    """``POST /videos/characters`` as multipart; the name must be 1–80 characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise ValidationError(f"character name {name!r} must be 1 to 80 characters", param="name")
    return RequestSpec("POST", "videos/characters", multipart=[("name", name), ("video", video)])


def build_get_character(character_id: str) -> RequestSpec:
    """``GET /videos/characters/{id}``; an empty id is a `ValidationError`."""
    if not character_id:
        raise ValidationError("character_id is empty", param="character_id")
    return RequestSpec("GET", "videos/characters/" + quote(character_id, safe=""))


# -- parsers --------------------------------------------------------------------------------------

_MAX_EXCERPT = 200
MAX_JSON_BYTES = 8 * 1024 * 1024
"""A JSON answer larger than this is refused (a list page of 100 videos is well under 1 MB)."""


def parse_json(spec: RequestSpec, response: httpx.Response) -> Mapping[str, Any]:
    """The JSON object of a successful response; a non-object body is an `APIConnectionError`."""
    if len(response.content) > MAX_JSON_BYTES:
        raise APIConnectionError(
            f"{spec.describe()} answered with {len(response.content):,} bytes of JSON, more than "
            f"any video object needs ({MAX_JSON_BYTES:,}); refusing to parse it"
        )
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        excerpt = response.text[:_MAX_EXCERPT].strip().replace("\n", " ")
        raise APIConnectionError(
            f"{spec.describe()} answered {response.status_code} with a body that is not JSON: "
            f"{excerpt!r} (is the base URL an OpenAI-compatible /v1 endpoint?)"
        ) from None
    if not isinstance(data, Mapping):
        raise APIConnectionError(
            f"{spec.describe()} answered {response.status_code} with JSON that is not an object"
        )
    return data


COST_HEADER = "x-litellm-response-cost"
"""The header in which LiteLLM's proxy reports what a request cost, in US dollars."""


def parse_gateway_cost(headers: Mapping[str, str]) -> float | None:
    """The cost a gateway reported in ``x-litellm-response-cost`` (dollars), or None.

    Garbage, negative, infinite and NaN values are None, never an error.
    """
    raw = headers.get(COST_HEADER)
    if raw is None:
        return None
    try:
        cost = float(raw)
    except ValueError:
        return None
    if cost != cost or cost < 0 or cost == float("inf"):
        return None
    return cost


def parse_video(spec: RequestSpec, response: httpx.Response) -> Video:
    """The Video of a successful response; a malformed body or no id is an `APIConnectionError`.

    ``gateway_cost`` is taken from the response's ``x-litellm-response-cost`` header.
    """
    video = Video.from_dict(
        parse_json(spec, response), gateway_cost=parse_gateway_cost(response.headers)
    )
    if not video.id:
        raise APIConnectionError(f"{spec.describe()} answered with a video that has no id")
    return video


POLL_HINT_HEADER = "openai-poll-after-ms"
"""The header in which a server suggests the delay before the next retrieve, in milliseconds."""


def parse_video_with_hint(spec: RequestSpec, response: httpx.Response) -> tuple[Video, str | None]:
    """`parse_video`, and the raw ``openai-poll-after-ms`` header (None if absent).

    The hint stays raw text: `PollTracker.observe` parses it and ignores garbage.
    """
    return parse_video(spec, response), response.headers.get(POLL_HINT_HEADER)


def parse_list(spec: RequestSpec, response: httpx.Response) -> VideoList:
    """The page of a successful list; a malformed body is an `APIConnectionError`."""
    return VideoList.from_dict(parse_json(spec, response))


def parse_deleted(spec: RequestSpec, response: httpx.Response) -> DeletedVideo:
    """The answer of a successful delete; a malformed body is an `APIConnectionError`."""
    return DeletedVideo.from_dict(parse_json(spec, response))


def parse_character(spec: RequestSpec, response: httpx.Response) -> Character:
    """The character of a successful answer; a malformed body is an `APIConnectionError`."""
    return Character.from_dict(parse_json(spec, response))


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}

_KEY_HINT = " (check the API key: SORA_API_KEY or OPENAI_API_KEY)"

BUDGET_EXCEEDED = "budget_exceeded"
"""The error ``type`` with which LiteLLM's proxy refuses a key whose budget is spent."""

_NO_DB = "no connected db"
_NO_LIST = "llm provider not provided"
_NO_CONTENT = "no response data in completed operation"

_ROUTES = {
    "list": "GET /videos",
    "delete": "DELETE /videos/{id}",
    "variants": "GET /videos/{id}/content?variant=…",
    "remix": "POST /videos/{id}/remix",
    "edit": "POST /videos/edits",
    "extend": "POST /videos/extensions",
}

_INSTEAD = {
    "list": (
        "the kit follows jobs from its ledger instead (sora_widgets.resume(), %sora list); "
        "to see jobs made elsewhere, look in the provider's console"
    ),
    "delete": "the video stays on the provider until it expires there",
    "variants": "download the video and make the picture from it",
    "remix": "create a new video with a changed prompt instead",
    "edit": "create a new video with a changed prompt instead",
    "extend": "create a longer video instead",
}


@dataclass(frozen=True)
class ErrorDetail:
    """What an error body says, with a gateway's wrapping removed (see `unwrap_error`)."""

    message: str | None
    """The upstream provider's message when a gateway wrapped it, else the envelope's."""
    type: str | None = None
    code: str | None = None
    """The upstream code (e.g. ``invalid_value``), not a gateway's HTTP status as text."""
    param: str | None = None
    gateway_message: str | None = None
    """The gateway's own message when it wrapped an upstream error (LiteLLM), else None."""


def _opt_field(envelope: Mapping[str, Any], name: str) -> str | None:
    value = envelope.get(name)
    return None if value is None else str(value)


def _embedded_error(text: str) -> Mapping[str, Any] | None:
    """The first ``{"error": {…}}`` object inside ``text`` (JSON or a Python dict's repr)."""
    decoder = jsonlib.JSONDecoder()
    start = text.find("{")
    while start != -1:
        found: Any = None
        try:
            found, _ = decoder.raw_decode(text, start)
        except ValueError:
            end = _matching_brace(text, start)
            if end is not None:
                try:
                    found = ast.literal_eval(text[start : end + 1])
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    found = None
        if isinstance(found, Mapping):
            inner = found.get("error", found)
            if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
                return inner
        start = text.find("{", start + 1)
    return None


def _matching_brace(text: str, start: int) -> int | None:
    depth, quote, escaped = 0, "", False
    for index in range(start, min(len(text), start + 20_000)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def unwrap_error(body: object) -> ErrorDetail:
    """Read an error body: the contract's envelope, or a gateway's wrapping of an upstream one.

    LiteLLM answers ``{"error": {"message": "litellm.BadRequestError: OpenAIException -
    {\"error\": {…}} …", "code": "400", "param": null}}``: its ``code`` is the HTTP status and
    the upstream error sits inside the message. Then the upstream message, type, code and param
    are returned, and the gateway's text in ``gateway_message``.
    """
    if not isinstance(body, Mapping):
        return ErrorDetail(message=None)
    envelope = body.get("error", body)
    if isinstance(envelope, str):
        return ErrorDetail(message=envelope)
    if not isinstance(envelope, Mapping):
        return ErrorDetail(message=None)
    message = _opt_field(envelope, "message")
    if message is None and isinstance(envelope.get("detail"), str):
        message = str(envelope["detail"])  # FastAPI's {"detail": "Not Found"}
    detail = ErrorDetail(
        message=message,
        type=_opt_field(envelope, "type"),
        code=_opt_field(envelope, "code"),
        param=_opt_field(envelope, "param"),
    )
    if message and "{" in message:
        inner = _embedded_error(message)
        if inner is not None:
            return ErrorDetail(
                message=str(inner["message"]),
                type=_opt_field(inner, "type") or detail.type,
                code=_opt_field(inner, "code"),
                param=_opt_field(inner, "param"),
                gateway_message=message,
            )
    return detail


def _unsupported(
    spec: RequestSpec, status: int, reason: str, gateway: str | None
) -> tuple[str, str] | None:
    """(capability, message) when this error shows the route is missing, else None."""
    capability = spec.capability
    if capability is None or capability not in _ROUTES:
        return None
    lacking = status == 405
    if capability == "list":
        lacking = lacking or status == 404 or (status == 400 and _NO_LIST in reason.lower())
    if not lacking:
        return None
    who = f"this gateway ({gateway})" if gateway else "this server"
    said = " ".join(reason.split())
    if len(said) > 100:
        said = said[:99] + "…"
    return capability, (
        f"{who} has no {_ROUTES[capability]} (it answered {status}: {said}); {_INSTEAD[capability]}"
    )


def _auth_refusal(
    spec: RequestSpec, response: httpx.Response, status: int, detail: ErrorDetail, text: str
) -> str | None:
    """The message for a gateway's refusal of the key, whatever the status, else None."""
    message = (detail.message or "").strip()
    if status == 401 or detail.type == "auth_error":
        return f"the gateway refused the key ({message or f'HTTP {status}'}){_KEY_HINT}"
    if _NO_DB in message.lower() or detail.type == "no_db_connection":
        return (
            f"the gateway refused the key ({status} {message!r}): LiteLLM's proxy checks any key "
            "but its master key in its database, and it has none connected; use the proxy's "
            "master key, or ask its admin for a virtual key of a proxy with a database"
        )
    sent_key = "authorization" in response.request.headers if _has_request(response) else True
    plain = response.headers.get("content-type", "").split(";")[0].strip().lower() == "text/plain"
    if status == 500 and plain and not sent_key:
        return (
            f"the gateway refused the request: no key was sent, and it answered 500 "
            f"{text.strip()[:60]!r} (LiteLLM's proxy does so without a key); set SORA_API_KEY "
            "or pass api_key="
        )
    return None


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True


def content_failure(spec: RequestSpec, status: int, message: str | None) -> str | None:
    """The message for a completed job whose content a gateway cannot produce, else None."""
    if status < 500 or not spec.path.endswith("/content") or not message:
        return None
    if _NO_CONTENT not in message.lower():
        return None
    return (
        f"the gateway reports the job completed but has no video for it ({message.strip()[:160]}): "
        "the provider's job failed upstream; create the video again"
    )


def error_from_response(spec: RequestSpec, response: httpx.Response) -> APIError:
    """Map an error response to an `APIError`: the contract's envelope, a gateway's, or a page.

    Recognised beyond the status: LiteLLM's wrapped upstream errors (see `unwrap_error`), a
    gateway's refusal of the key (`AuthenticationError` whatever the status), a missing route
    (`UnsupportedError`) and a completed job without content (`ContentFailedError`).
    """
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    detail = unwrap_error(body)
    text = response.text[:_MAX_EXCERPT].replace("\n", " ") if body is None else ""
    message = detail.message
    if not message:
        reason = response.reason_phrase or "error"
        message = f"{spec.describe()} failed with HTTP {status} {reason}"
        if text.strip():
            message += f" (body: {text.strip()!r})"
    kwargs: dict[str, Any] = {
        "status_code": status,
        "type": detail.type,
        "code": detail.code,
        "param": detail.param,
        "request_id": response.headers.get("x-request-id"),
        "body": body,
    }
    refused = _auth_refusal(spec, response, status, detail, text)
    if refused is not None:
        return AuthenticationError(refused, **kwargs)
    if detail.type == BUDGET_EXCEEDED:
        message = (
            f"the gateway refused the request: this key's budget is spent ({message.strip()}); "
            "ask the gateway's admin to raise the key's budget, or use another key"
        )
    reason = detail.gateway_message or detail.message or response.reason_phrase or "error"
    missing = _unsupported(spec, status, reason, detect_profile(response.headers))
    if missing is not None:
        capability, text_ = missing
        return UnsupportedError(text_, capability=capability, **kwargs)
    failed = content_failure(spec, status, detail.gateway_message or detail.message)
    if failed is not None:
        return ContentFailedError(failed, **kwargs)
    if status == 429:
        return RateLimitError(message, retry_after=parse_retry_after(response.headers), **kwargs)
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(message, **kwargs)
