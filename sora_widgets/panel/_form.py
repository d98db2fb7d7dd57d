"""`RequestForm`: what to make — prompt, model, size, seconds, variants and the provider's extras.

The choices follow the provider's profile and the chosen model: a size or length the model does
not offer is never offered. In remix mode the form keeps only the prompt editable (a remix keeps
its source's model, size and length).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..api import Profile, orientation, ratio_of, read_size
from ..jobs import parse_extra_value
from ._widgets import (
    LABEL_STYLE,
    button,
    close_descendants,
    control,
    labelled_toggles,
    wrapping_row,
)

if TYPE_CHECKING:
    from ..jobs import Job

__all__ = ["FormValues", "RequestForm"]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass(frozen=True)
class FormValues:
    """The form as it stands: what a plan is made from."""

    prompt: str
    model: str
    size: str
    seconds: str
    count: int
    """Variants asked for (1 in remix mode)."""
    extra: dict[str, Any]


class RequestForm(w.VBox):  # type: ignore[misc]
    """The request's fields. ``on_change`` is called with no argument after any value changed
    (the panel checks the request again); ``cancel_remix`` is the Cancel remix button's action.

    Every control is a public attribute (``prompt``, ``model``, ``size``, ``seconds``,
    ``variants``, ``extras``); read the whole form with `values`.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        prompt: str,
        model: str | None,
        size: str | None,
        seconds: str | None,
        variants: int,
        max_variants: int,
        on_change: Callable[[], object],
        cancel_remix: Callable[[], None],
    ) -> None:
        self._profile = profile
        self._on_change = on_change
        self._remixing: Job | None = None
        model_name = model or profile.default_model
        self.prompt = w.Textarea(
            value=prompt,
            description="Prompt",
            placeholder="Describe the video: subject, setting, camera, light, motion…",
            tooltip="What the video should show (up to the provider's character limit)",
            rows=4,
            layout=w.Layout(width="100%"),
            style=LABEL_STYLE,
        )
        self.prompt_count = w.HTML()
        self.prompt_count.add_class("sora-under-control")
        self.remix_note = w.HTML()
        self.cancel_remix = button("Cancel remix", "times", "Make a new video instead")
        self.remix_bar = w.HBox(
            [self.remix_note, self.cancel_remix],
            layout=w.Layout(display="none", flex_flow="row wrap", align_items="center"),
        )
        self._offered: list[str] = []
        """Model names the provider listed (its /v1/models or /model/info), once known."""
        self.model = w.Combobox(
            options=self._model_options(model_name),
            value=model_name,
            ensure_option=False,
            continuous_update=False,
            placeholder="a model name",
            description="Model",
            tooltip="The provider's model: pick one, or type any name the provider routes",
            layout=control(),
            style=LABEL_STYLE,
        )
        self.model_note = w.HTML()
        """What is known of the chosen model (its maker, or that it is not catalogued)."""
        self.model_note.add_class("sora-under-control")
        self.size = w.Dropdown(
            description="Size",
            tooltip="Width x height in pixels (with its ratio); only the sizes this model offers",
            layout=control(),
            style=LABEL_STYLE,
        )
        self.seconds = w.ToggleButtons(
            description="Seconds",
            tooltip="Length of the video",
            style={**LABEL_STYLE, "button_width": "auto"},
            layout=labelled_toggles(),
        )
        default_size, default_seconds = profile.defaults_for(model_name)
        self._fill_sizes(size or default_size)
        self._fill_seconds(seconds or default_seconds)
        self.variants = w.IntSlider(
            value=variants,
            min=1,
            max=max_variants,
            description="Variants",
            tooltip="How many videos to make from this prompt (each is billed)",
            continuous_update=False,
            layout=control(),
            style=LABEL_STYLE,
        )
        self.extras: dict[str, Any] = {}
        """Widgets of the provider's extra fields (e.g. ``watermark``), by field name."""
        self.extras_box = wrapping_row([])
        self._fill_extras()
        super().__init__(
            [
                self.prompt,
                self.prompt_count,
                self.remix_bar,
                wrapping_row([self.model, self.size, self.variants]),
                self.model_note,
                self.seconds,
                self.extras_box,
            ],
            layout=w.Layout(width="100%"),
        )
        self._update_count()
        self._describe_model()
        self.prompt.observe(self._prompt_changed, names="value")
        self.model.observe(self._model_changed, names="value")
        for widget in (self.size, self.seconds, self.variants):
            widget.observe(self._changed, names="value")
        self.cancel_remix.on_click(lambda _b: cancel_remix())

    # -- reading -------------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        """The profile whose models and fields the form offers."""
        return self._profile

    def extra(self) -> dict[str, Any]:
        """The extra fields that are set, typed (``true`` → True, ``12`` → 12); empty ones are
        not sent."""
        extra: dict[str, Any] = {}
        for name, widget in self.extras.items():
            value = widget.value
            if value is None or value == "":
                continue
            extra[name] = parse_extra_value(value) if isinstance(value, str) else value
        return extra

    def values(self) -> FormValues:
        """The form as it stands."""
        return FormValues(
            prompt=str(self.prompt.value),
            model=str(self.model.value),
            size=str(self.size.value),
            seconds=str(self.seconds.value),
            count=1 if self._remixing is not None else int(self.variants.value),
            extra=self.extra(),
        )

    # -- changing ------------------------------------------------------------------------------

    def set_models(self, names: list[str] | tuple[str, ...]) -> None:
        """Offer the models the provider listed (first), keeping the current choice."""
        self._offered = list(names)
        model = str(self.model.value)
        self.model.options = self._model_options(model)
        self._describe_model()

    def apply_profile(self, profile: Profile) -> None:
        """Offer what ``profile`` offers, keeping the current choices where it can."""
        self._profile = profile
        model = str(self.model.value)
        self.model.options = self._model_options(model)
        self.model.value = model
        self._fill_sizes()
        self._fill_seconds()
        self._fill_extras()
        self._update_count()

    def show_remix(self, job: Job | None) -> None:
        """Remix mode for ``job`` (only the prompt stays editable, prefilled with the job's), or
        back to a new video with None."""
        self._remixing = job
        if job is not None:
            self.prompt.value = job.request.prompt
            self.remix_note.value = (
                f"<span role='status'>Remixing <code>{html.escape(job.id or '')}</code>: say "
                "what should change, then Submit. Model, size and length stay those of the "
                "source.</span>"
            )
        else:
            self.remix_note.value = ""
        self.remix_bar.layout.display = None if job is not None else "none"
        for widget in (self.model, self.size, self.seconds, self.variants, *self.extras.values()):
            widget.disabled = job is not None

    # -- filling -------------------------------------------------------------------------------

    def _model_options(self, current: str) -> list[str]:
        names = self._offered or list(self._profile.model_names)
        return _unique([n for n in [*names, current] if n])

    def _describe_model(self) -> None:
        model = str(self.model.value).strip()
        spec = self._profile.model_spec(model) if model else None
        if not model:
            text = "Choose or type a model."
        elif spec is None:
            text = (
                f"{html.escape(model)} is not in the catalogue: only its shape is checked, and "
                "its price is the gateway's, if it says"
            )
        else:
            made = f"{html.escape(spec.provider)} · " if spec.provider else ""
            text = f"{made}{html.escape(spec.description)}"
        self.model_note.value = f'<span class="sora-model-note">{text}</span>'

    def _sizes_of(self, model: str) -> list[str]:
        spec = self._profile.model_spec(model)
        if spec is not None and spec.sizes:
            return [*spec.sizes, *(["auto"] if spec.auto else [])]
        return _unique([s for m in self._profile.known_models[:2] for s in m.sizes])

    def _seconds_of(self, model: str) -> list[str]:
        spec = self._profile.model_spec(model)
        if spec is not None and spec.seconds:
            return list(spec.seconds)
        values = _unique([s for m in self._profile.known_models[:2] for s in m.seconds])
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
        self.size.options = [(_size_label(s), s) for s in sizes]
        self.size.value = current if current in sizes else sizes[0]

    def _fill_seconds(self, wanted: str | None = None) -> None:
        model = str(self.model.value)
        values = self._seconds_of(model)
        current = wanted or self.seconds.value
        if current not in values:
            default = self._profile.defaults_for(model)[1]
            current = default if default in values else values[0]
        self.seconds.options = [(f"{s} s", s) for s in values]
        self.seconds.tooltips = [f"{s} seconds" for s in values]
        self.seconds.value = current

    def _fill_extras(self) -> None:
        old = list(self.extras.values())
        widgets: dict[str, Any] = {}
        spec = self._profile.model_spec(str(self.model.value))
        names = set(self._profile.extra_fields) | (spec.extra_fields if spec else set())
        for name in sorted(names):
            widget = _extra_widget(name)
            widget.disabled = self._remixing is not None
            widget.observe(self._changed, names="value")
            widgets[name] = widget
        self.extras.clear()
        self.extras.update(widgets)
        self.extras_box.children = tuple(widgets.values())
        for widget in old:
            close_descendants(widget)
            widget.close()

    def _update_count(self) -> None:
        count = len(self.prompt.value)
        limit = self._profile.max_prompt_chars
        over = " sora-over" if count > limit else ""
        self.prompt_count.value = (
            f'<span class="sora-count{over}">{count:,} / {limit:,} characters</span>'
        )

    def _prompt_changed(self, _change: Mapping[str, Any]) -> None:
        self._update_count()
        self._on_change()

    def _model_changed(self, _change: Mapping[str, Any]) -> None:
        self._fill_sizes()
        self._fill_seconds()
        self._fill_extras()
        self._describe_model()
        self._on_change()

    def _changed(self, _change: Mapping[str, Any]) -> None:
        self._on_change()

    def close(self) -> None:
        """Close the form and every widget in it."""
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return (
            f"RequestForm(model={self.model.value!r}, size={self.size.value!r}, "
            f"seconds={self.seconds.value!r})"
        )


def _size_label(size: str) -> str:
    """``1280x720 · 16:9 landscape``; ``auto · the model picks``."""
    if size == "auto":
        return "auto · the model picks"
    text = read_size(size)
    if text is None or text.kind != "pixels":
        return size
    return f"{size} · {ratio_of(*text.numbers)} {orientation(size)}"


def _extra_widget(name: str) -> Any:
    """The control for one extra field: a three-way choice for ``watermark``, else text."""
    if name == "watermark":
        return w.Dropdown(
            options=[("provider default", None), ("on", True), ("off", False)],
            value=None,
            description="Watermark",
            tooltip="Ask the provider for a watermark, or for none",
            layout=control(),
            style=LABEL_STYLE,
        )
    return w.Text(
        description=name,
        placeholder="empty: not sent",
        tooltip=f"The provider's extra field {name!r}",
        continuous_update=False,
        layout=control(),
        style=LABEL_STYLE,
    )
