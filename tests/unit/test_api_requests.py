"""Request building for every endpoint and every input_reference form."""

from __future__ import annotations

import io
import json
import struct
import zlib
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest

from sora_widgets.api import ValidationError, get_profile, image_dimensions
from sora_widgets.api._references import video_file
from sora_widgets.api._requests import (
    RequestSpec,
    build_content,
    build_create,
    build_delete,
    build_edit,
    build_extend,
    build_get_character,
    build_list,
    build_make_character,
    build_remix,
    build_retrieve,
    error_from_response,
)


def png(width: int, height: int) -> bytes:
    """A valid (tiny-bodied) PNG header of the given size; enough for dimension sniffing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def jpeg(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + sof + b"\xff\xd9"


def parts(spec: RequestSpec) -> dict[str, tuple[str | None, str | None, bytes]]:
    """Decode a multipart body: name → (filename, content type, payload)."""
    body, headers = spec.encode()
    assert body is not None
    raw = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    message = BytesParser(policy=HTTP).parsebytes(raw)
    out: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        ctype = part.get_content_type() if part.get_filename() else None
        out[name] = (part.get_filename(), ctype, payload)
    return out


OPENAI = get_profile("openai")
RELAY = get_profile("relay")


def test_create_without_file_is_multipart_like_the_sdk() -> None:
    spec, params = build_create(OPENAI, prompt="a cat", size="1280x720", seconds=8)
    assert (spec.method, spec.path) == ("POST", "videos")
    fields = parts(spec)
    assert {k: v[2].decode() for k, v in fields.items()} == {
        "prompt": "a cat",
        "model": "sora-2",
        "size": "1280x720",
        "seconds": "8",
    }
    assert params.seconds == "8"


def test_create_defaults_come_from_profile() -> None:
    _, params = build_create(OPENAI, prompt="x")
    assert (params.model, params.size, params.seconds) == ("sora-2", "720x1280", "4")


@pytest.mark.parametrize("form", ["path", "str", "bytes", "file", "tuple", "prepared"])
def test_every_file_form_uploads_with_true_name_and_mime(form: str, tmp_path: Path) -> None:
    data = png(1280, 720)
    path = tmp_path / "ref.png"
    path.write_bytes(data)

    class Prepared:
        def __init__(self) -> None:
            self.data = data
            self.mime_type = "image/png"
            self.filename = "reference-1280x720.png"

    value: Any = {
        "path": path,
        "str": str(path),
        "bytes": data,
        "file": io.BytesIO(data),
        "tuple": ("ref.png", data, "image/png"),
        "prepared": Prepared(),
    }[form]
    spec, _ = build_create(OPENAI, prompt="x", size="1280x720", input_reference=value)
    filename, ctype, payload = parts(spec)["input_reference"]
    assert payload == data
    assert ctype == "image/png"
    assert filename is not None and filename.endswith(".png")


def test_open_file_keeps_its_name(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(jpeg(720, 1280))
    with path.open("rb") as handle:
        spec, _ = build_create(OPENAI, prompt="x", input_reference=handle)
    assert parts(spec)["input_reference"][:2] == ("holiday.jpg", "image/jpeg")


def test_wrong_extension_is_corrected_from_content() -> None:
    spec, _ = build_create(OPENAI, prompt="x", input_reference=("photo.bin", jpeg(720, 1280), None))  # type: ignore[arg-type]
    assert parts(spec)["input_reference"][:2] == ("photo.jpg", "image/jpeg")


def test_url_reference_openai_goes_as_bracketed_object() -> None:
    spec, _ = build_create(OPENAI, prompt="x", input_reference="https://example.test/a.png")
    assert parts(spec)["input_reference[image_url]"][2] == b"https://example.test/a.png"


def test_object_reference_is_not_refused_client_side() -> None:
    spec, _ = build_create(OPENAI, prompt="x", input_reference={"file_id": "file-123"})
    assert parts(spec)["input_reference[file_id]"][2] == b"file-123"


def test_relay_sends_json_with_url_string_and_extras() -> None:
    spec, _ = build_create(
        RELAY,
        prompt="x",
        model="sora-2-pro",
        size="1920x1080",
        seconds=15,
        input_reference="https://example.test/a.png",
        extra_body={"watermark": False},
    )
    body, headers = spec.encode()
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body or b"") == {
        "prompt": "x",
        "model": "sora-2-pro",
        "size": "1920x1080",
        "seconds": "15",
        "watermark": False,
        "input_reference": "https://example.test/a.png",
    }


def test_relay_file_still_uploads_and_watermark_is_form_text() -> None:
    spec, _ = build_create(
        RELAY, prompt="x", input_reference=png(720, 1280), extra_body={"watermark": False}
    )
    fields = parts(spec)
    assert fields["watermark"][2] == b"false"
    assert fields["input_reference"][1] == "image/png"


def test_object_form_profile_sends_data_url() -> None:
    profile = OPENAI.with_(reference_form="object", body_encoding="json")
    spec, _ = build_create(profile, prompt="x", input_reference=png(720, 1280))
    body = json.loads(spec.encode()[0] or b"")
    assert body["input_reference"]["image_url"].startswith("data:image/png;base64,")


def test_reference_of_wrong_pixel_size_refused_before_sending() -> None:
    with pytest.raises(ValidationError) as info:
        build_create(OPENAI, prompt="x", size="1280x720", input_reference=png(1024, 768))
    assert "1024x768" in str(info.value) and "prepare_reference" in str(info.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"GIF89a....", "not a JPEG, PNG or WebP"),
        (b"", "empty"),
        (12, "not supported"),
        ({"image_url": "a", "file_id": "b"}, "exactly one"),
        ("/no/such/file.png", "does not exist"),
    ],
)
def test_bad_references_are_clear(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_create(OPENAI, prompt="x", input_reference=value)


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png(720, 1280))
    with path.open("r", encoding="latin-1") as handle, pytest.raises(ValidationError, match="'rb'"):
        build_create(OPENAI, prompt="x", input_reference=handle)


def test_invalid_values_never_reach_the_wire() -> None:
    with pytest.raises(ValidationError, match="seconds"):
        build_create(OPENAI, prompt="x", seconds=True)
    with pytest.raises(ValidationError, match="size"):
        build_create(OPENAI, prompt="x", size="1920x1080")
    spec, _ = build_create(OPENAI, prompt="x", size="1920x1080", validate=False)
    assert parts(spec)["size"][2] == b"1920x1080"


def test_simple_endpoints() -> None:
    assert build_retrieve("video_1").path == "videos/video_1"
    assert build_retrieve("../../etc").path == "videos/..%2F..%2Fetc"
    assert build_delete("video_1").method == "DELETE"
    assert build_list(limit=5, after="video_1", order="asc").params == {
        "limit": "5",
        "after": "video_1",
        "order": "asc",
    }
    assert build_list().params is None
    content = build_content("video_1", "thumbnail")
    assert content.path == "videos/video_1/content" and content.params == {"variant": "thumbnail"}
    assert build_content("video_1").params is None
    remix = build_remix("video_1", prompt="now at night")
    assert (remix.path, remix.json) == ("videos/video_1/remix", {"prompt": "now at night"})
    assert build_edit(prompt="p", video="video_1").json == {
        "prompt": "p",
        "video": {"id": "video_1"},
    }
    assert build_extend(prompt="p", seconds=8, video={"id": "video_1"}).json == {
        "prompt": "p",
        "seconds": "8",
        "video": {"id": "video_1"},
    }
    character = build_make_character(
        name="Rex", video=video_file(("rex.mp4", b"\0\0", "video/mp4"))
    )
    assert character.path == "videos/characters"
    assert parts(character)["video"][:2] == ("rex.mp4", "video/mp4")
    assert build_get_character("char_1").path == "videos/characters/char_1"


@pytest.mark.parametrize(
    "call",
    [
        lambda: build_list(limit=101),
        lambda: build_list(order="up"),
        lambda: build_content("v", "poster"),
        lambda: build_retrieve(""),
        lambda: build_make_character(name="x" * 81, video=video_file(b"1")),
        lambda: build_extend(prompt="p", seconds="long", video="v"),
        lambda: build_edit(prompt="p", video=3),
    ],
)
def test_builder_errors(call: Any) -> None:
    with pytest.raises(ValidationError):
        call()


def test_image_dimensions() -> None:
    assert image_dimensions(png(1792, 1024)) == (1792, 1024)
    assert image_dimensions(jpeg(720, 1280)) == (720, 1280)
    assert image_dimensions(b"nonsense") is None


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers or {})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
        (422, "BadRequestError"),
        (429, "RateLimitError"),
        (500, "ServerError"),
        (503, "ServerError"),
    ],
)
def test_error_mapping(status: int, cls: str) -> None:
    envelope = {
        "error": {
            "message": "Invalid value: '10'. Supported values are: '4', '8', and '12'.",
            "type": "invalid_request_error",
            "param": "seconds",
            "code": None,
        }
    }
    error = error_from_response(
        build_retrieve("v"),
        _response(
            status, json.dumps(envelope).encode(), {"x-request-id": "req_1", "retry-after": "3"}
        ),
    )
    assert type(error).__name__ == cls
    assert error.status_code == status and error.param == "seconds" and error.request_id == "req_1"
    assert error.type == "invalid_request_error"
    assert "Supported values are" in str(error)
    if status == 429:
        assert error.retry_after == 3.0  # type: ignore[attr-defined]


def test_html_error_page_from_proxy_is_readable() -> None:
    error = error_from_response(
        build_retrieve("v"), _response(502, b"<html><body>Bad gateway</body></html>")
    )
    assert (
        error.status_code == 502 and "Bad gateway" in str(error) and "GET /videos/v" in str(error)
    )
