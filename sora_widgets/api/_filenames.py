"""File names for server-given ids: safe in any folder, readable, and never shared by two ids.

Ids come from servers and may be anything: LiteLLM's are ~280 characters of base64 (``+``, ``/``,
``=``), others hold path separators, NUL or letters that differ only in case. A short, clean id is
its own name; any other id gets a readable prefix and a hash of the whole id.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MAX_CLEAN_ID", "safe_filename", "safe_stem"]

MAX_CLEAN_ID = 64
"""The longest id used as a file name as is."""
_PREFIX_CHARS = 40
_HASH_CHARS = 12

_SUFFIX = {"video": ".mp4", "thumbnail": ".thumbnail.webp", "spritesheet": ".spritesheet.jpg"}
# Lower case only: on a case-insensitive disk (macOS, Windows) "Ab" and "aB" would be one file.
_CLEAN = re.compile(r"[a-z0-9_-]+")
_HASHED_TAIL = re.compile(r"-[0-9a-f]{12}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def _is_clean(video_id: str) -> bool:
    return (
        len(video_id) <= MAX_CLEAN_ID
        and _CLEAN.fullmatch(video_id) is not None
        and _HASHED_TAIL.search(video_id) is None  # could be mistaken for another id's hashed name
        and video_id not in _RESERVED
    )


def safe_stem(video_id: str) -> str:
    """The file name of ``video_id`` without its suffix (see `safe_filename`)."""
    if _is_clean(video_id):
        return video_id
    prefix = _UNSAFE.sub("_", video_id).strip("_-")[:_PREFIX_CHARS].rstrip("_-") or "video"
    digest = hashlib.sha256(video_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}-{digest[:_HASH_CHARS]}"


def safe_filename(video_id: str, variant: str = "video") -> str:
    """A file name for a server-given id and a content variant, e.g. ``video_68d7….mp4``.

    The id itself when it is short (at most 64 characters) and clean (lower-case letters, digits,
    ``_`` and ``-``); otherwise a readable prefix of at most 40 safe characters, ``-`` and 12 hex
    characters of the SHA-256 of the whole id (``video_bGl0ZWxsbTpj…-3f9a0c1d2e4b.mp4``). No name
    can escape its folder (no ``/``, ``..``, NUL or reserved device name), and two ids never
    share one, even on a disk that ignores case. Suffixes: ``.mp4``, ``.thumbnail.webp``,
    ``.spritesheet.jpg`` (``.bin`` for anything else).
    """
    return safe_stem(video_id) + _SUFFIX.get(variant, ".bin")
