"""A gateway's own price list: LiteLLM's ``GET /model/info``, read into dollars per second.

LiteLLM's proxy answers ``{"data": [{"model_name": …, "model_info": {…}}]}``; a video model's
``model_info`` holds ``output_cost_per_video_per_second`` (OpenAI's and Azure's Sora, Runway) or
``output_cost_per_second`` with ``output_cost_per_second_720p`` / ``_1080p`` / ``_4k`` by tier (Veo,
Wan, Seedance …), from LiteLLM's price map as the gateway's operator keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx

from ._sizes import size_tier

__all__ = [
    "GatewayModel",
    "GatewayPrice",
    "build_model_info",
    "build_models",
    "parse_model_info",
    "parse_model_prices",
    "parse_models",
]

_TIER_KEY = re.compile(r"^output_cost_per_second_(\d+p|\dk)$")


@dataclass(frozen=True)
class GatewayPrice:
    """What a gateway says one model costs, in US dollars per second of video."""

    model: str
    per_second: float | None = None
    """The model's price per second when no tier applies (or the only one)."""
    by_tier: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Prices per second by resolution tier (``720p``, ``1080p``, ``4k``)."""

    def cost(self, size: str, seconds: str | int) -> float | None:
        """Dollars for a video of ``size`` and ``seconds``; None when the gateway gives no price."""
        try:
            length = int(str(seconds).rstrip("s"))
        except ValueError:
            return None
        tier = size_tier(size)
        rate = self.by_tier.get(tier) if tier else None
        if rate is None:
            rate = self.per_second
        return None if rate is None else round(rate * length, 6)


@dataclass(frozen=True)
class GatewayModel:
    """One model a gateway routes (an entry of LiteLLM's ``/model/info``)."""

    name: str
    """The name clients send (the gateway's ``model_name``)."""
    mode: str | None = None
    """What it makes: ``video_generation`` for a video model (None: the gateway does not say)."""
    upstream: str | None = None
    """The provider's model it routes to (``gemini/veo-3.1-generate-preview``), if shown."""
    price: GatewayPrice | None = None


def build_models() -> Any:
    """``GET /models``: the model ids a server offers (OpenAI's shape, LiteLLM's, the emulator's)."""
    from ._requests import RequestSpec

    return RequestSpec("GET", "models")


def parse_models(spec: Any, response: httpx.Response) -> list[str]:
    """The model ids of a ``/models`` answer (``{"data": [{"id": …}]}``), in order."""
    from ._requests import parse_json

    body = parse_json(spec, response)
    ids = [
        entry["id"]
        for entry in body.get("data") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
    ]
    return list(dict.fromkeys(ids))


def build_model_info() -> Any:
    """``GET /model/info`` (LiteLLM's proxy serves it under ``/v1`` too)."""
    from ._requests import RequestSpec

    return RequestSpec("GET", "model/info")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 else None


def _price(name: str, info: Mapping[str, Any]) -> GatewayPrice | None:
    per_second = _number(info.get("output_cost_per_video_per_second"))
    if per_second is None:
        per_second = _number(info.get("output_cost_per_second"))
    tiers = {
        match.group(1): rate
        for key, value in info.items()
        if (match := _TIER_KEY.match(str(key))) and (rate := _number(value)) is not None
    }
    if per_second is None and not tiers:
        return None
    return GatewayPrice(name, per_second, MappingProxyType(tiers))


def parse_model_info(spec: Any, response: httpx.Response) -> list[GatewayModel]:
    """Every model of a ``/model/info`` answer: its name, mode, upstream model and price."""
    from ._requests import parse_json

    body = parse_json(spec, response)
    models: dict[str, GatewayModel] = {}
    for entry in body.get("data") or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("model_name"), str):
            continue
        name = entry["model_name"]
        info = entry.get("model_info")
        info = info if isinstance(info, Mapping) else {}
        params = entry.get("litellm_params")
        upstream = params.get("model") if isinstance(params, Mapping) else None
        mode = info.get("mode")
        models.setdefault(
            name,
            GatewayModel(
                name,
                mode if isinstance(mode, str) else None,
                upstream if isinstance(upstream, str) else None,
                _price(name, info),
            ),
        )
    return list(models.values())


def parse_model_prices(spec: Any, response: httpx.Response) -> dict[str, GatewayPrice]:
    """The priced video models of a ``/model/info`` answer, by the name clients use."""
    return {m.name: m.price for m in parse_model_info(spec, response) if m.price is not None}
