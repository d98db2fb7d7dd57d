"""Request checks that answer like the real service: same status codes, same messages.

Every check raises `ServiceError` (status, message, type, param, code), which the app turns into the
``{"error": {...}}`` envelope. The functions are pure (Pillow is imported only to read a reference).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api._profiles import MAX_PROMPT_CHARS, ModelSpec, Profile
from ._settings import ServiceRules

__all__ = [
    "IMAGE_TYPES",
    "ServiceError",
    "Upload",
    "check_bool",
    "check_model",
    "check_prompt",
    "check_reference_image",
    "check_seconds",
    "check_size",
    "check_unknown",
    "decode_data_url",
    "join_and",
    "join_or",
    "parse_limit",
    "parse_order",
    "parse_variant",
]

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VARIANTS = ("video", "thumbnail", "spritesheet")


@dataclass
class ServiceError(Exception):
    """An error answer: HTTP ``status`` and the envelope's fields; ``headers`` are added as is."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        """The body of the answer: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body."""

    filename: str | None
    content_type: str | None
    data: bytes


def _quoted(values: Iterable[str]) -> list[str]:
    return [f"'{v}'" for v in values]


def join_and(values: Iterable[str]) -> str:
    """``'4', '8', and '12'`` (the service's style, serial comma included)."""
    items = _quoted(values)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def join_or(values: Iterable[str]) -> str:
    """``'4', '8', or '12'``."""
    items = _quoted(values)
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ServiceError:
    """A 400 ``invalid_request_error`` with the service's wording in ``message``."""
    return ServiceError(400, message, param=param, code=code)


