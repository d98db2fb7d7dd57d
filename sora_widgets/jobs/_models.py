"""The models a provider offers, as far as it says: ``GET /v1/models`` and, on a gateway,
LiteLLM's ``GET /model/info`` (mode, upstream model, price), joined with the catalogue.

A gateway's own name for a catalogued model (``my-veo`` routed to
``gemini/veo-3.1-generate-preview``) is learned as that model: its sizes, lengths and price follow.
Blocking: call on the caller's thread (the panel's worker, a magic), never on the Runner's loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from ..api import (
    APIConnectionError,
    GatewayModel,
    GatewayPrice,
    ModelSpec,
    Profile,
    RetryPolicy,
    SoraError,
    find_model,
    register_model,
)
from ..config import Settings
from ._runner import Runner

__all__ = ["ModelRow", "ProviderModels", "provider_models"]

logger = logging.getLogger("sora_widgets")

VIDEO_MODE = "video_generation"


@dataclass(frozen=True)
class ModelRow:
    """One model a provider offers, and what the kit knows of it."""

    name: str
    spec: ModelSpec | None
    """The catalogue's entry (or the one learned from the gateway's upstream); None: unknown."""
    known_from: str
    """``catalogue`` (written by hand), ``litellm`` (LiteLLM's price map), ``user``
    (registered), ``gateway`` (its upstream is catalogued) or ``unknown`` (checked only for shape,
    priced only by the gateway)."""
    upstream: str | None = None
    gateway_price: GatewayPrice | None = None


@dataclass(frozen=True)
class ProviderModels:
    """The video models of one provider, and where the list came from."""

    rows: tuple[ModelRow, ...]
    source: str
    """``the provider's /v1/models``, ``the gateway's /model/info`` or ``the kit's catalogue``."""
    note: str = ""
    """Why the provider's own list is missing, when it is."""

    @property
    def names(self) -> tuple[str, ...]:
        """The model names, in order."""
        return tuple(row.name for row in self.rows)


@dataclass(frozen=True)
class _Answer:
    """What a provider said when asked (kept per provider, so a panel opens without asking)."""

    ids: list[str] | None
    info: list[GatewayModel] | None
    notes: tuple[str, ...]


_cache: dict[str, _Answer] = {}
_lock = threading.Lock()


def _known_from(spec: ModelSpec) -> str:
    """`ModelRow.known_from` of a model the kit knows (a profile's own entry is catalogue)."""
    return "catalogue" if spec.origin == "profile" else spec.origin


def _row(profile: Profile, name: str, info: GatewayModel | None) -> ModelRow:
    spec = profile.model_spec(name)
    upstream = info.upstream if info else None
    price = info.price if info else None
    if spec is not None:  # catalogued, registered, or learned from this gateway before
        return ModelRow(name, spec, _known_from(spec), upstream, price)
    routed = find_model(upstream) if upstream else None
    if routed is not None:  # the gateway's name for a catalogued model: learn it as that model
        learned = register_model(replace(routed, name=name, aliases=(), origin="gateway"))
        return ModelRow(name, learned, "gateway", upstream, price)
    return ModelRow(name, None, "unknown", upstream, price)


def _is_video(name: str, info: GatewayModel | None) -> bool:
    if info is not None and info.mode is not None:
        return info.mode == VIDEO_MODE
    if find_model(name) is not None:
        return True
    return info is not None and info.upstream is not None and find_model(info.upstream) is not None


def _ask(settings: Settings) -> _Answer:
    """``GET /models`` and, where it answers, ``GET /model/info``; once each, never retried."""
    runner = Runner.get()
    client = runner.client(settings)
    notes: list[str] = []

    async def ask() -> tuple[list[str] | None, list[GatewayModel] | None]:
        ids: list[str] | None = None
        info: list[GatewayModel] | None = None
        once = RetryPolicy(max_retries=0)  # a list is a nicety: never keep a panel waiting
        try:
            ids = await client.models(retry_policy=once)
        except APIConnectionError as exc:  # nobody answers: no point asking for the other list
            notes.append(f"GET /models: {exc}")
            return None, None
        except SoraError as exc:
            notes.append(f"GET /models: {exc}")
        try:  # LiteLLM's list of what it routes (its /v1/models answer does not name it)
            info = await client.model_info(retry_policy=once)
        except SoraError as exc:
            notes.append(f"GET /model/info: {exc}")
        return ids, info

    ids, info = runner.run(ask()).result(timeout=(settings.timeout or 60.0) + 5)
    if info is not None:
        runner.remember_prices(settings, {m.name: m.price for m in info if m.price is not None})
    if notes:
        logger.info("models of %s: %s", settings.provider, "; ".join(notes))
    return _Answer(ids, info, tuple(notes))


def provider_models(settings: Settings, *, refresh: bool = False) -> ProviderModels:
    """The video models ``settings``' provider offers (its answer is kept per provider;
    ``refresh`` asks again). Falls back to the profile's catalogued models where the provider
    lists none. A gateway's name for a catalogued model is learned (registered) on every call,
    so the rows and the catalogue always agree."""
    with _lock:
        answer = None if refresh else _cache.get(settings.provider)
    if answer is None:
        answer = _ask(settings)
        with _lock:
            _cache[settings.provider] = answer
    by_name = {m.name: m for m in answer.info or []}
    names = list(dict.fromkeys([*(answer.ids or []), *by_name]))
    if names:
        rows = tuple(
            _row(settings.profile, n, by_name.get(n)) for n in names if _is_video(n, by_name.get(n))
        )
        source = "the gateway's /model/info" if by_name else "the provider's /v1/models"
        return ProviderModels(rows, source)
    known = settings.profile.known_models
    rows = tuple(ModelRow(spec.name, spec, _known_from(spec)) for spec in known)
    return ProviderModels(rows, "the kit's catalogue", "; ".join(answer.notes))
