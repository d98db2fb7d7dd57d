"""Provider profiles: what a provider accepts and what it costs.

A `Profile` maps model names to a `ModelSpec` (sizes, seconds, price per second by size), says how
``input_reference`` travels and which extra fields the provider takes. Model names are open: an
unknown model passes through, checked only as far as the user asked (prompt length, size shape).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from ._capabilities import CAPABILITIES
from ._catalogue import ModelSpec, catalogue_names, find_model, join_or
from ._errors import ValidationError
from ._sizes import nominal_pixels, orientation, parse_size, read_size

__all__ = [
    "BUILTIN_PROFILES",
    "CAPABILITIES",
    "MAX_PROMPT_CHARS",
    "ModelSpec",
    "Profile",
    "Resolved",
    "get_profile",
    "orientation",
    "parse_size",
]

MAX_PROMPT_CHARS = 32000
"""The API's limit on prompt length, in characters."""

MAX_SECONDS = 600
"""The longest length any check lets through (ten minutes): anything longer is a typo."""

ReferenceForm = Literal["file", "object", "url"]
"""How ``input_reference`` travels: an uploaded file (multipart), a JSON ``{"image_url": …}``
object, or a plain URL string (relays)."""

_SECONDS_RE = re.compile(r"^\s*(\d{1,4})(?:\.0+)?\s*(?:s|sec|secs|seconds?)?\s*$", re.IGNORECASE)

_SKIP = "to send it anyway, pass validate=False or %sora --no-validate"


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


_join_or = join_or


@dataclass(frozen=True)
class Resolved:
    """A create's model, size and length as they will be sent, and what is known of the model."""

    model: str
    size: str
    """The size to send: the model's pixel size for a ratio, tier or orientation asked."""
    seconds: str
    spec: ModelSpec | None
    """The model's catalogue entry (None: an unknown model, passed through)."""
    asked_size: str
    """The size as asked (``16:9``), for messages and the preview's label."""

    @property
    def pixels(self) -> tuple[int, int] | None:
        """The pixel size a reference is fitted to, or None (``auto``: the picture's own)."""
        if self.size == "auto":
            return None
        text = read_size(self.size)
        if text is not None and text.kind == "pixels":
            return text.numbers
        return nominal_pixels(self.size)


