"""Small pieces every part of the panel builds with: layouts, buttons, notes, and closing.

A part of the panel is a widget that owns its children; `close_descendants` is how it closes them
(ipywidgets' own `Widget.close` closes one widget only, leaving its children, layouts and styles
open in the kernel).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from typing import Any

import ipywidgets as w

from ..api import SoraError

__all__ = [
    "LABEL_STYLE",
    "LABEL_WIDTH",
    "button",
    "close_descendants",
    "control",
    "descendants",
    "describe",
    "labelled_toggles",
    "note",
    "wrapping_row",
]

LABEL_WIDTH = "80px"
"""Every control's label has this width and sits beside its control, so the controls line up in
one column (the longest label, "Watermark", fits; a longer extra field's name is cut with an
ellipsis and shown whole in its tooltip)."""
LABEL_STYLE = {"description_width": LABEL_WIDTH}
"""The style of every labelled control of the panel."""


def control(min_width: str = "200px") -> Any:
    """A layout that shares a wrapping row and shrinks to a side panel's width."""
    return w.Layout(flex="1 1 260px", min_width=min_width, max_width="100%", width="auto")


def labelled_toggles() -> Any:
    """The layout of `ToggleButtons` with a label: ipywidgets draws their label above the buttons
    (a block); this puts it beside them, like every other control's (panel.css aligns it)."""
    return w.Layout(
        display="flex", flex_flow="row", align_items="center", width="auto", max_width="100%"
    )


def wrapping_row(children: Iterable[Any], **layout: str) -> Any:
    """An `HBox` whose children wrap onto the next line rather than stick out."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", width="100%", **layout))


def button(label: str, icon: str, tooltip: str, **kwargs: Any) -> Any:
    """A button as wide as its label (its tooltip doubles as its accessible name)."""
    return w.Button(
        description=label,
        icon=icon,
        tooltip=tooltip,
        layout=w.Layout(width="auto", min_width="0"),
        **kwargs,
    )


def note(text: str, kind: str = "info") -> str:
    """An escaped line of text, announced to screen readers (``kind`` "error" as an alert)."""
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<div role="{role}" class="sora-{kind}">{html.escape(text)}</div>'


def describe(exc: BaseException) -> str:
    """A user-facing line for an error: the message of the kit's own and of expected errors,
    the type too for anything else."""
    if isinstance(exc, (SoraError, ValueError, OSError)):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def descendants(root: Any) -> Iterator[Any]:
    """Every widget reachable from ``root`` through its synced traits (children, layout, style,
    a player's …), ``root`` excluded; each once."""
    seen = {id(root)}
    stack = [root]
    while stack:
        widget = stack.pop()
        for name in widget.keys:
            value = getattr(widget, name, None)
            values = value if isinstance(value, (list, tuple)) else (value,)
            for item in values:
                if isinstance(item, w.Widget) and id(item) not in seen:
                    seen.add(id(item))
                    yield item
                    stack.append(item)


def close_descendants(root: Any) -> None:
    """Close every widget under ``root`` (not ``root`` itself), deepest parts' own `close` first
    in the order they are found; closing a closed widget does nothing."""
    for widget in list(descendants(root)):
        widget.close()
