"""`SoraPanel`: write a request, see its reference fitted, follow its jobs, play and browse them.

A composition of ipywidgets around the job layer. Submit calls `generate`, which returns at once;
job listeners (on the Runner thread) update each card's traits; fitting a reference, reading a
video's last frame, downloading and deleting run on a small worker pool. So the kernel never waits
and several panels and magics can run side by side.

Saved widget state holds no key (the password field is emptied as soon as its value arrives and
the key lives only in a private attribute), no upload (the upload widget is emptied once read) and
no video bytes (the player fetches them on request; previews and thumbnails are small images).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import html
import os
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets as w

from .api import ReferenceImageError, SoraError, ValidationError, get_profile
from .api._profiles import Profile, orientation
from .config import Settings, resolve_settings
from .display import format_cost, relative_path, status_card
from .jobs import (
    VARIANT_FILES,
    Job,
    JobStatus,
    Runner,
    check_budget,
    generate,
    job_from_row,
    remix,
)
from .ledger import Ledger, LedgerRow

if TYPE_CHECKING:
    from PIL import Image

    from .reference import Reference

__all__ = [
    "MAX_VARIANTS",
    "UPLOAD_LIMIT_BYTES",
    "HistoryGallery",
    "HistoryItem",
    "JobCard",
    "SoraPanel",
    "last_frame",
]

T = TypeVar("T")

UPLOAD_LIMIT_BYTES = 20_000_000
"""Largest reference upload the panel reads; a larger one is refused with its name and size."""
MAX_VARIANTS = 10
THUMBNAIL_PX = 160
"""History thumbnails are downscaled to fit this many pixels (a few KB of JPEG each)."""
FITS = (
    ("cover", "cover"),
    ("contain", "contain"),
    ("stretch", "stretch"),
)
_FIT_TIPS = (
    "fill the frame, cropping around the focus point",
    "show the whole image, with bars",
    "scale width and height separately",
)
_CSS = Path(__file__).parent / "static" / "panel.css"

_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _background() -> concurrent.futures.ThreadPoolExecutor:
    """The workers every panel shares for slow work (fitting, frames, downloads, deletes)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="sora-panel"
            )
        return _pool


def _done(value: T) -> concurrent.futures.Future[T]:
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    future.set_result(value)
    return future


def _note(text: str, kind: str = "info") -> str:
    """An escaped line of text, announced politely to screen readers."""
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<div role="{role}" class="sora-{kind}">{html.escape(text)}</div>'


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _human_bytes(count: int) -> str:
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


def _control(min_width: str = "200px") -> Any:
    """A layout that shares a wrapping row and shrinks to a side panel's width."""
    return w.Layout(flex="1 1 260px", min_width=min_width, max_width="100%", width="auto")


_LABEL_STYLE = {"description_width": "initial"}


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
        layout=_control(),
        style=_LABEL_STYLE,
    )


def _button(label: str, icon: str, tooltip: str, **kwargs: Any) -> Any:
    return w.Button(
        description=label,
        icon=icon,
        tooltip=tooltip,
        layout=w.Layout(width="auto", min_width="0"),
        **kwargs,
    )


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _parse_extra(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered.lstrip("-").isdigit():
        return int(lowered)
    return text.strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (SoraError, ValueError, OSError)):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


# -- media helpers -------------------------------------------------------------------------------


def last_frame(path: str | os.PathLike[str]) -> Image.Image:
    """The last frame of a video file as an RGB PIL image; decodes only its last seconds.

    Raises `ReferenceImageError` if the file cannot be read or holds no frame.
    """
    import av

    name = Path(path).name

    def decode(seek: bool) -> Image.Image | None:
        with av.open(os.fspath(path)) as container:
            stream = container.streams.video[0]
            if seek and stream.duration and stream.time_base:
                back = int(2 / stream.time_base)
                start = stream.start_time or 0
                container.seek(max(start, start + stream.duration - back), stream=stream)
            last = None
            for frame in container.decode(stream):
                last = frame
            if last is None:
                return None
            image: Image.Image = last.to_image()  # type: ignore[no-untyped-call]
            return image.convert("RGB")

    try:
        image = decode(seek=True)
    except Exception:  # some files cannot seek; decoding from the start still works
        image = None
    if image is None:
        try:
            image = decode(seek=False)
        except Exception as exc:
            raise ReferenceImageError(f"video {name!r} could not be read: {exc}") from exc
    if image is None:
        raise ReferenceImageError(f"video {name!r} holds no frame")
    return image


def _thumbnail_jpeg(path: str | os.PathLike[str]) -> bytes | None:
    """A small JPEG of an image file (≤ `THUMBNAIL_PX`), or None if it cannot be read."""
    import io

    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError):
        return None
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()


def _download_link(path: Path) -> str:
    rel = urllib.parse.quote(relative_path(path), safe="/:")
    try:
        size = f" ({_human_bytes(path.stat().st_size)})"
    except OSError:
        size = ""
    return (
        f'<a href="{html.escape(rel, quote=True)}" download="{html.escape(path.name, quote=True)}"'
        f' target="_blank" rel="noopener">⬇ {html.escape(path.name)}</a>{html.escape(size)}'
    )


# -- the panel -----------------------------------------------------------------------------------