@dataclass(frozen=True)
class Profile:
    """What one provider accepts, and how requests must be shaped for it."""

    name: str
    models: tuple[ModelSpec, ...] = ()
    """The profile's own model entries: they win over the catalogue's of the same name."""
    offers: tuple[str, ...] = ("sora-2", "sora-2-pro")
    """The models it offers, first in lists; ``("*",)`` is the whole catalogue."""
    overrides: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Per model, catalogue fields this provider offers otherwise (``{"sora-2": {"seconds": …}}``)."""
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
    gateway: bool = False
    """True for a gateway that routes model names anywhere (LiteLLM, a relay)."""
    description: str = ""

    # -- lookups -------------------------------------------------------------------------------

    def model_spec(self, model: str) -> ModelSpec | None:
        """What is known of ``model`` (or the model it is an alias of) here: the profile's own
        entry, else the catalogue's (user entries first), narrowed to what this provider offers;
        None for an unknown model."""
        spec = next((m for m in self.models if model == m.name or model in m.aliases), None)
        if spec is None:
            spec = find_model(model)
        if spec is None:
            return None
        changes: Mapping[str, Any] | None = self.overrides.get(spec.name)
        return replace(spec, **changes, origin="profile") if changes else spec

    def offered_spec(self, model: str) -> ModelSpec | None:
        """`model_spec` for a model this provider offers (`offers`), else None."""
        spec = self.model_spec(model)
        if spec is None or "*" in self.offers or spec in self.models:
            return spec
        return spec if spec.name in self.offers else None

    @property
    def known_models(self) -> tuple[ModelSpec, ...]:
        """The entries of the models it offers, in order (the whole catalogue for ``*``)."""
        names = list(self.offers)
        if "*" in names:
            names = [n for n in names if n != "*"] + list(catalogue_names())
        specs = [m for m in self.models]
        for name in dict.fromkeys(names):
            spec = self.model_spec(name)
            if spec is not None and all(spec.name != m.name for m in specs):
                specs.append(spec)
        return tuple(specs)

    @property
    def model_names(self) -> tuple[str, ...]:
        """The names of the models it offers, without their aliases."""
        return tuple(spec.name for spec in self.known_models)

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

    def resolve(
        self,
        *,
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        extra: Mapping[str, Any] | None = None,
        validate: bool = True,
    ) -> Resolved:
        """The model, size and length to send, checked as far as the model is known.

        A catalogued model is checked against its entry, and a ratio, tier or orientation becomes
        its pixel size; an unknown model is checked only for shape. With ``validate=False``
        nothing is checked and everything is sent as asked (defaults fill what is missing).
        Raises `ValidationError` naming the value, what the model takes and how to skip the check.
        """
        model = (model or self.default_model).strip() if validate else model or self.default_model
        spec = self.model_spec(model)
        asked = size if size is not None else None
        if asked is None:
            asked = (spec.first_size if spec else None) or self.default_size
        if seconds is None:
            seconds = (spec.first_seconds if spec else None) or self.default_seconds
        if not validate:
            return Resolved(model, str(asked).strip(), str(seconds).strip(), spec, str(asked))
        sent = self._resolve_size(spec, asked)
        length = self._check_seconds(spec, seconds)
        self._check_extra(spec, extra or {})
        return Resolved(model, sent, length, spec, str(asked).strip())

    def _resolve_size(self, spec: ModelSpec | None, asked: object) -> str:
        if spec is not None and spec.sizes:
            wanted = asked if isinstance(asked, str) else "x".join(map(str, parse_size(asked)))  # type: ignore[arg-type]
            try:
                return spec.resolve_size(wanted)
            except ValidationError as exc:
                others = [
                    name
                    for name in self.offers
                    if name not in ("*", spec.name)
                    and (other := self.model_spec(name)) is not None
                    and wanted.strip() in other.size_words()
                ]
                if not others:
                    raise
                raise ValidationError(
                    f"{str(exc).rstrip(')')}; or use {_join_or(others)})", param="size"
                ) from None
        text = read_size(asked)
        if text is None:
            raise ValidationError(
                f"size {asked!r} is not a size (write it like '1280x720', '16:9', '720p' or "
                f"'auto', or landscape/portrait/square; {_SKIP})",
                param="size",
            )
        if text.kind == "pixels" and not all(16 <= v <= 8192 for v in text.numbers):
            raise ValidationError(
                f"size {asked!r} is outside 16 to 8192 pixels a side ({_SKIP})", param="size"
            )
        if text.kind == "orientation":
            w, h = nominal_pixels(text.text) or (1280, 720)
            return f"{w}x{h}"
        return text.text

    def _check_seconds(self, spec: ModelSpec | None, seconds: object) -> str:
        match = (
            _SECONDS_RE.match(str(seconds))
            if isinstance(seconds, (str, int)) and not isinstance(seconds, bool)
            else None
        )
        if match is None or not 1 <= int(match.group(1)) <= MAX_SECONDS:
            takes = f"; {spec.name} takes {_join_or(spec.seconds)}" if spec and spec.seconds else ""
            raise ValidationError(
                f"seconds {seconds!r} must be a whole number of seconds from 1 to {MAX_SECONDS}, "
                f"such as '4' or '8s'{takes}; {_SKIP}",
                param="seconds",
            )
        text = str(int(match.group(1)))
        if spec is not None and spec.seconds and text not in spec.seconds:
            raise ValidationError(
                f"seconds {text!r} is not offered by {spec.name} (it takes "
                f"{_join_or(spec.seconds)}; {_SKIP})",
                param="seconds",
            )
        return text

    def _check_extra(self, spec: ModelSpec | None, extra: Mapping[str, Any]) -> None:
        for key in extra:
            if key in _CONTRACT_FIELDS or self.open_extra_fields or key in self.extra_fields:
                continue
            if spec is not None and key in spec.extra_fields:
                continue
            takes = sorted(self.extra_fields | (spec.extra_fields if spec else frozenset()))
            allowed = f"it takes {_join_or(takes)}" if takes else "it takes no extra fields"
            raise ValidationError(
                f"extra field {key!r} is not accepted by the {self.name} profile ({allowed}; "
                f"{_SKIP}, or use a gateway profile such as litellm, which passes extra fields on)",
                param=key,
            )

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

        Only what is given is checked (see `resolve`); an unknown model gets shape checks only.
        """
        if prompt is not None:
            check_prompt(prompt, limit=self.max_prompt_chars)
        if model is None and size is None and seconds is None and not extra:
            return
        self.resolve(model=model, size=size, seconds=seconds, extra=extra)

    def estimate_cost(self, model: str, size: str, seconds: str | int) -> float | None:
        """Estimated price in US dollars, or None when the price is unknown."""
        spec = self.model_spec(model)
        return None if spec is None else spec.cost(size, seconds)

    def defaults_for(self, model: str | None) -> tuple[str, str]:
        """The size and length a create of ``model`` gets when none are asked for."""
        spec = self.model_spec(model or self.default_model)
        size = (spec.first_size if spec else None) or self.default_size
        seconds = (spec.first_seconds if spec else None) or self.default_seconds
        return size, seconds


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


