"""Pure request builders and response parsers for every endpoint.

Nothing here sends anything: a builder returns a `RequestSpec` (method, path, query, body), a parser
takes an `httpx.Response`. Both clients use these, so the endpoint logic exists once.
"""

from __future__ import annotations

import json as jsonlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ._models import Character, DeletedVideo, Video, VideoList
from ._profiles import Profile, check_prompt
from ._references import FileReference, UrlReference, image_dimensions, normalize_reference
from ._retry import parse_retry_after

__all__ = [
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
    "error_from_response",
    "parse_character",
    "parse_deleted",
    "parse_json",
    "parse_list",
    "parse_video",
    "parse_video_with_hint",
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
    """Build ``POST /videos`` as ``profile`` wants it; raises `ValidationError` before sending."""
    check_prompt(prompt, limit=profile.max_prompt_chars)
    model = model or profile.default_model
    size = size or profile.default_size
    if isinstance(seconds, bool):
        raise ValidationError(
            f"seconds {seconds!r} must be a whole number such as '4'", param="seconds"
        )
    seconds_text = str(seconds).strip() if seconds is not None else profile.default_seconds
    extra = dict(extra_body or {})
    if validate:
        profile.check(prompt=prompt, model=model, size=size, seconds=seconds_text, extra=extra)
    fields: dict[str, Any] = {
        "prompt": prompt,
        "model": model,
        "size": size,
        "seconds": seconds_text,
    }
    fields.update(extra)

    reference = None if input_reference is None else normalize_reference(input_reference)
    if isinstance(reference, FileReference) and validate:
        dims = image_dimensions(reference.data)
        if dims is not None and f"{dims[0]}x{dims[1]}" != size:
            raise ValidationError(
                f"input_reference {reference.filename!r} is {dims[0]}x{dims[1]} but size is {size}: "
                "the API needs them equal (fit it with sora_widgets.prepare_reference(image, "
                f"{size!r}))",
                param="input_reference",
            )

    use_json = profile.body_encoding == "json"
    if isinstance(reference, FileReference):
        if profile.reference_form == "object":
            fields["input_reference"] = {"image_url": reference.to_data_url()}
            use_json = True
        else:
            use_json = False
            fields["input_reference"] = reference
    elif isinstance(reference, UrlReference):
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


def build_retrieve(video_id: str) -> RequestSpec:
    """``GET /videos/{id}``; the id is quoted, so a hostile id cannot change the path."""
    return RequestSpec("GET", _video_path(video_id))


def build_delete(video_id: str) -> RequestSpec:
    """``DELETE /videos/{id}``."""
    return RequestSpec("DELETE", _video_path(video_id))


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
    return RequestSpec("GET", "videos", params=params or None)


def build_content(video_id: str, variant: str = "video") -> RequestSpec:
    """``GET /videos/{id}/content`` of a variant (video, thumbnail, spritesheet; else `ValidationError`)."""
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
        headers={"Accept": "application/binary"},
    )


def build_remix(video_id: str, *, prompt: str) -> RequestSpec:
    """``POST /videos/{id}/remix``; the prompt is checked first (`ValidationError`)."""
    check_prompt(prompt)
    return RequestSpec("POST", _video_path(video_id, "/remix"), json={"prompt": prompt})


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
    return RequestSpec("POST", "videos/edits", json=body)


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
    return RequestSpec("POST", "videos/extensions", json=body)


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


def parse_video(spec: RequestSpec, response: httpx.Response) -> Video:
    """The Video of a successful response; a malformed body or no id is an `APIConnectionError`."""
    video = Video.from_dict(parse_json(spec, response))
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

_HINTS = {
    401: " (check the API key: SORA_API_KEY or OPENAI_API_KEY)",
}


def error_from_response(spec: RequestSpec, response: httpx.Response) -> APIError:
    """Map an error response (real envelope, or an HTML page from a proxy) to an `APIError`."""
    status = response.status_code
    message: str | None = None
    type_: str | None = None
    code: str | None = None
    param: str | None = None
    body: Any = None
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, Mapping):
        envelope = body.get("error", body)
        if isinstance(envelope, Mapping):
            message = _opt(envelope.get("message"))
            type_ = _opt(envelope.get("type"))
            code = _opt(envelope.get("code"))
            param = _opt(envelope.get("param"))
        elif isinstance(envelope, str):
            message = envelope
    if not message:
        text = response.text[:_MAX_EXCERPT].strip().replace("\n", " ")
        reason = response.reason_phrase or "error"
        message = f"{spec.describe()} failed with HTTP {status} {reason}"
        if text:
            message += f" (body: {text!r})"
    message += _HINTS.get(status, "")
    kwargs: dict[str, Any] = {
        "status_code": status,
        "type": type_,
        "code": code,
        "param": param,
        "request_id": response.headers.get("x-request-id"),
        "body": body,
    }
    if status == 429:
        return RateLimitError(message, retry_after=parse_retry_after(response.headers), **kwargs)
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(message, **kwargs)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
