"""`HistoryGallery` and `HistoryItem`: this provider's past jobs from the ledger, as thumbnails.

The gallery reads the process's one ledger connection (`jobs.ledger_for`) and makes a small JPEG
of each job's thumbnail, so the saved notebook holds a few KB per item and never a video.
"""

from __future__ import annotations

import concurrent.futures
import html
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from .. import jobs
from .._units import shorten
from ..config import Settings
from ..ledger import LedgerRow
from ..media import poster_jpeg
from ..status import JobStatus
from ._widgets import button, close_descendants, describe, note
from ._workers import spawn

__all__ = ["THUMBNAIL_PX", "HistoryGallery", "HistoryItem"]

THUMBNAIL_PX = 160
"""History thumbnails are downscaled to fit this many pixels (a few KB of JPEG each)."""


class HistoryItem:
    """One past job in the gallery: its thumbnail, a button that opens it, a line of facts.

    ``open_job`` is called with the job's id by the button and by `open`; ``say`` shows an error.
    Its widget is ``root`` (an item is not itself a widget: ``open`` is its action's name).
    """

    def __init__(
        self,
        row: LedgerRow,
        thumbnail: bytes | None,
        *,
        open_job: Callable[[str], Any],
        say: Callable[[str, str], None],
    ) -> None:
        self.row = row
        """The job's `LedgerRow`."""
        self._open_job = open_job
        prompt = row.prompt or ""
        self.button = w.Button(
            description=shorten(prompt or row.id, 22),
            icon="play" if row.status == JobStatus.COMPLETED else "info-circle",
            tooltip=f"Open {row.id}: {shorten(prompt, 200)}",
            layout=w.Layout(width=f"{THUMBNAIL_PX}px"),
        )

        def clicked(_button: Any) -> None:
            try:
                self.open()
            except Exception as exc:
                say(describe(exc), "error")

        self.button.on_click(clicked)
        if thumbnail:
            picture: Any = w.Image(
                value=thumbnail,
                format="jpeg",
                layout=w.Layout(max_width=f"{THUMBNAIL_PX}px", height="auto"),
            )
        else:
            picture = w.HTML(
                f'<div style="width:{THUMBNAIL_PX}px;height:90px;display:flex;'
                "align-items:center;justify-content:center;background:var(--jp-layout-color2,#eee)"
                f'">{html.escape(row.status)}</div>'
            )
        details = " · ".join(
            x for x in (row.status, row.model or "", row.size or "", f"{row.seconds or '?'} s") if x
        )
        self.select = w.Checkbox(
            value=False,
            description="compare",
            indent=False,
            disabled=row.status != JobStatus.COMPLETED,
            tooltip="Tick 2 to 9 finished videos, then Compare: they play together",
            layout=w.Layout(width="auto"),
        )
        """Ticked to take part in the gallery's Compare (finished videos only)."""
        self.root = w.VBox(
            [
                picture,
                self.button,
                w.HTML(f'<div class="sora-count">{html.escape(details)}</div>'),
                self.select,
            ],
            layout=w.Layout(width=f"{THUMBNAIL_PX + 8}px", margin="2px"),
        )
        """The item's widget: thumbnail, button, facts."""
        self.root.add_class("sora-history-item")

    def open(self) -> Any:
        """Open this job in a card (as the button does); returns what ``open_job`` returns (the
        panel's `JobCard`)."""
        return self._open_job(self.row.id)

    def close(self) -> None:
        """Close the item's widgets."""
        close_descendants(self.root)
        self.root.close()

    def __repr__(self) -> str:
        return f"HistoryItem({self.row.id!r}, {self.row.status!r})"


def _thumbnail(row: LedgerRow) -> bytes | None:
    path = row.thumbnail_path
    if not path or not Path(path).exists():
        return None
    return poster_jpeg(path, THUMBNAIL_PX, THUMBNAIL_PX)


