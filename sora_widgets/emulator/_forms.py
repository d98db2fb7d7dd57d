"""Read a request body (multipart, urlencoded or JSON) into one dict of fields.

Multipart text parts become strings, file parts `Upload`s, and bracketed keys nest:
``input_reference[image_url]=…`` becomes ``{"input_reference": {"image_url": …}}``. Raises
`ServiceError` (400) for a body that cannot be parsed, or (413) for one over the limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._validate import ServiceError, Upload

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["BodyTooLarge", "Fields", "nest", "read_fields"]

_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")


class BodyTooLarge(Exception):
    """The body passed the size limit while it was being read."""


@dataclass(frozen=True)
class Fields:
    """The body's fields and whether they came as JSON (types matter there)."""

    values: dict[str, Any]
    is_json: bool


def nest(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """``[("a[b]", 1), ("c", 2)]`` → ``{"a": {"b": 1}, "c": 2}``; a later key wins."""
    out: dict[str, Any] = {}
    for key, value in items:
        match = _BRACKETS.match(key)
        if not match:
            out[key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return out


def too_large(limit: int) -> ServiceError:
    """The 413 ``request_too_large`` error for a body over ``limit`` bytes."""
    return ServiceError(
        413,
        f"Request body too large: the limit is {limit} bytes.",
        param=None,
        code="request_too_large",
    )


async def read_fields(request: Request, max_bytes: int) -> Fields:
    """The body's fields; an empty body gives no fields."""
    from starlette.datastructures import UploadFile

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                form = await request.form(max_files=100, max_fields=1000, max_part_size=max_bytes)
            except BodyTooLarge:
                raise
            except Exception as exc:  # starlette raises HTTPException/MultiPartException
                detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
                raise ServiceError(
                    400, f"Could not parse the multipart form body: {detail}", code="invalid_body"
                ) from None
            items: list[tuple[str, Any]] = []
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    items.append((key, Upload(value.filename, value.content_type, data)))
                else:
                    items.append((key, value))
            await form.close()
            return Fields(nest(items), is_json=False)
        body = await request.body()
    except BodyTooLarge:
        raise too_large(max_bytes) from None
    if not body.strip():
        return Fields({}, is_json=content_type == "application/json")
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(
                400,
                "We could not parse the JSON body of your request. The API expects a JSON "
                "object (or multipart/form-data), but what was sent was not valid JSON.",
                code="invalid_json",
            ) from None
        if not isinstance(data, dict):
            raise ServiceError(400, "The JSON body must be an object.", code="invalid_json")
        return Fields(data, is_json=True)
    raise ServiceError(
        400,
        f"Unsupported content type: '{content_type}'. Send application/json or "
        "multipart/form-data.",
        code="unsupported_content_type",
    )