class SoraPanel:
    """A widget panel for video generation: prompt and options, reference preview, cost, Submit,
    live job cards with the player, and a gallery of past jobs of this provider.

    Keyword arguments set the starting values (``prompt``, ``model``, ``size``, ``seconds``,
    ``variants``, ``fit``, ``focus``) and the settings (``profile``, ``base_url``, ``output_dir``,
    ``max_spend``, or a ready ``settings``). Settings are resolved on a worker thread, so making
    the panel is quick; the key comes from the environment or from the panel's password field,
    and is never kept in a widget.
    """

    def __init__(
        self,
        *,
        prompt: str = "",
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        variants: int = 1,
        profile: str | Profile | None = None,
        base_url: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        max_spend: float | None = None,
        fit: str = "cover",
        focus: tuple[float, float] = (0.5, 0.5),
        settings: Settings | None = None,
        history_size: int = 12,
    ) -> None:
        if fit not in dict(FITS):
            raise ValidationError(
                f"fit {fit!r} is not known (choose 'cover', 'contain' or 'stretch')", param="fit"
            )
        if not 1 <= variants <= MAX_VARIANTS:
            raise ValidationError(
                f"variants {variants} must be from 1 to {MAX_VARIANTS}", param="variants"
            )
        self._given_settings = settings
        self._overrides: dict[str, Any] = {
            "base_url": base_url,
            "profile": profile,
            "output_dir": output_dir,
            "max_spend": max_spend,
        }
        self._api_key: str | None = None
        """A key typed into the password field: held here only, never in a widget."""
        self._settings: Settings | None = None
        self._settings_error: str | None = None
        self._settings_lock = threading.Lock()
        self._ledgers: dict[Path, Ledger] = {}
        self._ledgers_lock = threading.Lock()
        self._profile = self._initial_profile(settings, profile, base_url)
        self._remix_source: Job | None = None
        self._ref_lock = threading.RLock()
        self._source: Any = None
        self._source_name: str | None = None
        self._reference: Reference | None = None
        self._reference_keyed: tuple[Any, ...] | None = None
        self._reference_error: str | None = None
        self._generation = 0
        self._preview_future: concurrent.futures.Future[Any] | None = None
        self._cards_lock = threading.Lock()
        self.cards: list[JobCard] = []
        """Cards of the jobs shown in this panel, newest first."""
        self.upload_limit = UPLOAD_LIMIT_BYTES

        profile_ = self._profile
        model_name = model or profile_.default_model

        # -- inputs ----------------------------------------------------------------------------
        self.prompt = w.Textarea(
            value=prompt,
            description="Prompt",
            placeholder="Describe the video: subject, setting, camera, light, motion…",
            tooltip="What the video should show (up to the provider's character limit)",
            rows=4,
            layout=w.Layout(width="100%"),
            style=_LABEL_STYLE,
        )
        self.prompt_count = w.HTML()
        self.model = w.Dropdown(
            options=self._model_options(model_name),
            value=model_name,
            description="Model",
            tooltip="The provider's model",
            layout=_control(),
            style=_LABEL_STYLE,
        )
        self.size = w.Dropdown(
            description="Size",
            tooltip="Width x height in pixels; only the sizes this model offers",
            layout=_control(),
            style=_LABEL_STYLE,
        )
        self.seconds = w.ToggleButtons(
            description="Seconds",
            tooltip="Length of the video",
            style={**_LABEL_STYLE, "button_width": "auto"},
            layout=w.Layout(width="auto", max_width="100%"),
        )
        self._fill_sizes(size or profile_.default_size)
        self._fill_seconds(str(seconds) if seconds is not None else profile_.default_seconds)
        self.variants = w.IntSlider(
            value=variants,
            min=1,
            max=MAX_VARIANTS,
            description="Variants",
            tooltip="How many videos to make from this prompt (each is billed)",
            continuous_update=False,
            layout=_control(),
            style=_LABEL_STYLE,
        )
        self.extras: dict[str, Any] = {}
        """Widgets of the provider's extra fields (e.g. ``watermark``), by field name."""
        self.extras_box = w.HBox(layout=w.Layout(flex_flow="row wrap", width="100%"))
        self._fill_extras()

        # -- reference -------------------------------------------------------------------------
        self.upload = w.FileUpload(
            accept="image/*",
            multiple=False,
            description="Reference image",
            tooltip=(
                "An image the video starts from; it is fitted to the chosen size "
                f"(up to {_human_bytes(UPLOAD_LIMIT_BYTES)})"
            ),
            icon="upload",
            layout=w.Layout(width="auto"),
        )
        self.clear_reference = _button(
            "Remove reference", "times", "Send no reference image", disabled=True
        )
        self.fit = w.ToggleButtons(
            options=FITS,
            value=fit,
            description="Fit",
            tooltips=list(_FIT_TIPS),
            tooltip="How the reference is fitted to the size",
            style={**_LABEL_STYLE, "button_width": "auto"},
            layout=w.Layout(width="auto", max_width="100%"),
        )
        self.focus_x = _focus_slider(focus[0], "left–right", "the left edge (0) to the right (1)")
        self.focus_y = _focus_slider(focus[1], "top–bottom", "the top edge (0) to the bottom (1)")
        self.reference_preview = w.Image(
            format="png", layout=w.Layout(display="none", max_width="100%", width="auto")
        )
        self.reference_preview.add_class("sora-reference-preview")
        self.reference_caption = w.HTML()

        # -- connection ------------------------------------------------------------------------
        self.provider_line = w.HTML(_note("resolving the provider…"))
        self.api_key = w.Password(
            description="API key",
            placeholder="optional: otherwise from the environment",
            tooltip="A key for this panel only; it is not saved in the notebook",
            continuous_update=False,
            layout=_control(),
            style=_LABEL_STYLE,
        )
        self.forget_key = _button(
            "Forget key", "eraser", "Use the key from the environment again", disabled=True
        )
        self.connection = w.Accordion(
            children=[
                w.VBox(
                    [
                        self.provider_line,
                        w.HBox(
                            [self.api_key, self.forget_key],
                            layout=w.Layout(flex_flow="row wrap", width="100%"),
                        ),
                    ]
                )
            ],
            titles=("Provider and key",),
            selected_index=None,
            layout=w.Layout(width="100%"),
        )

        # -- cost, submit, messages ------------------------------------------------------------
        self.cost = w.HTML()
        self.submit_button = w.Button(
            description="Submit",
            icon="play",
            button_style="primary",
            tooltip="Start generating (the kernel stays free)",
            layout=w.Layout(width="auto"),
        )
        self.reason = w.HTML()
        """Why Submit is disabled, when it is."""
        self.message = w.HTML()
        self.remix_note = w.HTML()
        self.cancel_remix = _button("Cancel remix", "times", "Make a new video instead")
        self.remix_bar = w.HBox(
            [self.remix_note, self.cancel_remix],
            layout=w.Layout(display="none", flex_flow="row wrap", align_items="center"),
        )
        self.cards_box = w.VBox(layout=w.Layout(width="100%"))
        self.history = HistoryGallery(self, history_size)

        self.root = w.VBox(
            [
                w.HTML(f"<style>{_CSS.read_text(encoding='utf-8')}</style>"),
                self.connection,
                self.prompt,
                self.prompt_count,
                self.remix_bar,
                w.HBox(
                    [self.model, self.size, self.variants],
                    layout=w.Layout(flex_flow="row wrap", width="100%"),
                ),
                self.seconds,
                self.extras_box,
                w.HBox(
                    [self.upload, self.clear_reference, self.fit],
                    layout=w.Layout(flex_flow="row wrap", width="100%", align_items="center"),
                ),
                w.HBox(
                    [self.focus_x, self.focus_y],
                    layout=w.Layout(flex_flow="row wrap", width="100%"),
                ),
                self.reference_preview,
                self.reference_caption,
                self.cost,
                w.HBox(
                    [self.submit_button, self.reason],
                    layout=w.Layout(flex_flow="row wrap", width="100%", align_items="center"),
                ),
                self.message,
                self.cards_box,
                self.history.root,
            ],
            layout=w.Layout(width="100%", max_width="1000px", min_width="0"),
        )
        self.root.add_class("sora-panel")

        self.prompt.observe(self._prompt_changed, names="value")
        self.model.observe(self._model_changed, names="value")
        self.size.observe(self._reference_option_changed, names="value")
        self.fit.observe(self._reference_option_changed, names="value")
        self.focus_x.observe(self._reference_option_changed, names="value")
        self.focus_y.observe(self._reference_option_changed, names="value")
        self.seconds.observe(self._changed, names="value")
        self.variants.observe(self._changed, names="value")
        self.upload.observe(self._upload_changed, names="value")
        self.api_key.observe(self._key_entered, names="value")
        self.clear_reference.on_click(lambda _b: self._guard(self.remove_reference))
        self.forget_key.on_click(lambda _b: self._guard(self._forget_key))
        self.submit_button.on_click(lambda _b: self._guard(self.submit))
        self.cancel_remix.on_click(lambda _b: self._guard(self.leave_remix))

        self._update_count()
        self._update_focus()
        self._validate()
        self._started = self._spawn(self._start)

    # -- settings ------------------------------------------------------------------------------

    @staticmethod
    def _initial_profile(
        settings: Settings | None, profile: str | Profile | None, base_url: str | None
    ) -> Profile:
        """The profile `resolve_settings` will choose, known without starting anything."""
        if settings is not None:
            return settings.profile
        chosen = profile or os.environ.get("SORA_PROFILE")
        if chosen:
            return get_profile(chosen)
        configured = (
            base_url or os.environ.get("SORA_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        )
        return get_profile("openai" if configured else "emulator")

    @property
    def settings(self) -> Settings:
        """The settings this panel submits with (resolved on first use; raises `SoraError`)."""
        with self._settings_lock:
            if self._settings is None:
                try:
                    self._settings = self._make_settings()
                except SoraError as exc:
                    self._settings_error = str(exc)
                    raise
                self._settings_error = None
            return self._settings

    def _make_settings(self) -> Settings:
        if self._given_settings is not None:
            if self._api_key:
                return dataclasses.replace(self._given_settings, api_key=self._api_key)
            return self._given_settings
        return resolve_settings(api_key=self._api_key, **self._overrides)

    def _settings_if_ready(self) -> Settings | None:
        return self._settings

    def _ledger(self, settings: Settings) -> Ledger:
        with self._ledgers_lock:
            ledger = self._ledgers.get(settings.ledger_path)
            if ledger is None:
                ledger = Ledger(settings.ledger_path)
                self._ledgers[settings.ledger_path] = ledger
            return ledger

    def _start(self) -> None:
        """Resolve the settings, then show the provider, the budget and the history."""
        try:
            settings = self.settings
        except SoraError as exc:
            self.provider_line.value = _note(str(exc), "error")
            self._validate()
            return
        if settings.emulated:
            where = (
                f"the local emulator at {settings.provider} "
                "(its videos are synthetic and nothing is billed)"
            )
        else:
            where = f"{settings.provider} with profile {settings.profile.name}"
        key = (
            "a key from this panel (not saved)"
            if self._api_key
            else "the key from the environment"
            if settings.api_key and not settings.emulated
            else "no key"
        )
        self.provider_line.value = _note(f"Provider: {where}; {key}.")
        if settings.profile is not self._profile:
            self._apply_profile(settings.profile)
        self._validate()
        self.history.load()

    def _key_entered(self, change: Mapping[str, Any]) -> None:
        value = str(change["new"] or "")
        if not value:
            return
        self.api_key.value = ""  # the key must never stay in a synced trait
        key = value.strip()
        if not key:
            return
        self._api_key = key
        self.api_key.placeholder = "a key is set for this panel (not saved)"
        self.forget_key.disabled = False
        self._reset_settings()

    def _forget_key(self) -> None:
        self._api_key = None
        self.api_key.placeholder = "optional: otherwise from the environment"
        self.forget_key.disabled = True
        self._reset_settings()

    def _reset_settings(self) -> None:
        with self._settings_lock:
            self._settings = None
            self._settings_error = None
        self._started = self._spawn(self._start)

    # -- the form ------------------------------------------------------------------------------

    def _model_options(self, current: str) -> list[str]:
        return _unique([*self._profile.model_names, current])

    def _sizes_of(self, model: str) -> list[str]:
        spec = self._profile.model_spec(model)
        if spec is not None:
            return list(spec.sizes)
        return _unique([s for m in self._profile.models for s in m.sizes])

    def _seconds_of(self, model: str) -> list[str]:
        spec = self._profile.model_spec(model)
        if spec is not None:
            return list(spec.seconds)
        values = _unique([s for m in self._profile.models for s in m.seconds])
        return sorted(values, key=lambda s: int(s) if s.isdigit() else 0)

    def _fill_sizes(self, wanted: str | None = None) -> None:
        model = str(self.model.value)
        sizes = self._sizes_of(model)
        current = wanted or self.size.value
        if current and current not in sizes:
            same = [s for s in sizes if orientation(s) == orientation(current)]
            if wanted is not None and self._profile.model_spec(model) is None:
                sizes.append(current)  # an open model: keep what was asked for
            else:
                current = (same or sizes)[0]
        options = [(f"{s} · {orientation(s)}".rstrip(" ·"), s) for s in sizes]
        self.size.options = options
        self.size.value = current if current in sizes else sizes[0]

    def _fill_seconds(self, wanted: str | None = None) -> None:
        values = self._seconds_of(str(self.model.value))
        current = wanted or self.seconds.value
        if current not in values:
            default = self._profile.default_seconds
            current = default if default in values else values[0]
        self.seconds.options = [(f"{s} s", s) for s in values]
        self.seconds.tooltips = [f"{s} seconds" for s in values]
        self.seconds.value = current

    def _fill_extras(self) -> None:
        widgets: dict[str, Any] = {}
        for name in sorted(self._profile.extra_fields):
            if name == "watermark":
                widget = w.Dropdown(
                    options=[("provider default", None), ("on", True), ("off", False)],
                    value=None,
                    description="Watermark",
                    tooltip="Ask the provider for a watermark, or for none",
                    layout=_control(),
                    style=_LABEL_STYLE,
                )
            else:
                widget = w.Text(
                    description=name,
                    placeholder="empty: not sent",
                    tooltip=f"The provider's extra field {name!r}",
                    continuous_update=False,
                    layout=_control(),
                    style=_LABEL_STYLE,
                )
            widget.observe(self._changed, names="value")
            widgets[name] = widget
        self.extras = widgets
        self.extras_box.children = tuple(widgets.values())

    def _apply_profile(self, profile: Profile) -> None:
        self._profile = profile
        model = str(self.model.value)
        self.model.options = self._model_options(model)
        self.model.value = model
        self._fill_sizes()
        self._fill_seconds()
        self._fill_extras()
        self._update_count()

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for name, widget in self.extras.items():
            value = widget.value
            if value is None or value == "":
                continue
            extra[name] = _parse_extra(value) if isinstance(value, str) else value
        return extra

    def _prompt_changed(self, _change: Mapping[str, Any]) -> None:
        self._update_count()
        self._validate()

    def _update_count(self) -> None:
        count = len(self.prompt.value)
        limit = self._profile.max_prompt_chars
        over = " sora-over" if count > limit else ""
        self.prompt_count.value = (
            f'<span class="sora-count{over}">{count:,} / {limit:,} characters</span>'
        )

    def _model_changed(self, _change: Mapping[str, Any]) -> None:
        self._fill_sizes()
        self._fill_seconds()
        self._validate()

    def _changed(self, _change: Mapping[str, Any]) -> None:
        self._validate()

    def _update_focus(self) -> None:
        cover = self.fit.value == "cover"
        self.focus_x.disabled = self.focus_y.disabled = not cover or self._remix_source is not None

    # -- validation and cost -------------------------------------------------------------------

    def _unit_cost(self) -> float | None:
        source = self._remix_source
        if source is not None:
            return self._profile.estimate_cost(source.model, source.size, source.seconds)
        return self._profile.estimate_cost(
            str(self.model.value), str(self.size.value), str(self.seconds.value)
        )

    def _count(self) -> int:
        return 1 if self._remix_source is not None else int(self.variants.value)

    def problem(self) -> str:
        """Why the request cannot be submitted as it stands (``""`` when it can)."""
        if self._settings_error:
            return self._settings_error
        source = self._remix_source
        try:
            if source is not None:
                self._profile.check(prompt=self.prompt.value)
            else:
                self._profile.check(
                    prompt=self.prompt.value,
                    model=str(self.model.value),
                    size=str(self.size.value),
                    seconds=str(self.seconds.value),
                    extra=self._extra(),
                )
        except ValidationError as exc:
            return str(exc)
        if source is None and self._reference_error:
            return self._reference_error
        settings = self._settings_if_ready()
        if settings is not None and settings.max_spend is not None:
            try:
                check_budget(settings, self._ledger(settings), self._unit_cost(), self._count())
            except ValidationError as exc:
                return str(exc)
        return ""

    def _spent(self, settings: Settings) -> float:
        """Estimated dollars spent on this provider, counting creates not yet answered."""
        in_flight = sum(
            j.cost or 0.0
            for j in Runner.get().jobs
            if not j.done and j.id is None and j.settings.provider == settings.provider
        )
        return self._ledger(settings).total_spent(provider=settings.base_url) + in_flight

    def _cost_html(self) -> str:
        simulated = self._profile.billing == "simulated"
        unit = self._unit_cost()
        count = self._count()
        if unit is None:
            text = "Estimated cost: price unknown for this model and size"
        else:
            text = f"Estimated cost: {format_cost(unit * count, simulated=simulated)}"
            if count > 1:
                text += f" ({count} × {format_cost(unit)})"
        settings = self._settings_if_ready()
        if settings is not None and settings.max_spend is not None:
            left = max(0.0, settings.max_spend - self._spent(settings))
            text += f" · budget: {format_cost(left)} left of {format_cost(settings.max_spend)}"
        return f'<div class="sora-cost" role="status">{html.escape(text)}</div>'

    def _validate(self) -> str:
        problem = self.problem()
        self.submit_button.disabled = bool(problem)
        self.reason.value = _note(problem, "error")
        self.cost.value = self._cost_html()
        return problem

    # -- the reference -------------------------------------------------------------------------

    def _reference_key(self) -> tuple[Any, ...]:
        return (
            str(self.size.value),
            str(self.fit.value),
            round(float(self.focus_x.value), 3),
            round(float(self.focus_y.value), 3),
        )

    def _reference_option_changed(self, _change: Mapping[str, Any]) -> None:
        self._update_focus()
        self._schedule_preview()
        self._validate()

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
                f"reference {name!r} is {_human_bytes(size)}, over the "
                f"{_human_bytes(self.upload_limit)} limit for an upload; shrink it or save it as "
                "JPEG first"
            )
            self._set_source(None, None, error=message)
            self._say(message, "error")
            return
        self._set_source(bytes(content or b""), name)

    def set_reference(self, source: Any, name: str | None = None) -> concurrent.futures.Future[Any]:
        """Use ``source`` (anything `prepare_reference` reads) as the reference; returns a Future
        of the fitted `Reference` (or None when it could not be read: see `reason`)."""
        return self._set_source(source, name)

    def remove_reference(self) -> None:
        """Send no reference image."""
        self._set_source(None, None)

    def _set_source(
        self, source: Any, name: str | None, *, error: str | None = None
    ) -> concurrent.futures.Future[Any]:
        with self._ref_lock:
            self._source = source
            self._source_name = name
            self._reference = None
            self._reference_keyed = None
            self._reference_error = error
        self.clear_reference.disabled = source is None and error is None
        if error is not None:
            self.reference_caption.value = _note(error, "error")
        return self._schedule_preview(keep_caption=error is not None)

    def _schedule_preview(self, *, keep_caption: bool = False) -> concurrent.futures.Future[Any]:
        with self._ref_lock:
            self._generation += 1
            generation = self._generation
            source = self._source
        if source is None:
            self.reference_preview.layout.display = "none"
            self.reference_preview.value = b""
            if not keep_caption:
                self.reference_caption.value = ""
            self._validate()
            return _done(None)
        self.reference_caption.value = _note("fitting the reference…")
        future = self._spawn(lambda: self._build_reference(generation))
        self._preview_future = future
        return future

    def _build_reference(self, generation: int) -> Reference | None:
        """Fit the current source to the current options, and show it unless outdated."""
        from .reference import prepare_reference

        with self._ref_lock:
            source, name, key = self._source, self._source_name, self._reference_key()
        if source is None:
            return None
        ref: Reference | None = None
        error: str | None = None
        try:
            ref = prepare_reference(
                source,
                key[0],
                fit=key[1],
                focus=(key[2], key[3]),
                name=name,
            )
        except (ReferenceImageError, ValidationError) as exc:
            error = str(exc)
        with self._ref_lock:
            if generation != self._generation:
                return ref  # a newer change has its own fitting under way
            self._reference, self._reference_keyed, self._reference_error = ref, key, error
        if ref is not None:
            self.reference_preview.value = ref.preview()
            self.reference_preview.layout.display = None
            sw, sh = ref.source_size
            caption = (
                f"{name or 'image'} {sw}×{sh} → sent as {ref.width}×{ref.height} ({ref.fit}), "
                f"{ref.format.upper()} {_human_bytes(len(ref.data))}"
            )
            self.reference_caption.value = _note(caption)
        else:
            self.reference_preview.layout.display = "none"
            self.reference_caption.value = _note(error or "", "error")
        self._validate()
        return ref

    @property
    def reference(self) -> Reference | None:
        """The reference image as it will be sent (fitted to the current size), or None.

        Waits for a fitting under way; fits again if the options changed since.
        """
        future = self._preview_future
        if future is not None:
            with contextlib.suppress(Exception):  # shown in the panel already
                future.result(120)
        with self._ref_lock:
            if self._source is None:
                return None
            if self._reference is not None and self._reference_keyed == self._reference_key():
                return self._reference
            self._generation += 1
            generation = self._generation
        return self._build_reference(generation)

    def _use_frame(self, video: Path, name: str) -> concurrent.futures.Future[Reference | None]:
        """Make the last frame of ``video`` the reference (on a worker thread)."""

        def work() -> Reference | None:
            image = last_frame(video)
            self.leave_remix()
            with self._ref_lock:
                self._source, self._source_name = image, name
                self._reference = self._reference_keyed = self._reference_error = None
                self._generation += 1
                generation = self._generation
            self.clear_reference.disabled = False
            return self._build_reference(generation)

        future = self._spawn(work)
        self._preview_future = future
        return future

    # -- remix mode ----------------------------------------------------------------------------

    def _enter_remix(self, job: Job) -> None:
        self._remix_source = job
        self.prompt.value = job.request.prompt
        self.remix_note.value = (
            f"<span role='status'>Remixing <code>{html.escape(job.id or '')}</code>: say what "
            "should change, then Submit. Model, size and length stay those of the source.</span>"
        )
        self.remix_bar.layout.display = None
        for widget in (self.model, self.size, self.seconds, self.variants, self.upload, self.fit):
            widget.disabled = True
        for widget in self.extras.values():
            widget.disabled = True
        self.submit_button.description = "Submit remix"
        self._update_focus()
        self._validate()

    def leave_remix(self) -> None:
        """Back from remixing a video to making a new one."""
        if self._remix_source is None:
            return
        self._remix_source = None
        self.remix_bar.layout.display = "none"
        self.remix_note.value = ""
        for widget in (self.model, self.size, self.seconds, self.variants, self.upload, self.fit):
            widget.disabled = False
        for widget in self.extras.values():
            widget.disabled = False
        self.submit_button.description = "Submit"
        self._update_focus()
        self._validate()

    @property
    def remixing(self) -> Job | None:
        """The job being remixed (after a card's Remix), or None."""
        return self._remix_source

    # -- submitting ----------------------------------------------------------------------------

    def submit(self) -> list[JobCard]:
        """What Submit does: start the job(s) and add their cards (newest first); returns them.

        Returns ``[]`` when the request is invalid; the reason is then in ``reason`` and
        ``message``.
        """
        problem = self._validate()
        if problem:
            self._say(problem, "error")
            return []
        jobs: list[Job] = []
        try:
            settings = self.settings
            prompt = self.prompt.value
            source = self._remix_source
            if source is not None:
                jobs.append(remix(source, prompt, settings=settings))
            else:
                reference = self.reference
                if self._source is not None and reference is None:
                    raise ValidationError(
                        self._reference_error or "the reference image could not be prepared"
                    )
                for _ in range(self._count()):
                    jobs.append(
                        generate(
                            prompt,
                            model=str(self.model.value),
                            size=str(self.size.value),
                            seconds=str(self.seconds.value),
                            reference=reference,
                            extra=self._extra() or None,
                            settings=settings,
                        )
                    )
        except SoraError as exc:
            self._say(str(exc), "error")
        cards = [self._add_card(job) for job in jobs]
        if jobs:
            if self._remix_source is not None:
                self.leave_remix()
            total = sum(j.cost or 0.0 for j in jobs)
            simulated = self._profile.billing == "simulated"
            priced = (
                ""
                if jobs[0].cost is None
                else f", estimated {format_cost(total, simulated=simulated)}"
            )
            self._say(f"submitted {len(jobs)} job{'s' if len(jobs) > 1 else ''}{priced}")
        self._validate()
        return cards

    # -- cards ---------------------------------------------------------------------------------

    def _add_card(self, job: Job) -> JobCard:
        card = JobCard(self, job)
        with self._cards_lock:
            self.cards.insert(0, card)
            self.cards_box.children = tuple(c.root for c in self.cards)
        return card

    def _remove_card(self, card: JobCard) -> None:
        with self._cards_lock:
            if card in self.cards:
                self.cards.remove(card)
            self.cards_box.children = tuple(c.root for c in self.cards)

    def open_job(self, video_id: str) -> JobCard:
        """Show a job of the ledger in a card (the player once its video is on disk).

        Downloads a completed video that is not on disk, and follows an unfinished one; both
        on other threads.
        """
        with self._cards_lock:
            for card in self.cards:
                if card.job.id == video_id:
                    return card
        settings = self.settings
        row = self._ledger(settings).find(video_id)
        if row is None:
            raise ValidationError(f"no job {video_id!r} in the ledger of {settings.provider}")
        live = next((j for j in Runner.get().jobs if j.id == row.id and not j.done), None)
        if live is not None:
            return self._add_card(live)
        job = job_from_row(row, settings)
        card = self._add_card(job)
        video = job.paths.get("video")
        if row.status == JobStatus.COMPLETED and (video is None or not video.exists()):
            card.download()
        elif not row.finished and not row.pending:
            Runner.get().follow(job)
        return card

    def refresh_history(self) -> concurrent.futures.Future[list[HistoryItem]]:
        """Reload the gallery of past jobs from the ledger (on a worker thread)."""
        return self._spawn(self.history.load)

    # -- plumbing ------------------------------------------------------------------------------

    def _say(self, text: str, kind: str = "info") -> None:
        self.message.value = _note(text, kind)

    def _guard(self, action: Callable[[], Any]) -> None:
        """Run a button's action; show a mistake in the panel rather than in the log."""
        try:
            action()
        except Exception as exc:
            self._say(_describe(exc), "error")

    def _spawn(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``work`` on the panel workers; its error is shown and kept in the Future."""

        def run() -> T:
            try:
                return work()
            except Exception as exc:
                self._say(_describe(exc), "error")
                raise

        return _background().submit(run)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the settings, the history and the reference fitting under way (tests, scripts)."""
        for future in (self._started, self._preview_future):
            if future is not None:
                future.result(timeout)

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.root._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.root)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return (
            f"SoraPanel(model={self.model.value!r}, size={self.size.value!r}, "
            f"seconds={self.seconds.value!r}, cards={len(self.cards)})"
        )


# -- job cards -----------------------------------------------------------------------------------


class JobCard:
    """One job in the panel: live status, progress and ETA, then the player; and its actions."""

    def __init__(self, panel: SoraPanel, job: Job) -> None:
        self.job = job
        self._panel = panel
        self.deleted = job.status == "deleted"
        self._was_running = not job.done and not self.deleted
        self._lock = threading.Lock()
        self._last: tuple[Any, ...] | None = None
        self._player_made = False
        self._confirm_delete = False
        self.status = w.HTML()
        """The status card (HTML, every server or user text escaped)."""
        self.player_box = w.Box(layout=w.Layout(width="100%", max_width="100%"))
        self.download_link = w.HTML()
        """A link to the MP4 on disk, relative to the notebook's folder (after Download)."""
        self.note = w.HTML()
        self.remix_button = _button(
            "Remix", "random", "Change this video with a new prompt (prefills the prompt box)"
        )
        self.retry_button = _button("Retry", "redo", "Submit the same request again")
        self.download_button = _button(
            "Download", "download", "A link to the MP4 on disk (downloaded first if needed)"
        )
        self.delete_button = _button(
            "Delete", "trash", "Delete the video on the provider (local files are kept)"
        )
        self.copy_button = _button(
            "Copy prompt", "copy", "Put this job's prompt into the prompt box"
        )
        self.reference_button = _button(
            "Use as reference",
            "image",
            "Use the video's last frame as the reference image, fitted to the current size",
        )
        self.close_button = _button(
            "Close", "times", "Remove this card from the panel (the job and its files are kept)"
        )
        self.remix_button.on_click(lambda _b: panel._guard(self.remix))
        self.retry_button.on_click(lambda _b: panel._guard(self.retry))
        self.download_button.on_click(lambda _b: panel._guard(self.download))
        self.delete_button.on_click(lambda _b: panel._guard(self._delete_clicked))
        self.copy_button.on_click(lambda _b: panel._guard(self.copy_prompt))
        self.reference_button.on_click(lambda _b: panel._guard(self.use_as_reference))
        self.close_button.on_click(lambda _b: panel._remove_card(self))
        self.actions = w.HBox(
            [
                self.remix_button,
                self.retry_button,
                self.download_button,
                self.delete_button,
                self.copy_button,
                self.reference_button,
                self.close_button,
            ],
            layout=w.Layout(flex_flow="row wrap", width="100%"),
        )
        self.root = w.VBox(
            [self.status, self.player_box, self.actions, self.download_link, self.note],
            layout=w.Layout(width="100%"),
        )
        self.root.add_class("sora-job-card")
        job.on_change(lambda _job: self._refresh())
        self._refresh()

    # -- following -----------------------------------------------------------------------------

    @property
    def player(self) -> Any:
        """The `VideoPlayer` once the video is on disk, else None."""
        children = self.player_box.children
        return children[0] if children else None

    def _video(self) -> Path | None:
        path = self.job.paths.get("video")
        return path if path is not None and path.exists() else None

    def _refresh(self) -> None:
        """Bring the card up to date (called on the Runner thread by the job's listener)."""
        job = self.job
        key = (job.status, job.progress, job.message, round(job.eta or -1.0), self.deleted)
        with self._lock:
            changed = key != self._last
            self._last = key
            make_player = (
                job.status == JobStatus.COMPLETED
                and not self._player_made
                and self._video() is not None
            )
            if make_player:
                self._player_made = True
        if changed:
            self.status.value = self._status_html()
        if make_player:
            self._show_player()
            if self._was_running:  # a new video: the gallery shows it too
                self._panel.history.load_later()
        self._update_buttons()

    def _status_html(self) -> str:
        body = str(status_card(self.job).data["text/html"])
        if self.deleted:
            body += _note("deleted on the provider (local files are kept)")
        return body

    def _show_player(self) -> None:
        try:
            from .player import VideoPlayer

            player = VideoPlayer.from_job(self.job)
        except Exception as exc:  # widgets missing or the file vanished: the link still works
            self.note.value = _note(f"cannot show the player: {_describe(exc)}", "error")
            return
        self.player_box.children = (player,)

    def _update_buttons(self) -> None:
        job = self.job
        completed = job.status == JobStatus.COMPLETED
        has_id = bool(job.id) and not str(job.id).startswith("pending:")
        done = job.done or job.status == "deleted" or self.deleted
        self.remix_button.disabled = not (completed and has_id and not self.deleted)
        self.retry_button.disabled = not done
        self.download_button.disabled = not (
            self._video() is not None or (completed and has_id and not self.deleted)
        )
        self.delete_button.disabled = not (
            has_id
            and not self.deleted
            and job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED)
        )
        self.reference_button.disabled = self._video() is None

    # -- actions -------------------------------------------------------------------------------

    def remix(self, prompt: str | None = None) -> JobCard | None:
        """Prefill the panel's prompt with this job's prompt for a remix of its video; with
        ``prompt``, submit that remix at once and return its card."""
        job = self.job
        if job.status != JobStatus.COMPLETED or not job.id or self.deleted:
            raise ValidationError(
                f"job {job.id or '(not yet created)'} is {'deleted' if self.deleted else job.status}: "
                "only a completed video on the provider can be remixed"
            )
        self._panel._enter_remix(job)
        if prompt is None:
            return None
        self._panel.prompt.value = prompt
        cards = self._panel.submit()
        return cards[0] if cards else None

    def retry(self) -> JobCard:
        """Submit the same request again (a new job, billed again); returns its card."""
        job, panel = self.job, self._panel
        request = job.request
        new = generate(
            request.prompt,
            model=job.model,
            size=job.size,
            seconds=job.seconds,
            reference=request.input_reference,
            extra=dict(request.extra) or None,
            remix_of=request.remix_of,
            settings=panel.settings,
        )
        panel._say(f"submitted again: {_short(request.prompt, 60)}")
        card = panel._add_card(new)
        panel._validate()
        return card

    def download(self) -> concurrent.futures.Future[Path]:
        """Show a link to the MP4 on disk, downloading it (and its thumbnail and spritesheet)
        first on a worker thread if needed. The Future gives the path."""
        video = self._video()
        if video is not None:
            self.download_link.value = _download_link(video)
            return _done(video)
        job = self.job
        if not job.id or job.id.startswith("pending:"):
            raise ValidationError(f"job {job.id or '(not yet created)'} has no video yet")
        video_id = job.id
        panel = self._panel

        def work() -> Path:
            from .api import NotFoundError, SoraClient
            from .api._client import safe_filename

            settings = panel.settings
            self.note.value = _note("downloading…")
            paths: dict[str, Path] = {}
            try:
                with SoraClient(
                    api_key=settings.api_key, base_url=settings.base_url, profile=settings.profile
                ) as client:
                    for variant in VARIANT_FILES:
                        try:
                            paths[variant] = client.download(
                                video_id,
                                settings.output_dir / safe_filename(video_id, variant),
                                variant=variant,
                            )
                        except NotFoundError:
                            if variant == "video":
                                raise
            except Exception as exc:
                self.note.value = _note(f"download failed: {_describe(exc)}", "error")
                raise
            panel._ledger(settings).update(
                video_id, **{f"{variant}_path": str(path) for variant, path in paths.items()}
            )
            job.paths.update(paths)
            if job.status != "deleted":
                job.status = JobStatus.COMPLETED
            self.note.value = ""
            self.download_link.value = _download_link(paths["video"])
            self._refresh()
            return paths["video"]

        return panel._spawn(work)

    def _delete_clicked(self) -> None:
        if not self._confirm_delete:
            self._confirm_delete = True
            self.delete_button.description = "Confirm delete"
            self.delete_button.button_style = "danger"
            self.note.value = _note(
                "Click again to delete this video on the provider (local files are kept)."
            )
            return
        self.delete()

    def delete(self) -> concurrent.futures.Future[None]:
        """Delete the video on the provider (on a worker thread) and mark it deleted in the
        ledger; local files are kept."""
        job, panel = self.job, self._panel
        if not job.id or job.id.startswith("pending:"):
            raise ValidationError(f"job {job.id or '(not yet created)'} does not exist yet")
        video_id = job.id
        self.delete_button.disabled = True

        def work() -> None:
            from .api import SoraClient

            settings = panel.settings
            try:
                with SoraClient(
                    api_key=settings.api_key, base_url=settings.base_url, profile=settings.profile
                ) as client:
                    client.delete(video_id)
            except Exception as exc:
                self.note.value = _note(f"delete failed: {_describe(exc)}", "error")
                self._confirm_delete = False
                self.delete_button.description = "Delete"
                self.delete_button.button_style = ""
                self._update_buttons()
                raise
            panel._ledger(settings).update(video_id, status="deleted")
            self.deleted = True
            self.delete_button.description = "Deleted"
            self.delete_button.button_style = ""
            self.note.value = ""
            self._refresh()
            panel.history.load()

        return panel._spawn(work)

    def copy_prompt(self) -> None:
        """Put this job's prompt into the panel's prompt box (for a new video)."""
        panel = self._panel
        panel.leave_remix()
        panel.prompt.value = self.job.request.prompt
        panel._say("prompt copied into the prompt box")

    def use_as_reference(self) -> concurrent.futures.Future[Reference | None]:
        """Make the video's last frame the panel's reference, fitted to the current size (on a
        worker thread); the Future gives the fitted `Reference`."""
        video = self._video()
        if video is None:
            raise ValidationError(
                f"job {self.job.id or '(not yet created)'} has no video on disk yet"
            )
        return self._panel._use_frame(video, f"last frame of {self.job.id}")

    def __repr__(self) -> str:
        return f"JobCard({self.job!r})"


