"""Small text helpers every layer shares: byte counts and shortened text for people."""

from __future__ import annotations

__all__ = ["human_bytes", "shorten"]


def human_bytes(count: int) -> str:
    """``500 B``, ``1.5 kB``, ``2.3 MB``, ``1.2 GB`` (decimal units, as file browsers show)."""
    if count < 1000:
        return f"{count} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if count < scale * 1000 or unit == "GB":
            return f"{count / scale:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (white space folded), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