class HistoryGallery(w.VBox):  # type: ignore[misc]
    """Past jobs of the provider, newest first (deleted and never-created ones left out), at most
    ``size`` of them; Refresh reloads.

    ``settings`` gives the settings whose ledger and provider to read (it may block the first
    time); ``open_job`` opens a job by id (the panel's `SoraPanel.open_job`); ``say`` shows a
    user-facing line and its kind.
    """

    def __init__(
        self,
        size: int,
        *,
        settings: Callable[[], Settings],
        open_job: Callable[[str], Any],
        say: Callable[[str, str], None],
    ) -> None:
        self.size = size
        """How many past jobs to show."""
        self.items: list[HistoryItem] = []
        """The items shown, newest first."""
        self._settings = settings
        self._open_job = open_job
        self._say = say
        self._lock = threading.Lock()
        self._generation = 0
        self._closed = False
        self.heading = w.HTML("<b>History</b>")
        self.refresh_button = button(
            "Refresh", "refresh", "Reload this provider's past jobs from the ledger"
        )
        self.refresh_button.on_click(lambda _b: self.load_later())
        self.compare_button = button(
            "Compare", "columns", "Play the ticked videos side by side, together (2 to 9)"
        )
        self.compare_button.disabled = True
        self.compare_button.on_click(lambda _b: self.compare_selected())
        self.compare_view = w.Output(layout=w.Layout(width="100%"))
        """Where Compare shows its grid."""
        self.empty = w.HTML()
        self.grid = w.Box(layout=w.Layout(flex_flow="row wrap", width="100%"))
        super().__init__(
            [
                w.HBox(
                    [self.heading, self.refresh_button, self.compare_button],
                    layout=w.Layout(align_items="center"),
                ),
                self.empty,
                self.grid,
                self.compare_view,
            ],
            layout=w.Layout(width="100%"),
        )

    @property
    def selected(self) -> list[HistoryItem]:
        """The items ticked for Compare, in the gallery's order."""
        return [item for item in self.items if item.select.value]

    def _selection_changed(self, _change: Any = None) -> None:
        count = len(self.selected)
        self.compare_button.disabled = not 2 <= count <= 9
        self.compare_button.description = f"Compare {count}" if count else "Compare"

    def compare_selected(self) -> concurrent.futures.Future[Any]:
        """Show the ticked videos in one synchronized grid under the gallery (downloading any
        that are not on disk); the Future gives the grid's bundle. Errors are shown in the panel."""
        rows = [item.row for item in self.selected]

        def work() -> Any:
            from ..compare import compare

            settings = self._settings()
            found = [jobs.find_job(row.id, settings) for row in rows]
            for job in found:
                jobs.download(job).result()
            bundle = compare(*found)
            self.compare_view.outputs = ()
            self.compare_view.append_display_data(bundle)
            return bundle

        return spawn(work, lambda text: self._say(text, "error"))

    def load(self) -> list[HistoryItem]:
        """Read the ledger and rebuild the gallery (blocking: call it on a worker thread); returns
        the items shown. Raises `SoraError` when the settings cannot be resolved."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        settings = self._settings()
        recent = jobs.ledger_for(settings).recent(self.size * 3, provider=settings.provider)
        rows = [r for r in recent if not r.pending and r.status != JobStatus.DELETED][: self.size]
        cannot_list = jobs.capability(settings, "list") is False
        items = [
            HistoryItem(row, _thumbnail(row), open_job=self._open_job, say=self._say)
            for row in rows
        ]
        with self._lock:
            if generation != self._generation or self._closed:
                stale = items  # a newer load (or close) wins
            else:
                stale, self.items = self.items, items
                self.grid.children = tuple(item.root for item in items)
                for item in items:
                    item.select.observe(self._selection_changed, names="value")
                self._selection_changed()
                empty = "" if items else f"No jobs yet for {settings.provider}."
                if cannot_list:  # where the gallery's jobs come from, when the provider can't say
                    empty = (
                        f"{jobs.capability_reason(settings, 'list')}: shown are the jobs this "
                        f"machine's ledger knows. {empty}"
                    ).strip()
                self.empty.value = note(empty) if empty else ""
        for item in stale:
            item.close()
        return items

    def load_later(self) -> concurrent.futures.Future[list[HistoryItem]]:
        """`load` on a worker thread; its error is shown in the panel and kept in the Future."""
        return spawn(self.load, lambda text: self._say(text, "error"))

    def close(self) -> None:
        """Close the gallery and every item in it; a load under way shows nothing."""
        with self._lock:
            self._closed = True
            items, self.items = self.items, []
        for item in items:
            item.close()
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return f"HistoryGallery({len(self.items)} items)"