# -- history -------------------------------------------------------------------------------------


class HistoryItem:
    """One past job in the gallery: its thumbnail and a button that opens it."""

    def __init__(self, panel: SoraPanel, row: LedgerRow, thumbnail: bytes | None) -> None:
        self.row = row
        self._panel = panel
        prompt = row.prompt or ""
        self.button = w.Button(
            description=_short(prompt or row.id, 22),
            icon="play" if row.status == JobStatus.COMPLETED else "info-circle",
            tooltip=f"Open {row.id}: {_short(prompt, 200)}",
            layout=w.Layout(width=f"{THUMBNAIL_PX}px"),
        )
        self.button.on_click(lambda _b: panel._guard(self.open))
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
        self.root = w.VBox(
            [picture, self.button, w.HTML(f'<div class="sora-count">{html.escape(details)}</div>')],
            layout=w.Layout(width=f"{THUMBNAIL_PX + 8}px", margin="2px"),
        )
        self.root.add_class("sora-history-item")

    def open(self) -> JobCard:
        """Open this job in a card (as the gallery's button does)."""
        return self._panel.open_job(self.row.id)

    def __repr__(self) -> str:
        return f"HistoryItem({self.row.id!r}, {self.row.status!r})"


class HistoryGallery:
    """Past jobs of the panel's provider, newest first, as thumbnails that open a card."""

    def __init__(self, panel: SoraPanel, size: int) -> None:
        self._panel = panel
        self.size = size
        self.items: list[HistoryItem] = []
        self._lock = threading.Lock()
        self._generation = 0
        self.heading = w.HTML("<b>History</b>")
        self.refresh_button = _button(
            "Refresh", "refresh", "Reload this provider's past jobs from the ledger"
        )
        self.refresh_button.on_click(lambda _b: panel.refresh_history())
        self.empty = w.HTML()
        self.grid = w.Box(layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.root = w.VBox(
            [
                w.HBox([self.heading, self.refresh_button], layout=w.Layout(align_items="center")),
                self.empty,
                self.grid,
            ],
            layout=w.Layout(width="100%"),
        )

    def load(self) -> list[HistoryItem]:
        """Read the ledger and rebuild the gallery (blocking: call it on a worker thread)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        panel = self._panel
        settings = panel.settings
        rows = [
            row
            for row in panel._ledger(settings).recent(self.size * 3, provider=settings.provider)
            if not row.pending and row.status != "deleted"
        ][: self.size]
        items = [
            HistoryItem(
                panel,
                row,
                _thumbnail_jpeg(row.thumbnail_path)
                if row.thumbnail_path and Path(row.thumbnail_path).exists()
                else None,
            )
            for row in rows
        ]
        with self._lock:
            if generation != self._generation:
                return items
            self.items = items
            self.grid.children = tuple(item.root for item in items)
            self.empty.value = "" if items else _note(f"No jobs yet for {settings.provider}.")
        return items

    def load_later(self) -> None:
        """Reload on a worker thread (after a job finished)."""
        self._panel._spawn(self.load)

    def __repr__(self) -> str:
        return f"HistoryGallery({len(self.items)} items)"
