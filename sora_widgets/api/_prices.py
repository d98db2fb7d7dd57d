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

__all__ = ["GatewayPrice", "build_model_info", "parse_model_prices", "size_tier"]

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


def build_model_info() -> Any:
    """``GET /model/info`` (LiteLLM's proxy serves it under ``/v1`` too)."""
    from ._requests import RequestSpec

    return RequestSpec("GET", "model/info")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 else None


def parse_model_prices(spec: Any, response: httpx.Response) -> dict[str, GatewayPrice]:
    """The priced video models of a ``/model/info`` answer, by the name clients use."""
    from ._requests import parse_json

    body = parse_json(spec, response)
    prices: dict[str, GatewayPrice] = {}
    for entry in body.get("data") or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("model_name"), str):
            continue
        info = entry.get("model_info")
        if not isinstance(info, Mapping):
            continue
        per_second = _number(info.get("output_cost_per_video_per_second"))
        if per_second is None:
            per_second = _number(info.get("output_cost_per_second"))
        tiers = {
            match.group(1): rate
            for key, value in info.items()
            if (match := _TIER_KEY.match(str(key))) and (rate := _number(value)) is not None
        }
        if per_second is None and not tiers:
            continue
        name = entry["model_name"]
        prices.setdefault(name, GatewayPrice(name, per_second, MappingProxyType(tiers)))
    return prices
