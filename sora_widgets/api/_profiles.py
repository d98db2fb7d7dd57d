"""Provider profiles: what a provider accepts and what it costs.

A `Profile` maps model names to a `ModelSpec` (sizes, seconds, price per second by size), says how
``input_reference`` travels and which extra fields the provider takes. Model names are open: an
unknown model passes through, checked only as far as the user asked (prompt length, size shape).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from ._capabilities import CAPABILITIES
from ._errors import ValidationError

__all__ = [
    "BUILTIN_PROFILES",
    "CAPABILITIES",
    "MAX_PROMPT_CHARS",
    "ModelSpec",
    "Profile",
    "get_profile",
    "orientation",
    "parse_size",
]

MAX_PROMPT_CHARS = 32000
"""The API's limit on prompt length, in characters."""

ReferenceForm = Literal["file", "object", "url"]
"""How ``input_reference`` travels: an uploaded file (multipart), a JSON ``{"image_url": …}``
object, or a plain URL string (relays)."""

_SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$")


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
    """``landscape``, ``portrait`` or ``square`` for a ``WxH`` size; ``""`` if it is not one."""
    try:
        w, h = parse_size(size)
    except ValidationError:
        return ""
    return "landscape" if w > h else "portrait" if h > w else "square"


def _capabilities(**known: bool | None) -> Mapping[str, bool | None]:
    """Every capability of `CAPABILITIES`, None (unknown) unless given."""
    unknown = set(known) - set(CAPABILITIES)
    if unknown:
        raise ValidationError(
            f"capabilities {sorted(unknown)} are unknown (choose from {', '.join(CAPABILITIES)})",
            param="capabilities",
        )
    return MappingProxyType({name: known.get(name) for name in CAPABILITIES})


_ALL_CAPABILITIES = _capabilities(**dict.fromkeys(CAPABILITIES, True))
_UNKNOWN_CAPABILITIES = _capabilities()


def _join_or(values: Iterable[str]) -> str:
    items = list(values)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@dataclass(frozen=True)
class ModelSpec:
    """One model of a provider: the sizes and lengths it offers and its price per second by size."""

    name: str
    sizes: tuple[str, ...]
    seconds: tuple[str, ...]
    price_per_second: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """US dollars per second of video, by size; a size missing here has no known price."""
    aliases: tuple[str, ...] = ()
    """Other names of the same model, e.g. dated snapshots."""
    description: str = ""

    def sizes_by_orientation(self, kind: str) -> tuple[str, ...]:
        """The sizes of this model that are ``kind``: ``landscape``, ``portrait`` or ``square``."""
        return tuple(s for s in self.sizes if orientation(s) == kind)


