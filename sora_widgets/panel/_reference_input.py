"""`ReferenceInput`: the image a video starts from — upload, fit, focus, and a live preview.

The reference is fitted to the video's size on a worker thread whenever the source, the size, the
fit or the focus change; only the newest fitting is shown. The upload widget is emptied as soon as
its bytes are read, so a saved notebook never holds them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .._units import human_bytes, shorten
from ..api import ReferenceImageError, ValidationError
from ._widgets import (
    LABEL_STYLE,
    button,
    close_descendants,
    control,
    labelled_toggles,
    note,
    wrapping_row,
)
from ._workers import done, spawn

if TYPE_CHECKING:
    from PIL import Image

    from ..reference import Reference

__all__ = ["FITS", "UPLOAD_LIMIT_BYTES", "ReferenceInput"]

UPLOAD_LIMIT_BYTES = 20_000_000
"""Largest reference upload the panel reads; a larger one is refused with its name and size."""
FITS = (("cover", "cover"), ("contain", "contain"), ("stretch", "stretch"))
_FIT_TIPS = (
    "fill the frame, cropping around the focus point",
    "show the whole image, with bars",
    "scale width and height separately",
)


def _focus_slider(value: float, axis: str, span: str) -> Any:
    return w.FloatSlider(
        value=value,
        min=0.0,
        max=1.0,
        step=0.05,
        description=f"Focus {axis}",
        tooltip=f"With cover: the point kept in frame, from {span}",
        continuous_update=False,
        readout_format=".2f",
        layout=control(),
        style=LABEL_STYLE,
    )


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: anything but letters, digits, space, ``.-_:`` escaped
    (``\\3c `` …), so a file name can never end the string or the ``<style>`` element."""
    safe = "".join(c if c.isalnum() or c in " .-_:" else f"\\{ord(c):x} " for c in text)
    return f'"{safe}"'


def _label_css(upload_class: str, label: str) -> str:
    """The upload button's text. ipywidgets writes ``<description> (<number of files>)`` on it,
    and the panel empties its value as soon as it is read, so it would always say "(0)": this
    hides that text and shows ``label`` (the description too, for assistive technology)."""
    button = f".jupyter-widgets.widget-upload.{upload_class}"
    size = "var(--jp-widgets-font-size, 13px)"
    return (
        f"<style>{button}{{font-size:0}}"
        f"{button} i.fa{{font-size:{size};margin-right:6px}}"
        f"{button}::after{{content:{_css_string(label)};font-size:{size}}}</style>"
    )


def _same_bytes(a: Any, b: Any) -> bool:
    """True when both are the same encoded image (an upload the browser sent again)."""
    return isinstance(a, bytes) and isinstance(b, bytes) and a == b


