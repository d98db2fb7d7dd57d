"""Text laid out by measured width: shared by the emulator's captions and the reference preview's
labels (each measures with its own font; nothing here knows of Pillow)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["wrap_to_width"]


def wrap_to_width(
    text: str, measure: Callable[[str], float], width: float, max_lines: int | None = None
) -> list[str]:
    """``text`` in lines no wider than ``width`` by ``measure``: broken at spaces, inside a word
    only when the word alone is wider than a line. Past ``max_lines`` the last line ends in "…".
    An empty text is one empty line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word wider than a line is split where it must be
            if line and measure(line + char) > width:
                lines.append(line)
                line = ""
            line += char
        if max_lines is not None and len(lines) > max_lines:
            break  # the rest would never be shown
    if line or not lines:
        lines.append(line)
    if max_lines is not None and len(lines) > max_lines:
        last = lines[max_lines - 1] + "…"
        while len(last) > 1 and measure(last) > width:
            last = last[:-2].rstrip() + "…"
        lines = [*lines[: max_lines - 1], last]
    return lines