@dataclass(frozen=True)
class Profile:
    """What one provider accepts, and how requests must be shaped for it."""

    name: str
    models: tuple[ModelSpec, ...]
    default_model: str = "sora-2"
    default_size: str = "720x1280"
    default_seconds: str = "4"
    reference_form: ReferenceForm = "file"
    """How a reference image travels: ``file`` (multipart upload), ``object`` (JSON image_url),
    ``url`` (a URL string; files become data URLs)."""
    body_encoding: Literal["multipart", "json"] = "multipart"
    """How create requests are encoded when they carry no file."""
    extra_fields: frozenset[str] = frozenset()
    """Fields beyond the contract this provider takes (e.g. ``watermark``)."""
    open_extra_fields: bool = False
    """True when the provider passes any extra field on (a gateway forwarding provider-specific
    parameters): then ``extra_fields`` is not a limit."""
    url_references: bool = True
    """False when a reference cannot travel as a URL (LiteLLM crashes on ``{"image_url": …}`` and
    forwards a URL string as the "image"): fetch and fit it locally, then upload the file."""
    capabilities: Mapping[str, bool | None] = field(default_factory=lambda: _UNKNOWN_CAPABILITIES)
    """What the provider is known to do beyond create and retrieve, by capability (see
    `CAPABILITIES`): True, False, or None when unknown (try it; the client learns)."""
    max_running: int | None = 2
    """How many jobs may run at once per key (None: no known limit)."""
    max_prompt_chars: int = MAX_PROMPT_CHARS
    billing: Literal["real", "simulated"] = "real"
    """``simulated`` when the provider renders for free (the emulator): costs are shown as what
    the official price list would charge."""
    description: str = ""

    # -- lookups -------------------------------------------------------------------------------

    def model_spec(self, model: str) -> ModelSpec | None:
        """The spec of ``model`` or of the model it is an alias of; None for an unknown model."""
        for spec in self.models:
            if model == spec.name or model in spec.aliases:
                return spec
        return None

    @property
    def model_names(self) -> tuple[str, ...]:
        """The names of the models this profile knows, without their aliases."""
        return tuple(spec.name for spec in self.models)

    def with_(self, **changes: Any) -> Profile:
        """A copy with some fields changed, e.g. ``get_profile("relay").with_(max_running=4)``.

        ``capabilities`` may be given in part (``{"delete": False}``): the rest are kept.
        """
        if "capabilities" in changes:
            merged = {**self.capabilities, **changes["capabilities"]}
            changes["capabilities"] = _capabilities(**merged)
        return replace(self, **changes)

    def supports(self, capability: str) -> bool | None:
        """What the profile knows of ``capability``: True, False, or None (unknown, try it).

        Raises `ValidationError` for a name not in `CAPABILITIES`.
        """
        if capability not in CAPABILITIES:
            raise ValidationError(
                f"capability {capability!r} is unknown (choose {_join_or(CAPABILITIES)})",
                param="capability",
            )
        return self.capabilities.get(capability)

    # -- checks --------------------------------------------------------------------------------

    def check(
        self,
        *,
        prompt: str | None = None,
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Raise `ValidationError` naming the value and the fix if this provider would refuse it.

        Only what is given is checked; an unknown model passes with only its size shape checked.
        """
        if prompt is not None:
            check_prompt(prompt, limit=self.max_prompt_chars)
        model = model or self.default_model
        spec = self.model_spec(model)
        if size is not None:
            parse_size(size)
            if spec is not None and size not in spec.sizes:
                others = [m.name for m in self.models if m is not spec and size in m.sizes]
                hint = f"choose {_join_or(spec.sizes)}"
                if others:
                    hint += f", or use {_join_or(others)}"
                raise ValidationError(
                    f"size {size!r} is not offered by {spec.name} on {self.name} ({hint})",
                    param="size",
                )
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (str, int)):
                raise ValidationError(
                    f"seconds {seconds!r} must be a whole number such as '4'", param="seconds"
                )
            text = str(seconds).strip()
            if not text.isdigit():
                raise ValidationError(
                    f"seconds {seconds!r} must be a whole number such as '4'", param="seconds"
                )
            if spec is not None and text not in spec.seconds:
                raise ValidationError(
                    f"seconds {text!r} is not offered by {spec.name} on {self.name} "
                    f"(choose {_join_or(spec.seconds)})",
                    param="seconds",
                )
        for key in extra or {}:
            if key in _CONTRACT_FIELDS or self.open_extra_fields:
                continue
            if key not in self.extra_fields:
                allowed = (
                    f"this profile takes {_join_or(sorted(self.extra_fields))}"
                    if self.extra_fields
                    else "this profile takes no extra fields"
                )
                raise ValidationError(
                    f"extra field {key!r} is not accepted by {self.name} ({allowed}; "
                    "use the 'relay' profile or a custom Profile for a gateway that takes it)",
                    param=key,
                )

    def estimate_cost(self, model: str, size: str, seconds: str | int) -> float | None:
        """Estimated price in US dollars, or None when the price is unknown."""
        spec = self.model_spec(model)
        if spec is None:
            return None
        per_second = spec.price_per_second.get(size)
        if per_second is None:
            return None
        try:
            length = int(str(seconds))
        except ValueError:
            return None
        return round(per_second * length, 4)


_CONTRACT_FIELDS = frozenset({"prompt", "model", "size", "seconds", "input_reference"})


def check_prompt(prompt: object, *, limit: int = MAX_PROMPT_CHARS) -> None:
    """Raise `ValidationError` unless ``prompt`` is a non-blank string of at most ``limit`` chars."""
    if not isinstance(prompt, str):
        raise ValidationError(f"prompt must be text, not {type(prompt).__name__}", param="prompt")
    if not prompt.strip():
        raise ValidationError("prompt is empty (describe the video you want)", param="prompt")
    if len(prompt) > limit:
        raise ValidationError(
            f"prompt is {len(prompt)} characters long; the limit is {limit} "
            f"(shorten it by {len(prompt) - limit})",
            param="prompt",
        )
    bad = sorted({c for c in prompt if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        raise ValidationError(
            f"prompt holds control characters ({shown}); remove them (a paste from a terminal "
            "or a binary file?)",
            param="prompt",
        )


_PORTRAIT_LANDSCAPE = ("720x1280", "1280x720")
_PRO_TALL_WIDE = ("1024x1792", "1792x1024")
_HD = ("1080x1920", "1920x1080")

_OPENAI_MODELS = (
    ModelSpec(
        name="sora-2",
        sizes=_PORTRAIT_LANDSCAPE,
        seconds=("4", "8", "12"),
        price_per_second=MappingProxyType({s: 0.10 for s in _PORTRAIT_LANDSCAPE}),
        aliases=("sora-2-2025-10-06", "sora-2-2025-12-08"),
        description="fast, 720p",
    ),
    ModelSpec(
        name="sora-2-pro",
        sizes=_PORTRAIT_LANDSCAPE + _PRO_TALL_WIDE,
        seconds=("4", "8", "12"),
        price_per_second=MappingProxyType(
            {**{s: 0.30 for s in _PORTRAIT_LANDSCAPE}, **{s: 0.50 for s in _PRO_TALL_WIDE}}
        ),
        aliases=("sora-2-pro-2025-10-06",),
        description="higher quality, slower",
    ),
)

_RELAY_MODELS = (
    replace(_OPENAI_MODELS[0], seconds=("4", "8", "10", "12", "15", "16", "20")),
    replace(
        _OPENAI_MODELS[1],
        sizes=_PORTRAIT_LANDSCAPE + _PRO_TALL_WIDE + _HD,
        seconds=("4", "8", "10", "12", "15", "16", "20"),
        price_per_second=MappingProxyType(
            {
                **{s: 0.30 for s in _PORTRAIT_LANDSCAPE},
                **{s: 0.50 for s in _PRO_TALL_WIDE},
                **{s: 0.70 for s in _HD},
            }
        ),
    ),
)

BUILTIN_PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "openai": Profile(
            name="openai",
            models=_OPENAI_MODELS,
            capabilities=_ALL_CAPABILITIES,
            description="the official /v1/videos contract (OpenAI shut its service down on 2026-09-24)",
        ),
        "relay": Profile(
            name="relay",
            models=_RELAY_MODELS,
            reference_form="url",
            body_encoding="json",
            extra_fields=frozenset({"watermark"}),
            description="an OpenAI-compatible gateway: watermark, URL references, more lengths",
        ),
        "litellm": Profile(
            name="litellm",
            models=_OPENAI_MODELS,
            reference_form="file",
            body_encoding="multipart",
            open_extra_fields=True,
            url_references=False,
            max_running=None,
            capabilities=_capabilities(
                list=False, delete=False, variants=False, range=False, remix=True
            ),
            description=(
                "LiteLLM's proxy (litellm[proxy]): /v1/videos routed to Azure's Sora, Veo, Runway "
                "and others; uploads only, no list, no delete, no thumbnail or Range"
            ),
        ),
        "emulator": Profile(
            name="emulator",
            models=_OPENAI_MODELS,
            capabilities=_ALL_CAPABILITIES,
            billing="simulated",
            max_running=None,
            description="the local emulator: the official contract, synthetic videos, nothing billed",
        ),
    }
)


def get_profile(profile: str | Profile | None = None) -> Profile:
    """The built-in profile of that name (``openai``, ``relay``, ``litellm``, ``emulator``), or
    ``profile`` itself; `ValidationError` for another name."""
    if isinstance(profile, Profile):
        return profile
    name = (profile or "openai").strip().lower()
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        raise ValidationError(
            f"profile {profile!r} is unknown (choose {_join_or(BUILTIN_PROFILES)}, "
            "or pass a Profile object)",
            param="profile",
        ) from None
