"""What a downloaded body is, by its first bytes, and whether it is the variant that was asked for.

A gateway may ignore ``?variant=`` and send the MP4 for a thumbnail (LiteLLM does), or answer
with an error page under a 200: the bytes are checked before a file is renamed into place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._errors import APIConnectionError, UnsupportedError

__all__ = ["HEAD_BYTES", "VARIANT_KINDS", "check_content", "sniff_kind"]

HEAD_BYTES = 32
"""How many leading bytes `sniff_kind` needs."""

VARIANT_KINDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "video": frozenset({"mp4", "webm"}),
        "thumbnail": frozenset({"webp", "png", "jpeg"}),
        "spritesheet": frozenset({"jpeg", "png", "webp"}),
    }
)
"""The kinds of body (see `sniff_kind`) each content variant may be."""

_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_KIND_NAMES = {
    "mp4": "an MP4 video",
    "webm": "a WebM video",
    "webp": "a WebP image",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "json": "JSON",
    "html": "an HTML page",
}
_WANTED_NAMES = {
    "video": "an MP4 video",
    "thumbnail": "a WebP (or PNG/JPEG) image",
    "spritesheet": "a JPEG (or PNG/WebP) image",
}


def sniff_kind(head: bytes) -> str | None:
    """The kind of a body from its first bytes: ``mp4``, ``webm``, ``webp``, ``png``, ``jpeg``,
    ``gif``, ``json``, ``html``, or None when the bytes say nothing the kit knows."""
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    text = head.lstrip().lower()
    if text.startswith((b"{", b"[")):
        return "json"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    return None


def check_content(
    variant: str, head: bytes, size: int, content_type: str = "", gateway: str | None = None
) -> None:
    """Raise unless a body that begins with ``head`` (``size`` bytes in all) is ``variant``.

    A thumbnail or spritesheet must carry an image signature: anything else (typically the MP4,
    sent by a gateway that ignores ``variant``) is `UnsupportedError` with capability
    ``variants``. A video must not be another known kind; bytes the kit cannot recognise pass
    only when the server labelled them ``video/*``; otherwise `APIConnectionError`.
    ``gateway`` names the server in the message (see `detect_profile`).
    """
    kinds = VARIANT_KINDS.get(variant)
    if kinds is None:
        return
    kind = sniff_kind(head)
    if kind in kinds:
        return
    media = content_type.split(";")[0].strip().lower()
    if variant == "video" and kind is None and media.startswith("video/"):
        return
    got = _KIND_NAMES.get(kind or "", f"{size:,} bytes the kit does not recognise")
    if kind is not None:
        got += f" ({size:,} bytes)"
    who = f"this gateway ({gateway})" if gateway else "the server"
    if variant == "video":
        raise APIConnectionError(
            f"{who} sent {got} as the video, not {_WANTED_NAMES['video']}; nothing was saved "
            "(is the base URL a /v1/videos API? download again later)"
        )
    raise UnsupportedError(
        f"{who} ignores variant={variant} and sent {got} instead of "
        f"{_WANTED_NAMES[variant]}; nothing was saved. Make the {variant} from the video "
        "(the kit does this when it downloads a job)",
        capability="variants",
        status_code=200,
    )
