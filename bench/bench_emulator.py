"""Emulator benchmarks: render time per official size, and retrieve latency under load.

Run ``python bench/bench_emulator.py``; ``main()`` returns the rows it prints. Each measurement sits
beside a baseline taken in the same run:

- render: `render_clip` (numpy yuv420p frames, libx264 ``ultrafast``) for 4 s at every official size,
  against a naive renderer (every frame drawn with Pillow, RGB, ``veryfast``) at 1280x720.
  Goal: 1280x720 under 2 s.
- latency: median ``GET /v1/videos/{id}`` with 30 concurrent polling clients while clips render,
  against the same load on an idle server. Goal: under 20 ms. Each client waits what the server's
  ``openai-poll-after-ms`` says (100 ms here; 100 ms when absent) between polls, as the SDK does. The emulator runs as its own process
  (as a user starts it), the clients here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
RUNS = 3
CLIENTS = 30


def _naive_render(width: int, height: int, seconds: int, path: str) -> None:
    import av
    from PIL import Image, ImageDraw

    with av.open(path, "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for i in range(seconds * 24):
            image = Image.new("RGB", (width, height), (40, 60 + i % 100, 120))
            draw = ImageDraw.Draw(image)
            draw.ellipse((i * 5, 100, i * 5 + 200, 300), fill=(250, 200, 80))
            draw.text((40, height - 80), "A calico cat playing a piano on stage", fill="white")
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def bench_render(runs: int = RUNS) -> list[dict[str, Any]]:
    from sora_widgets.emulator._render import RenderSpec, render_clip

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        render_clip(RenderSpec(720, 1280, 4, "warm up"), folder)  # imports, font cache
        for size in SIZES:
            width, height = (int(v) for v in size.split("x"))
            times = []
            for run in range(runs):
                spec = RenderSpec(width, height, 4, f"A calico cat playing a piano, run {run}")
                start = time.perf_counter()
                result = render_clip(spec, folder)
                times.append(time.perf_counter() - start)
                assert not result.cached
            rows.append(
                _row(f"render 4 s {size}", times, "s", "< 2 s" if size == "1280x720" else "")
            )
        times = []
        for run in range(runs):
            start = time.perf_counter()
            _naive_render(1280, 720, 4, f"{folder}/naive{run}.mp4")
            times.append(time.perf_counter() - start)
        rows.append(_row("baseline: Pillow frames + veryfast, 1280x720", times, "s", ""))
    return rows


def _row(name: str, values: list[float], unit: str, goal: str) -> dict[str, Any]:
    scale = 1000.0 if unit == "ms" else 1.0
    return {
        "measure": name,
        "min": min(values) * scale,
        "median": statistics.median(values) * scale,
        "max": max(values) * scale,
        "unit": unit,
        "goal": goal,
        "n": len(values),
    }


def _start_emulator(data_dir: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sora_widgets.emulator",
            "--port",
            "0",
            "--quiet",
            "--job-seconds",
            "0.5",
            "--data-dir",
            data_dir,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.split("listening on ")[1].split()[0]


async def _poll(base_url: str, ids: list[str], seconds: float) -> list[float]:
    import httpx

    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    headers = {"Authorization": "Bearer bench"}
    limits = httpx.Limits(max_connections=CLIENTS)

    async def one(k: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as http:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                response = await http.get(f"/videos/{ids[k % len(ids)]}")
                latencies.append(time.perf_counter() - start)
                response.raise_for_status()
                # poll as the server asks (openai-poll-after-ms), as the SDK does
                after = int(response.headers.get("openai-poll-after-ms", "100"))
                await asyncio.sleep(after / 1000)

    await asyncio.gather(*(one(k) for k in range(CLIENTS)))
    return latencies


def bench_latency() -> list[dict[str, Any]]:
    import httpx

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        process, base_url = _start_emulator(folder)
        try:
            headers = {"Authorization": "Bearer bench"}
            idle = httpx.post(f"{base_url}/videos", headers=headers, data={"prompt": "idle"}).json()
            time.sleep(2.5)  # its render finishes: the server is idle
            baseline = asyncio.run(_poll(base_url, [idle["id"]], 3.0))
            busy_ids = []
            for k in range(4):
                video = httpx.post(
                    f"{base_url}/videos",
                    headers=headers,
                    data={"prompt": f"busy {k} {time.time()}", "size": "1280x720", "seconds": "8"},
                ).json()
                busy_ids.append(video["id"])
            busy = asyncio.run(_poll(base_url, busy_ids, 4.0))
            statuses = [
                httpx.get(f"{base_url}/videos/{i}", headers=headers).json()["status"]
                for i in busy_ids
            ]
        finally:
            process.terminate()
            process.wait(10)
    rows.append(_row(f"retrieve, {CLIENTS} clients, server idle (baseline)", baseline, "ms", ""))
    rows.append(
        _row(f"retrieve, {CLIENTS} clients, 4 clips rendering", busy, "ms", "median < 20 ms")
    )
    rows[-1]["note"] = f"clips after the run: {statuses}"
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["measure"]) for r in rows)
    print(f"{'measure':<{width}}  {'min':>8} {'median':>8} {'max':>8}  unit  n    goal")
    for r in rows:
        print(
            f"{r['measure']:<{width}}  {r['min']:8.3f} {r['median']:8.3f} {r['max']:8.3f}  "
            f"{r['unit']:<4}  {r['n']:<4} {r['goal']}"
        )
    for r in rows:
        if "note" in r:
            print(f"note ({r['measure']}): {r['note']}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run both benchmarks, print the table, return its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"renders per size (default {RUNS})")
    args = parser.parse_args(argv)
    rows = bench_render(args.runs) + bench_latency()
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
