"""Small helpers of the gateway tests: LiteLLM's ids taken apart, media checks, pictures."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
from PIL import Image

from .conftest import Gateway


def decode_litellm_id(video_id: str) -> dict[str, str]:
    """The parts of a LiteLLM video id: ``video_`` + base64 of ``litellm:custom_llm_provider:P;
    model_id:M;video_id:UPSTREAM;deployment_id:D`` (litellm/types/videos/utils.py, 1.108.7)."""
    assert video_id.startswith("video_"), video_id
    raw = video_id.removeprefix("video_")
    text = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode()
    parts: dict[str, str] = {}
    for part in text.split(";"):
        key, _, value = part.rpartition(":") if part.startswith("litellm:") else part.partition(":")
        parts[key.removeprefix("litellm:")] = value
    return parts


def deployments(gateway: Gateway) -> dict[str, str]:
    """Deployment id → its ``api_base``, from the proxy's own ``/model/info``."""
    answer = httpx.get(
        f"{gateway.url}/model/info",
        headers={"Authorization": f"Bearer {gateway.master_key}"},
        timeout=30,
    )
    answer.raise_for_status()
    return {
        entry["model_info"]["id"]: entry["litellm_params"].get("api_base", "")
        for entry in answer.json()["data"]
    }


def is_mp4(data: bytes) -> bool:
    return data[4:8] == b"ftyp"


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def first_frame(path: Path) -> Image.Image:
    """The first decoded picture of a video file."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
        return image


def close_to(pixel: object, expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    """True when an RGB(A) pixel is within ``tolerance`` of ``expected`` on every channel."""
    assert isinstance(pixel, tuple), pixel
    return all(abs(a - e) <= tolerance for a, e in zip(pixel[:3], expected, strict=True))
