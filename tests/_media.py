"""Pictures and lengths from video files, for tests that compare frames (continuity, joins)."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
from PIL import Image


def frame_at(path: Path, at: float = 0.0) -> Image.Image:
    """The first decoded picture at or after ``at`` seconds."""
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            if frame.time is not None and frame.time >= at - 1e-3:
                image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                return image
    raise AssertionError(f"no frame at {at} s in {path}")


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of ``a`` (scaled to ``b``'s size) against ``b``."""
    x = np.asarray(a.convert("RGB").resize(b.size), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def video_seconds(path: Path) -> float:
    """The file's length in seconds, as its container states it."""
    with av.open(str(path)) as container:
        return float(container.duration or 0) / av.time_base