_SPEC_SORA = MappingProxyType(
    {
        "sora-2": MappingProxyType({"seconds": ("4", "8", "12")}),
        "sora-2-pro": MappingProxyType(
            {
                "seconds": ("4", "8", "12"),
                "sizes": ("720x1280", "1280x720", "1024x1792", "1792x1024"),
            }
        ),
    }
)
"""The official contract's Sora: 4, 8 or 12 s, and no 1080p (the 2026 guide added both)."""

_RELAY_SORA = MappingProxyType(
    {
        "sora-2": MappingProxyType({"seconds": ("4", "8", "10", "12", "15", "16", "20")}),
        "sora-2-pro": MappingProxyType({"seconds": ("4", "8", "10", "12", "15", "16", "20")}),
    }
)
"""What the started-from relay offered: more lengths."""

BUILTIN_PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "openai": Profile(
            name="openai",
            overrides=_SPEC_SORA,
            capabilities=_ALL_CAPABILITIES,
            description="the official /v1/videos contract (OpenAI shut its service down on 2026-09-24)",
        ),
        "relay": Profile(
            name="relay",
            overrides=_RELAY_SORA,
            reference_form="url",
            body_encoding="json",
            extra_fields=frozenset({"watermark"}),
            open_extra_fields=True,
            gateway=True,
            description="an OpenAI-compatible gateway: watermark, URL references, more lengths",
        ),
        "litellm": Profile(
            name="litellm",
            offers=("sora-2", "sora-2-pro", "*"),
            reference_form="file",
            body_encoding="multipart",
            open_extra_fields=True,
            url_references=False,
            max_running=None,
            gateway=True,
            capabilities=_capabilities(
                list=False,
                delete=False,
                variants=False,
                range=False,
                remix=True,
                edit=True,  # 1.108.7 routes POST /v1/videos/edits and /v1/videos/extensions
                extend=True,
            ),
            description=(
                "LiteLLM's proxy (litellm[proxy]): /v1/videos routed to Azure's Sora, Veo, Runway "
                "and others; uploads only, no list, no delete, no thumbnail or Range"
            ),
        ),
        "emulator": Profile(
            name="emulator",
            offers=("sora-2", "sora-2-pro", "*"),
            capabilities=_ALL_CAPABILITIES,
            billing="simulated",
            max_running=None,
            description=(
                "the local emulator: the official contract and every catalogued model, synthetic "
                "videos, nothing billed"
            ),
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
