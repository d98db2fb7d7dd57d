"""The model catalogue: what each video model takes and costs, as data.

The shipped entries live in ``catalogue/models.toml`` (written by hand: Sora, Veo, Runway) and
``catalogue/litellm.toml`` (the video models LiteLLM's price map prices, written by
``tools/catalogue_from_litellm.py``); both are read on first use. Users add or override entries
with `register_model` (also ``%config SoraMagics.models`` and ``$SORA_WIDGETS_HOME/models.toml``,
read by `load_models_file`). A name is looked up as: registered, then hand-written, then LiteLLM's.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ._errors import ValidationError
from ._sizes import ORIENTATIONS, orientation, parse_size, ratio_of, read_size, size_tier

__all__ = [
    "ModelSpec",
    "ReferenceFit",
    "catalogue_names",
    "find_model",
    "join_or",
    "load_models_file",
    "model_from_mapping",
    "register_model",
    "registered_models",
    "unregister_model",
]

ReferenceFit = Literal["exact", "ratio", "any", "none"]
"""How a model takes a reference image: ``exact`` (the size's pixels), ``ratio`` (the size's
aspect ratio, any pixels), ``any`` (any picture) or ``none`` (no reference)."""

_FITS: tuple[str, ...] = ("exact", "ratio", "any", "none")


def join_or(values: Iterable[str], limit: int = 12) -> str:
    """``a, b or c``; long lists end in ``… (N in all)``."""
    items = list(values)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", … ({len(items)} in all)"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@dataclass(frozen=True)
class ModelSpec:
    """One video model: the sizes and lengths it takes, what else it does, and its price."""

    name: str
    sizes: tuple[str, ...]
    """The ``WxH`` sizes it renders (empty: any size is passed through unchecked)."""
    seconds: tuple[str, ...]
    """The lengths it takes, in whole seconds (empty: any sane length)."""
    price_per_second: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """US dollars per second of video, by ``WxH`` size, by tier (``720p``) or ``default``."""
    aliases: tuple[str, ...] = ()
    """Other names of the same model: dated snapshots, a gateway's ``provider/model`` names."""
    description: str = ""
    provider: str = ""
    """Who makes it (``OpenAI``, ``Google``, ``Runway`` …)."""
    default_size: str | None = None
    default_seconds: str | None = None
    auto: bool = False
    """True when it takes ``size="auto"`` (it picks the size, e.g. from the reference)."""
    reference: ReferenceFit = "exact"
    remix: bool | None = None
    edit: bool | None = None
    extend: bool | None = None
    audio: bool | None = None
    extra_fields: frozenset[str] = frozenset()
    """Fields beyond the contract it takes (e.g. ``negativePrompt``), passed on by a gateway."""
    price_source: str = ""
    """Where the price came from (a price list's name and address)."""
    price_date: str = ""
    """When the price was read (``YYYY-MM-DD``)."""
    origin: str = "catalogue"
    """``catalogue``, ``litellm`` (LiteLLM's price map), ``profile``, ``user`` or ``gateway``."""

    # -- what it takes -------------------------------------------------------------------------

    @property
    def ratios(self) -> tuple[str, ...]:
        """The aspect ratios of its sizes, in order (``16:9``, ``9:16`` …)."""
        return tuple(dict.fromkeys(ratio_of(*parse_size(s)) for s in self.sizes))

    @property
    def tiers(self) -> tuple[str, ...]:
        """The resolution tiers of its sizes, in order (``720p``, ``1080p`` …)."""
        return tuple(dict.fromkeys(t for s in self.sizes if (t := size_tier(s))))

    @property
    def first_size(self) -> str | None:
        """The size used when none is asked for."""
        return self.default_size or (self.sizes[0] if self.sizes else None)

    @property
    def first_seconds(self) -> str | None:
        """The length used when none is asked for."""
        return self.default_seconds or (self.seconds[0] if self.seconds else None)

    def sizes_by_orientation(self, kind: str) -> tuple[str, ...]:
        """The sizes of this model that are ``kind``: ``landscape``, ``portrait`` or ``square``."""
        return tuple(s for s in self.sizes if orientation(s) == kind)

    def size_words(self) -> tuple[str, ...]:
        """Everything it takes as a size: its pixel sizes, ratios, tiers, orientations, ``auto``."""
        words = [*self.sizes, *self.ratios, *self.tiers]
        words += [o for o in ORIENTATIONS if self.sizes_by_orientation(o)]
        if self.auto:
            words.append("auto")
        return tuple(words)

    def resolve_size(self, asked: str) -> str:
        """The size to send for ``asked`` (pixels, a ratio, a tier, an orientation or ``auto``).

        A ratio takes its size at the tier of the default size (else the smallest); a tier takes
        its size in the default size's orientation (else the first). Raises `ValidationError`
        naming what the model takes when it takes nothing that matches.
        """
        text = read_size(asked)
        if text is None:
            raise ValidationError(
                f"size {asked!r} is not a size (write '1280x720', '16:9', '720p', 'auto' or "
                f"landscape/portrait/square; {self.name} takes {self.describe_sizes()})",
                param="size",
            )
        if not self.sizes:
            return asked.strip() if text.kind != "pixels" else text.text
        if text.kind == "pixels":
            return text.text if text.text in self.sizes else self._refuse(asked)
        if text.kind == "auto":
            return "auto" if self.auto else (self.first_size or self._refuse(asked))
        pool = self._matching(text.kind, text.text)
        if not pool:
            self._refuse(asked)
        default = self.first_size or pool[0]
        if text.kind == "tier":
            same = [s for s in pool if orientation(s) == orientation(default)]
            return (same or pool)[0]
        same_tier = [s for s in pool if size_tier(s) == size_tier(default)]
        return (same_tier or sorted(pool, key=lambda s: min(parse_size(s))))[0]

    def _matching(self, kind: str, text: str) -> list[str]:
        if kind == "ratio":
            w, h = (int(v) for v in text.split(":"))
            return [s for s in self.sizes if ratio_of(*parse_size(s)) == ratio_of(w, h)]
        if kind == "tier":
            return [s for s in self.sizes if size_tier(s) == text]
        return list(self.sizes_by_orientation(text))

    def describe_sizes(self) -> str:
        """``1280x720 or 720x1280 (16:9, 9:16; 720p)`` for messages."""
        if not self.sizes:
            return "any size"
        extra = ", ".join(self.ratios)
        if self.tiers:
            extra += "; " + ", ".join(self.tiers)
        if self.auto:
            extra += "; auto"
        return f"{join_or(self.sizes)} ({extra})"

    def _refuse(self, asked: str) -> str:
        raise ValidationError(
            f"size {asked!r} is not offered by {self.name} (it takes {self.describe_sizes()}; "
            "to send it anyway, pass validate=False or %sora --no-validate)",
            param="size",
        )

    # -- prices --------------------------------------------------------------------------------

    def price(self, size: str) -> float | None:
        """Dollars per second at ``size`` (exact size, then its tier, then ``default``)."""
        prices = self.price_per_second
        if size in prices:
            return prices[size]
        tier = size_tier(size)
        if tier is not None and tier in prices:
            return prices[tier]
        return prices.get("default")

    def cost(self, size: str, seconds: str | int) -> float | None:
        """Estimated dollars for one video, or None when the price (or the length) is unknown."""
        rate = self.price(size)
        if rate is None:
            return None
        try:
            length = int(str(seconds).strip().rstrip("s"))
        except ValueError:
            return None
        return round(rate * length, 4)

    @property
    def price_origin(self) -> str:
        """Where the price came from, for a cost line: ``OpenAI's price list, 2025-10-06``."""
        parts = [p for p in (self.price_source.split(",")[0].strip(), self.price_date) if p]
        return ", ".join(parts) or _ORIGINS.get(self.origin, self.origin)

    def with_(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed."""
        return replace(self, **changes)


_ORIGINS = {
    "user": "your model entry",
    "gateway": "the gateway's model list",
    "catalogue": "the kit's catalogue",
    "litellm": "LiteLLM's price map",
    "profile": "the provider's profile",
}


# -- reading entries ------------------------------------------------------------------------------

_FIELD_NAMES = {f.name for f in fields(ModelSpec)}


def _strings(name: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping) and key == "seconds":  # {min = 4, max = 8}
        low, high = value.get("min"), value.get("max")
        if isinstance(low, int) and isinstance(high, int) and 0 < low <= high <= 600:
            return tuple(str(v) for v in range(low, high + 1))
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
    ):
        raise ValidationError(
            f"model {name!r}: {key} must be a list of values, not {value!r}", param=key
        )
    return tuple(str(v).strip() for v in value)


def _check_sizes(name: str, sizes: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for size in sizes:
        text = read_size(size)
        if text is None or text.kind != "pixels":
            raise ValidationError(
                f"model {name!r}: size {size!r} is not WIDTHxHEIGHT (list pixel sizes; ratios "
                "and tiers are worked out from them)",
                param="sizes",
            )
        if any(v % 2 for v in text.numbers):
            raise ValidationError(
                f"model {name!r}: size {size!r} has an odd side (video sizes are even, e.g. "
                f"{text.numbers[0] // 2 * 2}x{text.numbers[1] // 2 * 2})",
                param="sizes",
            )
        out.append(text.text)
    return tuple(out)


def _check_seconds(name: str, seconds: tuple[str, ...]) -> tuple[str, ...]:
    for value in seconds:
        if not value.isdigit() or not 1 <= int(value) <= 600:
            raise ValidationError(
                f"model {name!r}: seconds {value!r} must be whole numbers of seconds from 1 to "
                "600, e.g. [4, 8] or { min = 2, max = 10 }",
                param="seconds",
            )
    return tuple(str(int(v)) for v in seconds)


_FLAGS = ("auto", "remix", "edit", "extend", "audio")


def _check_entry(spec: ModelSpec) -> ModelSpec:
    """Defaults that are among the entry's own values; flags that are booleans."""
    name = spec.name
    for flag in _FLAGS:
        value = getattr(spec, flag)
        if not isinstance(value, bool) and not (value is None and flag != "auto"):
            raise ValidationError(
                f"model {name!r}: {flag} must be true or false, not {value!r}", param=flag
            )
    if spec.default_size is not None and spec.sizes and spec.default_size not in spec.sizes:
        raise ValidationError(
            f"model {name!r}: default_size {spec.default_size!r} is not one of its sizes "
            f"({join_or(spec.sizes)})",
            param="default_size",
        )
    if (
        spec.default_seconds is not None
        and spec.seconds
        and spec.default_seconds not in spec.seconds
    ):
        raise ValidationError(
            f"model {name!r}: default_seconds {spec.default_seconds!r} is not one of its "
            f"lengths ({join_or(spec.seconds)})",
            param="default_seconds",
        )
    return spec


def _prices(name: str, value: Any) -> Mapping[str, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = {"default": value}
    if not isinstance(value, Mapping) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value.values()
    ):
        raise ValidationError(
            f"model {name!r}: price must be dollars per second (a number, or a table by size, "
            f"tier or 'default'), not {value!r}",
            param="price",
        )
    return MappingProxyType({str(k): float(v) for k, v in value.items()})


def model_from_mapping(name: str, data: Mapping[str, Any], *, origin: str = "user") -> ModelSpec:
    """A `ModelSpec` from a catalogue entry (TOML table or dict); `ValidationError` naming the
    model and the field for anything malformed or unknown.

    Keys: ``sizes``, ``seconds`` (a list, or ``{min, max}``), ``price`` (dollars per second, or a
    table by size, tier or ``default``), and any other `ModelSpec` field.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"model name {name!r} must be non-empty text", param="model")
    values: dict[str, Any] = {"name": name.strip(), "origin": origin}
    for key, value in data.items():
        if key == "price":
            values["price_per_second"] = _prices(name, value)
        elif key in ("sizes", "aliases"):
            found = _strings(name, key, value)
            values[key] = _check_sizes(name, found) if key == "sizes" else found
        elif key == "seconds":
            values[key] = _check_seconds(name, _strings(name, key, value))
        elif key == "extra_fields":
            values[key] = frozenset(_strings(name, key, value))
        elif key == "reference":
            if value not in _FITS:
                raise ValidationError(
                    f"model {name!r}: reference {value!r} must be {join_or(_FITS)}",
                    param="reference",
                )
            values[key] = value
        elif key == "default_seconds":
            values[key] = _check_seconds(name, (str(value).strip(),))[0]
        elif key == "default_size":
            text = read_size(value)
            values[key] = text.text if text is not None and text.kind == "pixels" else str(value)
        elif key in _FIELD_NAMES and key not in ("name", "origin", "price_per_second"):
            values[key] = value
        else:
            known = sorted(_FIELD_NAMES - {"name", "origin", "price_per_second"} | {"price"})
            raise ValidationError(
                f"model {name!r}: {key!r} is not a catalogue field (use {', '.join(known)})",
                param=key,
            )
    values.setdefault("sizes", ())
    values.setdefault("seconds", ())
    return _check_entry(ModelSpec(**values))


def _read_toml(text: str, origin: str, where: str) -> dict[str, ModelSpec]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{where} is not valid TOML: {exc}") from None
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise ValidationError(f"{where}: [models] must be a table of tables")
    out: dict[str, ModelSpec] = {}
    for name, entry in models.items():
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where}: [models.{name!r}] must be a table")
        try:
            out[name] = model_from_mapping(name, entry, origin=origin)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}", param=exc.param) from None
    return out


# -- the catalogue --------------------------------------------------------------------------------

_lock = threading.Lock()
_shipped: dict[str, ModelSpec] | None = None
_by_alias: dict[str, str] = {}
_registered: dict[str, ModelSpec] = {}


def _load_shipped() -> dict[str, ModelSpec]:
    global _shipped
    with _lock:
        if _shipped is None:
            folder = resources.files("sora_widgets.api").joinpath("catalogue")
            litellm = _read_toml(
                folder.joinpath("litellm.toml").read_text("utf-8"), "litellm", "litellm.toml"
            )
            curated = _read_toml(
                folder.joinpath("models.toml").read_text("utf-8"), "catalogue", "models.toml"
            )
            merged = {**curated, **{k: v for k, v in litellm.items() if k not in curated}}
            for spec in merged.values():
                for alias in spec.aliases:
                    _by_alias.setdefault(alias, spec.name)
            _shipped = merged
        return _shipped


def catalogue_names(*, origin: str | None = None) -> tuple[str, ...]:
    """The names of every catalogued model (registered ones first), or of one ``origin``."""
    shipped = _load_shipped()
    names = [*_registered, *(n for n in shipped if n not in _registered)]
    if origin is None:
        return tuple(names)
    return tuple(n for n in names if (spec := find_model(n)) is not None and spec.origin == origin)


def find_model(name: str | None) -> ModelSpec | None:
    """The catalogue's entry for ``name`` or a name it is an alias of; None when unknown."""
    if not name:
        return None
    if name in _registered:
        return _registered[name]
    for spec in _registered.values():
        if name in spec.aliases:
            return spec
    shipped = _load_shipped()
    if name in shipped:
        return shipped[name]
    alias = _by_alias.get(name)
    if alias is None:
        return None
    return _registered.get(alias) or shipped[alias]  # an override reaches the shipped aliases


def register_model(spec: ModelSpec | str, /, **entry: Any) -> ModelSpec:
    """Add or override a catalogue entry for this process, and return it.

    ``register_model("my-veo", sizes=["1280x720"], seconds=[4, 8], price=0.4)`` or
    ``register_model(ModelSpec(...))``; an existing entry of that name (shipped or registered)
    is replaced. Raises `ValidationError` naming a malformed field.
    """
    if isinstance(spec, ModelSpec):
        if entry:
            spec = replace(spec, **entry)
        made = replace(spec, origin="user") if spec.origin == "catalogue" else spec
    else:
        made = model_from_mapping(spec, entry, origin="user")
    with _lock:
        _registered[made.name] = made
    return made


def unregister_model(name: str) -> bool:
    """Forget a registered entry (the shipped one, if any, applies again); True if one was."""
    with _lock:
        return _registered.pop(name, None) is not None


def registered_models() -> Mapping[str, ModelSpec]:
    """The entries added in this process, by name."""
    return MappingProxyType(dict(_registered))


def load_models_file(path: str | Path) -> list[ModelSpec]:
    """Register every entry of a TOML file (``[models."name"]`` tables); a missing file is no
    error. Raises `ValidationError` naming the file and the entry for a malformed one."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ValidationError(f"cannot read the model file {path}: {exc.strerror}") from None
    specs = _read_toml(text, "user", str(path))
    return [register_model(spec) for spec in specs.values()]
