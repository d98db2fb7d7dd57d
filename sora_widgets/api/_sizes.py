"""Sizes as people write them: pixels (``1280x720``), ratios (``16:9``), tiers (``720p``), ``auto``
and orientation words (``landscape``, ``portrait``, ``square``).

Pure functions: no model knowledge here (see `ModelSpec.resolve_size` for how a model maps one
onto its own pixel sizes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from ._errors import ValidationError

__all__ = [
    "ORIENTATIONS",
    "SizeKind",
    "SizeText",
    "nominal_pixels",
    "orientation",
    "parse_size",
    "ratio_of",
    "read_size",
    "size_tier",
]

SizeKind = Literal["pixels", "ratio", "tier", "auto", "orientation"]

ORIENTATIONS = ("landscape", "portrait", "square")

_SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$")
_RATIO_RE = re.compile(r"^\s*(\d{1,5})\s*:\s*(\d{1,5})\s*$")
_TIER_RE = re.compile(r"^\s*(\d{3,4})\s*[pP]\s*$|^\s*([1-8])\s*[kK]\s*$")

_K_TIERS = {"2k": 1440, "4k": 2160, "8k": 4320}


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    """``"1280x720"`` or ``(1280, 720)`` → ``(1280, 720)``; raises `ValidationError` otherwise."""
    if isinstance(size, tuple):
        if len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
            return size[0], size[1]
    elif isinstance(size, str):
        match = _SIZE_RE.match(size)
        if match:
            return int(match.group(1)), int(match.group(2))
    raise ValidationError(
        f"size {size!r} is not WIDTHxHEIGHT (write it like '1280x720' or (1280, 720))",
        param="size",
    )


def orientation(size: str) -> str:
    """``landscape``, ``portrait`` or ``square`` for a ``WxH`` size or a ``W:H`` ratio; ``""``
    for anything else."""
    text = read_size(size) if isinstance(size, str) else None
    if text is None or text.kind not in ("pixels", "ratio"):
        return ""
    w, h = text.numbers
    return "landscape" if w > h else "portrait" if h > w else "square"


def ratio_of(width: int, height: int) -> str:
    """The reduced ``W:H`` of a size: ``1280x720`` → ``16:9``; sizes within 1.2 % of a standard
    ratio snap to it, as they are sold (``854x480`` → ``16:9``, Runway's ``1584x672`` → ``21:9``),
    others keep their own (``1792x1024`` → ``7:4``)."""
    divisor = math.gcd(width, height)
    exact = f"{width // divisor}:{height // divisor}"
    for known in ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "3:2", "2:3"):
        a, b = (int(v) for v in known.split(":"))
        if abs(math.log((width / height) / (a / b))) < 0.012 and exact != known:
            return known
    return exact


def size_tier(size: str) -> str | None:
    """The resolution tier of a ``WxH`` size by its short side (``720p``, ``1080p``, ``4k`` …)."""
    try:
        width, height = parse_size(size)
    except ValidationError:
        return None
    short = min(width, height)
    if short >= 2160:
        return "4k"
    if short >= 1440:
        return "2k"
    return f"{short}p"


def _tier_short_side(tier: str) -> int:
    tier = tier.lower()
    return _K_TIERS[tier] if tier in _K_TIERS else int(tier.rstrip("p"))


@dataclass(frozen=True)
class SizeText:
    """A size as written, read: its kind and its canonical spelling."""

    kind: SizeKind
    text: str
    """Canonical: ``1280x720``, ``16:9``, ``720p``/``4k``, ``auto``, ``landscape``."""
    numbers: tuple[int, int] = (0, 0)
    """Width and height (pixels or ratio terms); the short side twice for a tier."""


def read_size(size: object) -> SizeText | None:
    """What ``size`` is (`SizeText`), or None when it is none of the kinds."""
    if isinstance(size, tuple):
        try:
            w, h = parse_size(size)
        except ValidationError:
            return None
        return SizeText("pixels", f"{w}x{h}", (w, h))
    if not isinstance(size, str):
        return None
    if match := _SIZE_RE.match(size):
        w, h = int(match.group(1)), int(match.group(2))
        return SizeText("pixels", f"{w}x{h}", (w, h))
    if match := _RATIO_RE.match(size):
        w, h = int(match.group(1)), int(match.group(2))
        if w == 0 or h == 0:
            return None
        return SizeText("ratio", f"{w}:{h}", (w, h))
    if match := _TIER_RE.match(size):
        tier = f"{match.group(1)}p" if match.group(1) else f"{match.group(2)}k"
        short = _tier_short_side(tier)
        return SizeText("tier", tier, (short, short))
    word = size.strip().lower()
    if word == "auto":
        return SizeText("auto", "auto")
    if word in ORIENTATIONS:
        return SizeText("orientation", word)
    return None


def nominal_pixels(size: str, *, landscape: bool = True) -> tuple[int, int] | None:
    """A pixel size for a size that has none of its own, for fitting a reference when the model
    is unknown: a ratio at 720 on its short side, a tier at 16:9 (9:16 when not ``landscape``),
    an orientation word at 720p. None for ``auto``."""
    text = read_size(size)
    if text is None or text.kind == "auto":
        return None
    if text.kind == "pixels":
        return text.numbers
    if text.kind == "ratio":
        w, h = text.numbers
        scale = 720 / min(w, h)
        return _even(w * scale), _even(h * scale)
    if text.kind == "tier":
        short = text.numbers[0]
        long = _even(short * 16 / 9)
        return (long, short) if landscape else (short, long)
    return {"landscape": (1280, 720), "portrait": (720, 1280), "square": (720, 720)}[text.text]


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)