def check_unknown(fields: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """400 ``Unknown parameter: 'x'.`` for the first field not in ``allowed``."""
    known = set(allowed)
    for key in fields:
        if key not in known:
            raise bad_request(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")


def check_prompt(value: object, name: str = "prompt", limit: int = MAX_PROMPT_CHARS) -> str:
    """The prompt as given; 400 when missing, not a string, empty or longer than ``limit``."""
    if value is None:
        raise bad_request(
            f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    if not isinstance(value, str):
        raise bad_request(
            f"Invalid type for '{name}': expected a string, but got {_kind(value)} instead.",
            param=name,
            code="invalid_type",
        )
    if len(value) < 1:
        raise bad_request(
            f"Invalid '{name}': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=name,
            code="string_below_min_length",
        )
    if len(value) > limit:
        raise bad_request(
            f"Invalid '{name}': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(value)} instead.",
            param=name,
            code="string_above_max_length",
        )
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Upload):
        return "a file"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else "an unsupported value"


def _all_sizes(profile: Profile) -> list[str]:
    out: list[str] = []
    for spec in profile.known_models:
        out += [s for s in spec.sizes if s not in out]
    return out


def _all_seconds(profile: Profile) -> list[str]:
    out: list[str] = []
    for spec in profile.known_models:
        out += [s for s in spec.seconds if s not in out]
    return sorted(out, key=int)


def check_model(
    value: object, profile: Profile, rules: ServiceRules
) -> tuple[str, ModelSpec | None]:
    """``(model name as given, its spec)``; the spec is None for an open model on a lenient profile."""
    if value is None:
        value = profile.default_model
    if not isinstance(value, str) or not value:
        raise bad_request(
            f"Invalid type for 'model': expected a string, but got {_kind(value)} instead.",
            param="model",
            code="invalid_type",
        )
    spec = profile.offered_spec(value)
    if spec is None and not rules.open_models:
        names: list[str] = []
        for m in profile.known_models:
            names += [m.name, *m.aliases]
        listed = join_and(names)
        if len(names) > 12:  # the extended profile: name the first ones and where the rest are
            listed = join_and([*names[:8], f"{len(names) - 8} more (GET /v1/models lists them)"])
        raise bad_request(
            f"Invalid value: '{value}'. Supported values are: {listed}.",
            param="model",
            code="invalid_value",
        )
    return value, spec


def check_size(value: object, spec: ModelSpec | None, profile: Profile) -> str:
    """The size string; 400 with the profile's sizes when it is not offered."""
    if value is None:
        value = profile.default_size
    if not isinstance(value, str):
        raise bad_request(
            f"Invalid type for 'size': expected a string, but got {_kind(value)} instead.",
            param="size",
            code="invalid_type",
        )
    if value == "auto" and spec is not None and spec.auto:
        return value
    everything = _all_sizes(profile)
    if value not in everything:
        raise bad_request(
            f"Invalid value: '{value}'. Supported values are: {join_and(everything)}.",
            param="size",
            code="invalid_value",
        )
    if spec is not None and value not in spec.sizes:
        raise bad_request(
            f"Invalid value: '{value}'. Supported values for model '{spec.name}' are: "
            f"{join_and(spec.sizes)}.",
            param="size",
            code="invalid_value",
        )
    return value


def check_seconds(
    value: object,
    spec: ModelSpec | None,
    profile: Profile,
    rules: ServiceRules,
    *,
    allowed: Sequence[str] | None = None,
) -> str:
    """The length as a string; 400 for an integer (strict profiles) or a value not offered.

    ``allowed`` overrides the model's lengths (extensions take their own set).
    """
    choices = list(allowed) if allowed else list(spec.seconds if spec else _all_seconds(profile))
    if value is None:
        value = profile.default_seconds
    if isinstance(value, int) and not isinstance(value, bool) and rules.integer_seconds:
        value = str(value)
    if not isinstance(value, str):
        raise bad_request(
            f"Invalid type for 'seconds': expected one of {join_or(choices)}, "
            f"but got {_kind(value)} instead.",
            param="seconds",
            code="invalid_type",
        )
    if value not in choices:
        raise bad_request(
            f"Invalid value: '{value}'. Supported values are: {join_and(choices)}.",
            param="seconds",
            code="invalid_value",
        )
    return value


def check_bool(value: object, name: str) -> bool:
    """A boolean from JSON or a form (``true``/``false``/``1``/``0``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise bad_request(
        f"Invalid type for '{name}': expected a boolean, but got {_kind(value)} instead.",
        param=name,
        code="invalid_type",
    )


def check_upload_type(upload: Upload, name: str, allowed: Sequence[str] = IMAGE_TYPES) -> str:
    """The upload's MIME type; 400 when it is not one of ``allowed``."""
    mime = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if mime not in allowed:
        formats = join_and(allowed)
        raise bad_request(
            f"Invalid file '{name}': unsupported mimetype ('{mime}'). "
            f"Supported file formats are {formats}.",
            param=name,
            code="invalid_value",
        )
    return mime


_DATA_URL = re.compile(r"^data:([\w/+.-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,(.*)$", re.DOTALL)


def decode_data_url(url: str, name: str, max_bytes: int) -> Upload:
    """An `Upload` from a ``data:image/png;base64,…`` URL; 400 when malformed or too big."""
    match = _DATA_URL.match(url)
    if not match or not match.group(3):
        raise bad_request(
            f"Invalid '{name}': expected a base64-encoded data URL such as "
            "'data:image/png;base64,...'.",
            param=name,
            code="invalid_value",
        )
    payload = match.group(4)
    if len(payload) * 3 // 4 > max_bytes:
        raise bad_request(
            f"Invalid '{name}': the image is larger than {max_bytes} bytes.",
            param=name,
            code="invalid_value",
        )
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise bad_request(
            f"Invalid '{name}': the data URL is not valid base64.", param=name, code="invalid_value"
        ) from None
    return Upload(filename=None, content_type=match.group(1) or "text/plain", data=data)


def check_reference_image(
    upload: Upload, size: str, name: str = "input_reference", *, fit: str = "exact"
) -> tuple[int, int]:
    """400 unless ``upload`` is a JPEG, PNG or WebP image of exactly ``size`` pixels (``fit``
    ``exact``), of its aspect ratio (``ratio``) or of any shape (``any``); its pixel size."""
    from PIL import Image, UnidentifiedImageError

    check_upload_type(upload, name)
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            image_size = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise bad_request(
            f"Invalid file '{name}': the image could not be decoded.",
            param=name,
            code="invalid_image",
        ) from None
    if fit == "any" or size == "auto":
        return image_size
    width, _, height = size.partition("x")
    if fit == "ratio":
        if abs(image_size[0] / image_size[1] - int(width) / int(height)) > 0.01:
            raise bad_request(
                "The image's aspect ratio must match the requested size's",
                param=name,
                code="invalid_value",
            )
        return image_size
    if image_size != (int(width), int(height)):
        raise bad_request(
            "Inpaint image must match the requested width and height",
            param=name,
            code="invalid_value",
        )
    return image_size


def parse_limit(raw: str | None, default: int = 20) -> int:
    """The ``limit`` query parameter (0–100); 400 with the service's message otherwise."""
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(
            f"Invalid 'limit': expected an integer, but got '{raw}' instead.",
            param="limit",
            code="invalid_type",
        ) from None
    if limit < 0:
        raise bad_request(
            f"Invalid 'limit': integer below minimum value. Expected a value >= 0, "
            f"but got {limit} instead.",
            param="limit",
            code="integer_below_min_value",
        )
    if limit > 100:
        raise bad_request(
            f"Invalid 'limit': integer above maximum value. Expected a value <= 100, "
            f"but got {limit} instead.",
            param="limit",
            code="integer_above_max_value",
        )
    return limit


def parse_order(raw: str | None) -> str:
    """The ``order`` query parameter, ``desc`` by default; 400 for anything but asc or desc."""
    if raw is None:
        return "desc"
    if raw not in ("asc", "desc"):
        raise bad_request(
            f"Invalid value: '{raw}'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    return raw


def parse_variant(raw: str | None) -> str:
    """The ``variant`` query parameter, ``video`` by default; 400 for an unknown variant."""
    if raw is None:
        return "video"
    if raw not in VARIANTS:
        raise bad_request(
            f"Invalid value: '{raw}'. Supported values are: {join_and(VARIANTS)}.",
            param="variant",
            code="invalid_value",
        )
    return raw
