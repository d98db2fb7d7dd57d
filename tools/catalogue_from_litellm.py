"""Write ``sora_widgets/api/catalogue/litellm.toml``: the video models LiteLLM's price map prices.

    python tools/catalogue_from_litellm.py            # from the installed litellm package
    python tools/catalogue_from_litellm.py PATH.json  # from a copy of the price map

Every ``mode = "video_generation"`` entry becomes a catalogue entry with its prices (per second,
by tier), its source and the date it was read. The map has no sizes or lengths: those come from
the provider family's published set below (the tiers it is priced at, times the family's ratios).
A model that ``models.toml`` names (or aliases) is left to that hand-written entry.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "sora_widgets" / "api" / "catalogue"

TIER_SHORT = {"480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "2k": 1440, "4k": 2160}
RATIOS = {
    "wide": ["16:9", "9:16"],
    "wan": ["16:9", "9:16", "1:1", "4:3", "3:4"],
    "seedance": ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"],
    "runway": ["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"],
}

# provider → (ratio family, lengths, default tiers when the map names none, reference, auto)
FAMILIES: dict[str, tuple[str, Any, list[str], str, bool]] = {
    "dashscope": ("wan", {"min": 2, "max": 15}, ["720p", "1080p"], "ratio", False),
    "qwencloud": ("wan", {"min": 2, "max": 15}, ["720p", "1080p"], "ratio", False),
    "qwen_ai_platform": ("wan", {"min": 2, "max": 15}, ["720p", "1080p"], "ratio", False),
    "runwayml": ("runway", {"min": 2, "max": 10}, ["720p"], "any", False),
    "fal_ai": ("seedance", {"min": 4, "max": 12}, ["720p"], "ratio", True),
    "vertex_ai-video-models": ("wide", [4, 6, 8], ["720p", "1080p"], "ratio", False),
    "gemini": ("wide", [4, 6, 8], ["720p", "1080p"], "ratio", False),
    "xai": ("wan", {"min": 1, "max": 15}, ["720p"], "any", False),
    "volcengine": ("seedance", {"min": 4, "max": 15}, ["720p"], "ratio", False),
    "minimax": ("wide", [6, 10], ["768p"], "ratio", False),
}
PROVIDERS = {
    "dashscope": "Alibaba (DashScope)",
    "qwencloud": "Alibaba (Qwen Cloud)",
    "qwen_ai_platform": "Alibaba (Qwen AI Platform)",
    "runwayml": "Runway",
    "fal_ai": "fal",
    "vertex_ai-video-models": "Google (Vertex AI)",
    "gemini": "Google (Gemini API)",
    "xai": "xAI",
    "volcengine": "ByteDance (Volcengine Ark)",
    "minimax": "MiniMax",
    "openai": "OpenAI",
    "azure": "Azure OpenAI",
}


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def pixel_size(tier: str, ratio: str) -> str:
    short = TIER_SHORT[tier]
    a, b = (int(v) for v in ratio.split(":"))
    if a >= b:
        return f"{even(short * a / b)}x{short}"
    return f"{short}x{even(short * b / a)}"


def tiers_of(entry: dict[str, Any], fallback: list[str]) -> list[str]:
    found = [
        key.removeprefix("output_cost_per_second_").lower()
        for key in entry
        if key.startswith("output_cost_per_second_")
    ]
    tiers = [t for t in TIER_SHORT if t in found]
    return tiers or fallback


def sizes_of(entry: dict[str, Any], family: str, tiers: list[str]) -> list[str]:
    frames = (entry.get("provider_specific_entry") or {}).get("volcengine_video_frames")
    if isinstance(frames, dict):
        return [size for tier in frames.values() for size in tier.values()]
    return [pixel_size(t, r) for t in tiers for r in RATIOS[family]]


def prices_of(entry: dict[str, Any]) -> dict[str, float]:
    prices: dict[str, float] = {}
    base = entry.get("output_cost_per_video_per_second", entry.get("output_cost_per_second"))
    if isinstance(base, (int, float)):
        prices["default"] = float(base)
    for key, value in entry.items():
        if key.startswith("output_cost_per_second_") and isinstance(value, (int, float)):
            prices[key.removeprefix("output_cost_per_second_").lower()] = float(value)
    frames = (entry.get("provider_specific_entry") or {}).get("volcengine_video_frames")
    if isinstance(frames, dict):  # a tier's frames have other short sides (864x496 is "480p")
        by_size = {
            size: prices[str(tier).lower()]
            for tier, by_ratio in frames.items()
            if str(tier).lower() in prices
            for size in by_ratio.values()
        }
        prices = {"default": prices["default"], **by_size} if "default" in prices else by_size
    return prices


def curated_names() -> set[str]:
    data = tomllib.loads((CATALOGUE / "models.toml").read_text("utf-8"))
    names: set[str] = set()
    for name, entry in data["models"].items():
        names.add(name)
        names.update(entry.get("aliases", []))
    return names


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(value)


def main(argv: list[str]) -> None:
    if argv:
        source = Path(argv[0])
        version = "a copy"
    else:
        from importlib.metadata import version as package_version
        from importlib.util import find_spec

        spec = find_spec("litellm")  # found, not imported: importing it fetches the map online
        if spec is None or spec.origin is None:
            raise SystemExit(
                "litellm is not installed: pip install litellm, or pass the map's path"
            )
        source = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
        version = package_version("litellm")
    price_map = json.loads(source.read_text("utf-8"))
    skip = curated_names()
    today = dt.date.today().isoformat()
    lines = [
        "# Generated by tools/catalogue_from_litellm.py from LiteLLM's price map "
        f"({version}); do not edit:",
        "# add or change an entry in models.toml (it wins) or with sora_widgets.register_model.",
        "# Sizes and lengths are the provider family's published set (see the tool).",
        "",
    ]
    count = 0
    for name, entry in sorted(price_map.items()):
        if entry.get("mode") != "video_generation" or name in skip:
            continue
        provider = entry.get("litellm_provider", "")
        family, seconds, fallback, reference, auto = FAMILIES.get(
            provider, ("wide", [4, 8], ["720p"], "ratio", False)
        )
        tiers = tiers_of(entry, fallback)
        sizes = sizes_of(entry, family, tiers)
        modalities = entry.get("supported_modalities", [])
        comment = (entry.get("metadata") or {}).get("comment", "")
        lines.append(f"[models.{json.dumps(name)}]")
        fields: dict[str, Any] = {
            "provider": PROVIDERS.get(provider, provider),
            "description": (comment.split(". ")[0] if comment else name)[:120],
            "sizes": sizes,
            "seconds": seconds,
            "reference": reference if "image" in modalities else "none",
            "audio": "audio" in modalities or None,
            "auto": auto,
            "price": prices_of(entry),
            "price_source": f"LiteLLM's price map {version}, from {entry.get('source', '?')}",
            "price_date": today,
        }
        for key, value in fields.items():
            if value is not None:
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
        count += 1
    (CATALOGUE / "litellm.toml").write_text("\n".join(lines), "utf-8")
    print(f"wrote {count} entries to {CATALOGUE / 'litellm.toml'}")


if __name__ == "__main__":
    main(sys.argv[1:])
