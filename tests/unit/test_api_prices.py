"""A gateway's price list (LiteLLM's /model/info) read into dollars per video."""

from __future__ import annotations

import httpx
import pytest

from sora_widgets.api import GatewayPrice, size_tier
from sora_widgets.api._prices import build_model_info, parse_model_prices


def answer(body: object) -> httpx.Response:
    return httpx.Response(200, json=body, request=httpx.Request("GET", "http://gw/v1/model/info"))


def test_video_models_are_priced_by_second_and_by_tier() -> None:
    body = {
        "data": [
            {
                "model_name": "sora-2",
                "litellm_params": {"model": "openai/sora-2"},
                "model_info": {"id": "a1", "output_cost_per_video_per_second": 0.1},
            },
            {
                "model_name": "veo-3.1",
                "litellm_params": {"model": "gemini/veo-3.1-generate-preview"},
                "model_info": {"output_cost_per_second": 0.4, "output_cost_per_second_4k": 0.6},
            },
            {"model_name": "gpt-chat", "model_info": {"input_cost_per_token": 1e-6}},
            {"model_name": "broken", "model_info": "not a mapping"},
            {"model_info": {"output_cost_per_second": 1.0}},  # no name: skipped
        ]
    }
    prices = parse_model_prices(build_model_info(), answer(body))
    assert set(prices) == {"sora-2", "veo-3.1"}  # chat models and junk are not video prices
    assert prices["sora-2"].cost("1280x720", "8") == pytest.approx(0.8)
    assert prices["veo-3.1"].cost("1280x720", 8) == pytest.approx(3.2)
    assert prices["veo-3.1"].cost("3840x2160", "8") == pytest.approx(4.8)  # the 4k tier


def test_tiers_and_lengths() -> None:
    assert [size_tier(s) for s in ("720x1280", "1920x1080", "2560x1440", "3840x2160")] == [
        "720p",
        "1080p",
        "2k",
        "4k",
    ]
    assert size_tier("16:9") is None
    only_tiers = GatewayPrice("wan", None, {"720p": 0.08})
    assert only_tiers.cost("1280x720", "5") == pytest.approx(0.4)
    assert only_tiers.cost("1920x1080", "5") is None  # no price for that tier: unknown, not zero
    assert only_tiers.cost("1280x720", "five") is None