class ReferenceInput(w.VBox):  # type: ignore[misc]
    """Upload, Remove reference, Fit, Focus, and the preview of the image as it will be sent.

    ``size`` is the video size the reference is fitted to (set `size` when it changes).
    ``on_change`` is called with no argument whenever `reference` or `error` may have changed;
    ``say`` gets a user-facing line and its kind ("info" or "error").
    """

    def __init__(
        self,
        *,
        size: str,
        fit: str = "cover",
        focus: tuple[float, float] = (0.5, 0.5),
        on_change: Callable[[], object],
        say: Callable[[str, str], None],
    ) -> None:
        if fit not in dict(FITS):
            raise ValidationError(
                f"fit {fit!r} is not known (choose 'cover', 'contain' or 'stretch')", param="fit"
            )
        self._size = size
        self._on_change = on_change
        self._say = say
        self._lock = threading.RLock()
        self._source: Any = None
        self._name: str | None = None
        self._reference: Reference | None = None
        self._keyed: tuple[Any, ...] | None = None
        self._error: str | None = None
        self._generation = 0
        self._future: concurrent.futures.Future[Any] | None = None
        self._locked = False
        self._closed = False
        self.upload_limit = UPLOAD_LIMIT_BYTES
        """Largest upload read, in bytes."""
        self.upload = w.FileUpload(
            accept="image/*",
            multiple=False,
            description="Reference image",
            tooltip=(
                "An image the video starts from; it is fitted to the chosen size "
                f"(up to {human_bytes(UPLOAD_LIMIT_BYTES)})"
            ),
            icon="upload",
            layout=w.Layout(width="auto", max_width="100%"),
        )
        self._upload_class = f"sora-upload-{self.upload.model_id}"
        self.upload.add_class(self._upload_class)
        self.upload_style = w.HTML(layout=w.Layout(display="none"))
        """The rule that writes `upload_label` on the upload button (a `<style>`, shown nowhere)."""
        self.clear_reference = button(
            "Remove reference", "times", "Send no reference image", disabled=True
        )
        self.fit = w.ToggleButtons(
            options=FITS,
            value=fit,
            description="Fit",
            tooltips=list(_FIT_TIPS),
            tooltip="How the reference is fitted to the size",
            style={**LABEL_STYLE, "button_width": "auto"},
            layout=labelled_toggles(),
        )
        self.focus_x = _focus_slider(focus[0], "↔", "the left edge (0) to the right (1)")
        self.focus_y = _focus_slider(focus[1], "↕", "the top edge (0) to the bottom (1)")
        self.reference_options = w.VBox(
            [self.fit, wrapping_row([self.focus_x, self.focus_y])],
            layout=w.Layout(width="100%", display="none"),
        )
        """Fit and Focus: shown only while a reference is chosen."""
        self.reference_preview = w.Image(
            format="png", layout=w.Layout(display="none", max_width="100%", width="auto")
        )
        self.reference_preview.add_class("sora-reference-preview")
        self.reference_caption = w.HTML()
        super().__init__(
            [
                wrapping_row(
                    [self.upload, self.clear_reference, self.upload_style], align_items="center"
                ),
                self.reference_options,
                self.reference_preview,
                self.reference_caption,
            ],
            layout=w.Layout(width="100%"),
        )
        for widget in (self.fit, self.focus_x, self.focus_y):
            widget.observe(self._option_changed, names="value")
        self.upload.observe(self._upload_changed, names="value")
        self.clear_reference.on_click(lambda _b: self.remove_reference())
        self._update_focus()
        self._show_controls()

    # -- reading -------------------------------------------------------------------------------

    @property
    def reference(self) -> Reference | None:
        """The reference as it will be sent (fitted to the current size), or None.

        Waits for a fitting under way; fits again if the options changed since.
        """
        future = self._future
        if future is not None:
            with contextlib.suppress(Exception):  # shown in the panel already
                future.result(120)
        with self._lock:
            if self._source is None:
                return None
            if self._reference is not None and self._keyed == self._key():
                return self._reference
            self._generation += 1
            generation = self._generation
        return self._build(generation)

    @property
    def error(self) -> str | None:
        """Why the chosen image cannot be sent (unreadable, too large), or None."""
        return self._error

    @property
    def upload_label(self) -> str:
        """What the upload button says: ``Reference image`` with none, ``Reference: harbour.jpg``
        (or ``Change reference`` for a picture with no name) while one is in use."""
        with self._lock:
            source, name = self._source, self._name
        if source is None:
            return "Reference image"
        if (
            not name
            and isinstance(source, (str, os.PathLike))
            and not str(source).startswith("data:")
        ):
            name = str(source).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        return f"Reference: {shorten(name, 40)}" if name else "Change reference"

    @property
    def has_source(self) -> bool:
        """True when an image is chosen (even one that could not be read)."""
        return self._source is not None or self._error is not None

    # -- choosing ------------------------------------------------------------------------------

    @property
    def size(self) -> str:
        """The video size the reference is fitted to; setting it fits the reference again."""
        return self._size

    @size.setter
    def size(self, value: str) -> None:
        if value != self._size:
            self._size = value
            self._refit()

    def set_reference(self, source: Any, name: str | None = None) -> concurrent.futures.Future[Any]:
        """Use ``source`` (anything `prepare_reference` reads) as the reference; returns a Future
        of the fitted `Reference` (or None when it could not be read: see `error`)."""
        return self._set_source(source, name)

    def remove_reference(self) -> None:
        """Send no reference image."""
        self._set_source(None, None)

    def use_frame(
        self, frame: concurrent.futures.Future[Image.Image], name: str
    ) -> concurrent.futures.Future[Reference | None]:
        """Use the picture ``frame`` will give (e.g. a video's last frame) as the reference; the
        Future gives the fitted `Reference`."""

        def work() -> Reference | None:
            image = frame.result()
            with self._lock:
                self._source, self._name = image, name
                self._reference = self._keyed = self._error = None
                self._generation += 1
                generation = self._generation
            self.clear_reference.disabled = False
            self._show_controls()
            return self._build(generation)

        future = spawn(work, lambda text: self._say(text, "error"))
        self._future = future
        return future

    def lock(self, locked: bool) -> None:
        """Disable choosing (upload, fit, focus) while the panel remixes, or enable it again."""
        self._locked = locked
        self.upload.disabled = self.fit.disabled = locked
        self._update_focus()

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the fitting under way, if any (its error stays shown, not raised)."""
        future = self._future
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout)

    # -- fitting -------------------------------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (
            self._size,
            str(self.fit.value),
            round(float(self.focus_x.value), 3),
            round(float(self.focus_y.value), 3),
        )

    def _show_controls(self) -> None:
        """Show Remove, Fit and Focus only with a reference (Remove also to clear a refused
        one), and say on the upload button what is in use."""
        with self._lock:
            source, error = self._source, self._error
        self.clear_reference.layout.display = None if source is not None or error else "none"
        self.reference_options.layout.display = None if source is not None else "none"
        label = self.upload_label
        self.upload.description = label
        self.upload_style.value = _label_css(self._upload_class, label)

    def _update_focus(self) -> None:
        cover = self.fit.value == "cover"
        self.focus_x.disabled = self.focus_y.disabled = not cover or self._locked

    def _option_changed(self, _change: Mapping[str, Any]) -> None:
        self._update_focus()
        self._refit()

    def _upload_changed(self, change: Mapping[str, Any]) -> None:
        entries = change["new"]
        if not entries:
            return
        entry = entries[0]
        self.upload.value = ()  # keep the upload's bytes out of the saved notebook
        name = str(entry.get("name") or "image")
        content = entry.get("content")
        size = max(int(entry.get("size") or 0), len(content) if content is not None else 0)
        if size > self.upload_limit:
            message = (
                f"reference {name!r} is {human_bytes(size)}, over the "
                f"{human_bytes(self.upload_limit)} limit for an upload; shrink it or save it as "
                "JPEG first"
            )
            self._set_source(None, None, error=message)
            self._say(message, "error")
            return
        self._set_source(bytes(content or b""), name)

    def _set_source(
        self, source: Any, name: str | None, *, error: str | None = None
    ) -> concurrent.futures.Future[Any]:
        with self._lock:
            same = error is None and name == self._name and _same_bytes(source, self._source)
            if not same:
                self._source, self._name = source, name
                self._reference = self._keyed = None
                self._error = error
        self.clear_reference.disabled = source is None and error is None
        self._show_controls()
        if error is not None:
            self.reference_caption.value = note(error, "error")
        return self._refit(keep_caption=error is not None)

    def _refit(self, *, keep_caption: bool = False) -> concurrent.futures.Future[Any]:
        with self._lock:
            self._generation += 1  # a fitting under way is outdated now
            generation = self._generation
            source, name = self._source, self._name
            current = self._reference if self._keyed == self._key() else None
        if current is not None:  # already fitted to these options (e.g. the same upload again)
            self._show(current, name, None)
            self._on_change()
            return done(current)
        if source is None:
            self.reference_preview.layout.display = "none"
            self.reference_preview.value = b""
            if not keep_caption:
                self.reference_caption.value = ""
            self._on_change()
            return done(None)
        self.reference_caption.value = note("fitting the reference…")
        self._on_change()
        future = spawn(lambda: self._build(generation), lambda text: self._say(text, "error"))
        self._future = future
        return future

    def _build(self, generation: int) -> Reference | None:
        """Fit the current source to the current options, and show it unless outdated."""
        from ..reference import prepare_reference

        with self._lock:
            source, name, key = self._source, self._name, self._key()
        if source is None:
            return None
        ref: Reference | None = None
        error: str | None = None
        try:
            ref = prepare_reference(source, key[0], fit=key[1], focus=(key[2], key[3]), name=name)
        except (ReferenceImageError, ValidationError) as exc:
            error = str(exc)
        with self._lock:
            if generation != self._generation or self._closed:
                return ref  # a newer change has its own fitting under way
            self._reference, self._keyed, self._error = ref, key, error
            self._show(ref, name, error)
        self._on_change()
        return ref

    def _show(self, ref: Reference | None, name: str | None, error: str | None) -> None:
        if ref is None:
            self.reference_preview.layout.display = "none"
            self.reference_caption.value = note(error or "", "error")
            return
        self.reference_preview.value = ref.preview()
        self.reference_preview.layout.display = None
        sw, sh = ref.source_size
        self.reference_caption.value = note(
            f"{name or 'image'} {sw}×{sh} → sent as {ref.width}×{ref.height} ({ref.fit}), "
            f"{ref.format.upper()} {human_bytes(len(ref.data))}"
        )

    def close(self) -> None:
        """Close every widget of the reference input; a fitting still under way shows nothing."""
        with self._lock:
            self._closed = True
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return f"ReferenceInput(size={self._size!r}, fit={self.fit.value!r}, name={self._name!r})"
