"""Turn whatever a user passes as ``input_reference`` into what the provider expects.

Accepted: a path (``str`` or ``os.PathLike``), ``bytes``, a binary file object, a
``(filename, bytes, mime)`` tuple, a prepared reference (anything with ``data``, ``mime_type`` and
``filename``, such as `sora_widgets.Reference`), a ``{"image_url": …}`` or ``{"file_id": …}`` object,
or an ``http(s)://`` / ``data:`` URL.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._errors import ValidationError

__all__ = [
    "FileReference",
    "PreparedReference",
    "UrlReference",
    "image_dimensions",
    "normalize_reference",
    "sniff_mime",
    "video_file",
]

_ALLOWED_MIME = ("image/jpeg", "image/png", "image/webp")

_SUFFIXES = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
}

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


@runtime_checkable
class PreparedReference(Protocol):
    """What the client needs of a prepared reference image."""

    @property
    def data(self) -> bytes:
        """The encoded image file."""
        ...

    @property
    def mime_type(self) -> str:
        """``image/jpeg``, ``image/png`` or ``image/webp``."""
        ...

    @property
    def filename(self) -> str:
        """The name sent with the upload (its extension matches ``mime_type``)."""
        ...


@dataclass(frozen=True)
class FileReference:
    """An image to upload: true filename and MIME type, never ``application/octet-stream``."""

    filename: str
    data: bytes
    mime_type: str

    def to_data_url(self) -> str:
        """The image as a ``data:`` URL, for providers that take ``image_url`` in JSON."""
        return f"data:{self.mime_type};base64," + base64.b64encode(self.data).decode("ascii")

    def __repr__(self) -> str:
        return f"FileReference({self.filename!r}, {len(self.data)} bytes, {self.mime_type!r})"


@dataclass(frozen=True)
class UrlReference:
    """A reference the provider fetches itself: an ``image_url`` (http(s) or data URL) or ``file_id``."""

    url: str | None = None
    file_id: str | None = None


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type from the first bytes, or None when it is not JPEG, PNG or WebP."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` read from a JPEG, PNG or WebP header, or None if it cannot tell.

    JPEG EXIF orientation is not applied: the API compares stored pixels.
    """
    mime = sniff_mime(data)
    if mime == "image/png" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if mime == "image/webp" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            return (
                int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF,
            )
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(
                data[27:30], "little"
            ) + 1
    if mime == "image/jpeg":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (
                0xC0,
                0xC1,
                0xC2,
                0xC3,
                0xC5,
                0xC6,
                0xC7,
                0xC9,
                0xCA,
                0xCB,
                0xCD,
                0xCE,
                0xCF,
            ):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return width, height
            i += 2 + length
    return None


def _file_reference(name: str, data: bytes, declared: str | None = None) -> FileReference:
    mime = sniff_mime(data) or declared or mimetypes.guess_type(name)[0]
    if not data:
        raise ValidationError(
            f"input_reference {name!r} is empty (0 bytes)", param="input_reference"
        )
    if mime not in _ALLOWED_MIME:
        raise ValidationError(
            f"input_reference {name!r} is not a JPEG, PNG or WebP image"
            + (f" (it looks like {mime})" if mime else "")
            + "; convert it, or pass it through sora_widgets.prepare_reference(…, size)",
            param="input_reference",
        )
    filename = Path(name).name or "reference"
    suffixes = _SUFFIXES[mime]
    if Path(filename).suffix.lower() not in suffixes:
        filename = Path(filename).stem + suffixes[0]
    return FileReference(filename=filename, data=data, mime_type=mime)


def normalize_reference(value: Any) -> FileReference | UrlReference:
    """Normalise any accepted ``input_reference`` form; raises `ValidationError` for the rest."""
    if isinstance(value, (FileReference, UrlReference)):
        return value
    if isinstance(value, PreparedReference) and not isinstance(value, (str, bytes)):
        return _file_reference(str(value.filename), bytes(value.data), str(value.mime_type))
    if isinstance(value, Mapping):
        if set(value) == {"image_url"} and isinstance(value["image_url"], str):
            return UrlReference(url=value["image_url"])
        if set(value) == {"file_id"} and isinstance(value["file_id"], str):
            return UrlReference(file_id=value["file_id"])
        raise ValidationError(
            f"input_reference object {sorted(value)!r} must have exactly one of "
            "'image_url' or 'file_id'",
            param="input_reference",
        )
    if isinstance(value, tuple):
        if len(value) in (2, 3) and isinstance(value[0], str) and isinstance(value[1], bytes):
            declared = value[2] if len(value) == 3 and isinstance(value[2], str) else None
            return _file_reference(value[0], value[1], declared)
        raise ValidationError(
            "input_reference tuple must be (filename, bytes, mime_type)", param="input_reference"
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _file_reference("reference", bytes(value))
    if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
        return UrlReference(url=value)
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ValidationError(
                f"input_reference file {str(path)!r} does not exist (check the path)",
                param="input_reference",
            ) from None
        except OSError as exc:
            raise ValidationError(
                f"input_reference file {str(path)!r} cannot be read: {exc.strerror}",
                param="input_reference",
            ) from None
        return _file_reference(path.name, data)
    read = getattr(value, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes):
            raise ValidationError(
                "input_reference file object must be opened in binary mode ('rb')",
                param="input_reference",
            )
        name = os.path.basename(str(getattr(value, "name", "") or "reference"))
        return _file_reference(name, data)
    raise ValidationError(
        f"input_reference of type {type(value).__name__} is not supported (pass a path, bytes, "
        "a binary file, a (filename, bytes, mime) tuple, a prepared Reference or a URL)",
        param="input_reference",
    )


def video_file(value: Any) -> FileReference:
    """An MP4 to upload (for characters): a path, bytes, a binary file or a (name, bytes, mime) tuple."""
    if isinstance(value, FileReference):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], bytes):
        return FileReference(filename=str(value[0]), data=value[1], mime_type=str(value[2]))
    if isinstance(value, (bytes, bytearray)):
        return FileReference(filename="video.mp4", data=bytes(value), mime_type="video/mp4")
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise ValidationError(f"video file {str(path)!r} does not exist", param="video")
        mime = mimetypes.guess_type(path.name)[0] or "video/mp4"
        return FileReference(filename=path.name, data=path.read_bytes(), mime_type=mime)
    read = getattr(value, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, bytes):
            name = os.path.basename(str(getattr(value, "name", "") or "video.mp4"))
            return FileReference(filename=name, data=data, mime_type="video/mp4")
    raise ValidationError(
        f"video of type {type(value).__name__} is not supported (pass a path, bytes or a binary file)",
        param="video",
    )
