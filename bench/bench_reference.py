"""Benchmark: `prepare_reference` against the naive Pillow pipeline, on generated photographs.

Baseline (the bar from issue 4)::

    ImageOps.fit(ImageOps.exif_transpose(Image.open(p)), size, Image.LANCZOS)

The baseline stops at pixels; `prepare_reference` is timed end to end (open, orient, fit, encode the
JPEG that is sent, and the preview thumbnail), so the comparison is conservative. Quality is the
PSNR of our pixels against the baseline's: ``psnr_pixels`` from a lossless run (resampling alone),
``psnr_sent`` from the JPEG actually sent (adds the encoder's loss).

Run: ``python bench/bench_reference.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import io
import math
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageOps

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sora_widgets.reference import prepare_reference

SIZES = [(1280, 720), (720, 1280), (1792, 1024), (1024, 1792)]
GOAL_SPEEDUP = 4.0
GOAL_PSNR = 38.0


def photograph(width: int, height: int, seed: int = 1) -> Image.Image:
    """Photograph-like content: smooth gradients, mid-scale texture, sensor noise, hard edges."""
    red = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    green = Image.radial_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    blue = red.transpose(Image.Transpose.ROTATE_180).resize((width, height))
    img = Image.merge("RGB", (red, green, ImageChops.invert(blue)))
    texture = Image.merge(
        "RGB",
        [Image.effect_noise((width // 48 + 1, height // 48 + 1), 40 + 8 * i) for i in range(3)],
    ).resize((width, height), Image.Resampling.BICUBIC)
    img = ImageChops.blend(img, texture, 0.35)
    grain = Image.effect_noise((width, height), 6).convert("RGB")
    img = ImageChops.add(img, grain, scale=1.0, offset=-128)
    draw = ImageDraw.Draw(img)
    step = max(width, height) // 12
    for i in range(40):
        x = (i * 7919 * seed) % width
        y = (i * 104729 + seed * 31) % height
        colour = ((i * 53) % 256, (i * 97) % 256, (i * 151) % 256)
        draw.rectangle((x, y, x + step, y + step // 2), outline=colour, width=max(2, width // 900))
        draw.line(
            (x, y, (x + 3 * step) % width, (y + 2 * step) % height), fill=(15, 15, 15), width=4
        )
    return img


def make_corpus(folder: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """A 24 MP JPEG (EXIF orientation 6), a 12 MP JPEG (orientation 3) and a 12 MP PNG."""
    corpus = []
    for label, (w, h), orientation in [
        ("24MP jpeg o6", (6000, 4000), 6),
        ("12MP jpeg o3", (4032, 3024), 3),
    ]:
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = folder / f"{label.split()[0]}.jpg"
        photograph(w, h).save(path, quality=90, exif=exif)
        corpus.append((label, path))
    png = folder / "12MP.png"
    photograph(4000, 3000, seed=3).save(png, compress_level=6)
    corpus.append(("12MP png", png))
    return corpus


def baseline(path: pathlib.Path, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(ImageOps.exif_transpose(Image.open(path)), size, Image.LANCZOS)


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    hist = diff.histogram()
    squares = sum(count * (value % 256) ** 2 for value, count in enumerate(hist))
    mse = squares / (a.width * a.height * 3)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def timed(fn: Callable[..., object], *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (default 7)")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(pathlib.Path(tmp))
        for label, path in corpus:
            mb = path.stat().st_size / 1e6
            for size in SIZES:
                base_img = baseline(path, size)  # warm caches for both sides
                prepare_reference(path, size)
                base_t, ours_t = [], []
                for _ in range(args.runs):  # interleaved, so drift hits both equally
                    base_t.append(timed(baseline, path, size))
                    ours_t.append(timed(prepare_reference, path, size))
                sent = prepare_reference(path, size)
                lossless = prepare_reference(path, size, format="png", max_bytes=10**9)
                rows.append(
                    {
                        "source": f"{label} ({mb:.1f} MB)",
                        "size": f"{size[0]}x{size[1]}",
                        "baseline_s": (min(base_t), statistics.median(base_t), max(base_t)),
                        "ours_s": (min(ours_t), statistics.median(ours_t), max(ours_t)),
                        "speedup": statistics.median(base_t) / statistics.median(ours_t),
                        "psnr_pixels": psnr(base_img, Image.open(io.BytesIO(lossless.data))),
                        "psnr_sent": psnr(base_img, Image.open(io.BytesIO(sent.data))),
                    }
                )
    print_table(rows, args.runs)
    return rows


def print_table(rows: list[dict[str, Any]], runs: int) -> None:
    def ms(t: tuple[float, float, float]) -> str:
        return f"{t[0] * 1000:5.0f} {t[1] * 1000:5.0f} {t[2] * 1000:5.0f}"

    print(f"prepare_reference vs baseline, {runs} runs each; times in ms as min median max")
    print(
        f"{'source':24} {'size':>9} | {'baseline':^17} | {'prepare_reference':^17} | "
        f"{'speedup':>7} | {'PSNR px':>7} {'PSNR sent':>9} | goal"
    )
    for row in rows:
        met = row["speedup"] >= GOAL_SPEEDUP and row["psnr_pixels"] >= GOAL_PSNR
        print(
            f"{row['source']:24} {row['size']:>9} | {ms(row['baseline_s'])} | {ms(row['ours_s'])} | "
            f"{row['speedup']:6.2f}x | {row['psnr_pixels']:7.2f} {row['psnr_sent']:9.2f} | "
            f"{'met' if met else 'NOT met'}"
        )
    print(
        f"goal: >= {GOAL_SPEEDUP:g}x faster (median) at PSNR >= {GOAL_PSNR:g} dB; "
        "speedup counts our JPEG encoding, which the baseline does not do"
    )


if __name__ == "__main__":
    main()
