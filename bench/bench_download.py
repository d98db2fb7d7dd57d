"""Download benchmark: a 200 MiB body streamed by `SoraClient.download`, against curl and the official SDK.

Run ``python bench/bench_download.py [--runs N] [--size-mb 200]``; ``main()`` returns the results it
prints.

- server: ``tests/integration/bigbody_server.py`` in a process of its own on 127.0.0.1: a
  deterministic body generated on the fly (no disk), with HTTP Range.
- throughput: every download runs in a fresh process, interleaved run by run: this kit
  (``SoraClient(...).download(id, path)``), ``curl -s -o FILE URL``, and the official SDK
  (``client.videos.download_content(id).write_to_file(path)``, which reads the whole body into
  memory first). Time is the transfer as each measures it: ``perf_counter`` around the call for the
  Python clients, curl's own ``time_total``, so interpreter start-up is left out of both.
- memory: peak RSS of each process (``os.wait4``), and for the Python clients the growth of peak RSS
  across the download (``ru_maxrss`` before and after); one more run of the kit under tracemalloc.
- resume: one download whose connection the server drops twice (at 37 MB and 150 MB); it must
  complete through Range requests with the right SHA-256.

Goal (issue 3): memory stays flat: peak RSS growth and tracemalloc peak at most 16 MiB (the
integration test's bound, 8% of the body). Throughput against curl has no stated goal; its ratio is
reported.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _report import markdown_table, triple, verdict  # noqa: E402

MIB = 1024 * 1024
FLAT_MEMORY = 16 * MIB
VIDEO_ID = "video_bench"
DROPS = (37_000_000, 150_000_000)


def _bigbody() -> ModuleType:
    """The integration tests' big-body server, loaded by path (``tests`` is not a package to install)."""
    path = ROOT / "tests" / "integration" / "bigbody_server.py"
    spec = importlib.util.spec_from_file_location("bigbody_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bigbody_server"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# --- child processes -------------------------------------------------------------------------


def _serve(size: int, drops: list[int]) -> None:
    """Serve the body until stdin closes, then print the Range header of every request as JSON."""
    bigbody = _bigbody()
    config = bigbody.BigBodyConfig(size=size, drop_at=list(drops))
    with bigbody.serve_big_body(config) as base_url:
        print(base_url, flush=True)
        sys.stdin.read()
    print(json.dumps(config.requests), flush=True)


def _maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _fetch(kind: str, base_url: str, out: str, trace: bool) -> None:
    """Download once in this fresh process; print seconds, peak RSS before and after, as JSON."""
    import time
    import tracemalloc
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    synced = [0.0]
    fsync = os.fsync

    def timed_fsync(fd: int) -> None:  # the kit syncs before renaming into place: time it apart
        start = time.perf_counter()
        fsync(fd)
        synced[0] += time.perf_counter() - start

    os.fsync = timed_fsync
    if kind == "kit":
        from sora_widgets.api import SoraClient

        client: Any = SoraClient(base_url=base_url, api_key="sk-bench")

        def run() -> None:
            client.download(VIDEO_ID, out)
    elif kind == "httpx":
        import httpx

        client = httpx.Client()

        def run() -> None:
            url = f"{base_url}/videos/{VIDEO_ID}/content"
            with client.stream("GET", url) as response, open(out, "wb") as handle:
                for chunk in response.iter_raw():
                    handle.write(chunk)
    else:
        import openai

        client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)

        def run() -> None:
            client.videos.download_content(VIDEO_ID).write_to_file(out)

    before = _maxrss()
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    after = _maxrss()
    client.close()
    result = {"seconds": seconds, "fsync": synced[0], "rss_before": before, "rss_after": after}
    print(json.dumps({**result, "traced": peak}))


# --- the parent ------------------------------------------------------------------------------


class Server:
    """The body server in its own process, so its work does not share this interpreter's GIL."""

    def __init__(self, size: int, drops: tuple[int, ...] = ()) -> None:
        command = [sys.executable, __file__, "--serve", str(size)]
        if drops:
            command += ["--drops", ",".join(map(str, drops))]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self.process.kill()
            raise RuntimeError(f"the body server did not start (said {self.base_url!r})")
        self.url = f"{self.base_url}/videos/{VIDEO_ID}/content"

    def stop(self) -> list[str | None]:
        """Stop the server; returns the Range header of every request it served."""
        out, _ = self.process.communicate(timeout=30)
        return list(json.loads(out.strip().splitlines()[-1]))


def _run_measured(command: list[str]) -> tuple[str, int]:
    """Run ``command`` to the end; its stdout and its peak RSS in bytes (``os.wait4``)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {err.strip()[-500:]}")
    return out, usage.ru_maxrss * 1024


def fetch_python(kind: str, base_url: str, out: Path, trace: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--fetch", kind, base_url, str(out)]
    if trace:
        command.append("--trace")
    stdout, peak = _run_measured(command)
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["rss_peak"] = peak
    result["rss_growth"] = result["rss_after"] - result["rss_before"]
    return result


def fetch_curl(url: str, out: Path) -> dict[str, Any]:
    stdout, peak = _run_measured(["curl", "-s", "-f", "-o", str(out), "-w", "%{time_total}", url])
    return {"seconds": float(stdout.strip().replace(",", ".")), "rss_peak": peak}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the kit and of curl")
    parser.add_argument("--sdk-runs", type=int, default=2, help="runs of the official SDK")
    parser.add_argument("--size-mb", type=int, default=200, help="body size in MiB")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--drops", default="", help=argparse.SUPPRESS)
    parser.add_argument("--fetch", nargs=3, metavar=("KIND", "URL", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        _serve(args.serve, [int(d) for d in args.drops.split(",") if d])
        return {}
    if args.fetch:
        _fetch(*args.fetch, trace=args.trace)
        return {}
    if shutil.which("curl") is None:
        raise SystemExit("curl is not on PATH; it is this bench's baseline")

    size = args.size_mb * MIB
    expected = _bigbody().body_sha256(size)
    samples: dict[str, list[dict[str, Any]]] = {"kit": [], "curl": [], "httpx": [], "sdk": []}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "video.mp4"
        server = Server(size)
        try:
            for run in range(args.runs):  # interleaved, so machine noise hits all alike
                plan = ["kit", "curl", "httpx"] + (["sdk"] if run < args.sdk_runs else [])
                for kind in plan:
                    if kind == "curl":
                        sample = fetch_curl(server.url, out)
                    else:
                        sample = fetch_python(kind, server.base_url, out)
                    if out.stat().st_size != size:
                        raise RuntimeError(f"{kind} wrote {out.stat().st_size} bytes, not {size}")
                    sample["sha_ok"] = sha256(out) == expected if run == 0 else None
                    samples[kind].append(sample)
                    out.unlink()
            traced = fetch_python("kit", server.base_url, out, trace=True)
            out.unlink()
        finally:
            server.stop()

        dropping = Server(size, DROPS)
        try:
            resumed = fetch_python("kit", dropping.base_url, out)
            resumed_sha = sha256(out) == expected
        finally:
            ranges = dropping.stop()

    names = {
        "kit": "sora-widgets SoraClient.download",
        "curl": "curl -s -o FILE (baseline)",
        "httpx": "httpx.stream + iter_raw by hand (reference)",
        "sdk": "openai SDK download_content().write_to_file",
    }
    rows = []
    for kind, runs in samples.items():
        if not runs:
            continue
        seconds = [s["seconds"] for s in runs]
        growth = [s["rss_growth"] / MIB for s in runs if "rss_growth" in s]
        rows.append(
            {
                "client": names[kind],
                "runs": len(runs),
                "seconds min / median / max": triple(seconds),
                "MiB/s (median)": f"{args.size_mb / statistics.median(seconds):.0f}",
                "of which fsync s (median)": (
                    f"{statistics.median(s['fsync'] for s in runs):.2f}"
                    if kind == "kit"
                    else "none"
                ),
                "peak RSS MiB (median)": f"{statistics.median(s['rss_peak'] for s in runs) / MIB:.1f}",
                "RSS growth during download MiB (max)": f"{max(growth):.1f}" if growth else "n/a",
                "SHA-256 ok": "yes" if runs[0]["sha_ok"] else "NO",
                "_seconds": statistics.median(seconds),
            }
        )
    kit_s = statistics.median(s["seconds"] for s in samples["kit"])
    curl_s = statistics.median(s["seconds"] for s in samples["curl"])
    httpx_s = statistics.median(s["seconds"] for s in samples["httpx"])
    ratio = curl_s / kit_s  # our throughput as a fraction of curl's
    fsync_s = statistics.median(s["fsync"] for s in samples["kit"])
    limit = (
        f"the kit syncs the file to disk before renaming it into place ({fsync_s:.2f} s of "
        f"{kit_s:.2f} s; curl and the httpx stream do not); without it "
        f"{args.size_mb / (kit_s - fsync_s):.0f} MiB/s, {(kit_s - fsync_s) / httpx_s:.2f} x the "
        "time of the hand-written httpx stream it is built on, whose pure-Python HTTP/1.1 "
        "parsing is the rest of the gap to curl"
    )
    growth_mb = max(s["rss_growth"] for s in samples["kit"]) / MIB
    traced_mb = traced["traced"] / MIB
    sdk_growth = [s["rss_growth"] / MIB for s in samples["sdk"]]
    flat = growth_mb * MIB <= FLAT_MEMORY and traced["traced"] <= FLAT_MEMORY
    resume = {
        "seconds": round(resumed["seconds"], 2),
        "requests": ranges,
        "sha_ok": resumed_sha,
        "rss_growth_mb": round(resumed["rss_growth"] / MIB, 1),
    }

    print(f"## Download of a {args.size_mb} MiB body from 127.0.0.1 (each run a fresh process)\n")
    print(markdown_table(rows))
    print(
        f"\nthroughput: {args.size_mb / kit_s:.0f} MiB/s vs curl's {args.size_mb / curl_s:.0f} MiB/s: "
        f"{ratio:.2f} x curl (no stated goal), {args.runs} interleaved runs each; what limits "
        f"it: {limit}"
    )
    print(
        f"memory: peak RSS grew {growth_mb:.1f} MiB during the download (max over runs), "
        f"tracemalloc peak {traced_mb:.1f} MiB, for a {args.size_mb} MiB body "
        f"(goal <= {FLAT_MEMORY // MIB} MiB: {verdict(flat)})"
        + (f"; the official SDK's grew {max(sdk_growth):.0f} MiB" if sdk_growth else "")
    )
    print(
        f"resume: connection dropped at {DROPS[0]:,} and {DROPS[1]:,} bytes; requests' Range "
        f"headers {ranges}; completed in {resume['seconds']} s, SHA-256 "
        f"{'ok' if resumed_sha else 'WRONG'}"
    )
    return {
        "rows": rows,
        "size_mb": args.size_mb,
        "throughput_ratio": ratio,
        "kit_mib_s": args.size_mb / kit_s,
        "curl_mib_s": args.size_mb / curl_s,
        "httpx_mib_s": args.size_mb / httpx_s,
        "fsync_s": fsync_s,
        "limit": limit,
        "rss_growth_mb": growth_mb,
        "tracemalloc_peak_mb": traced_mb,
        "sdk_rss_growth_mb": max(sdk_growth) if sdk_growth else None,
        "flat_goal_mb": FLAT_MEMORY // MIB,
        "flat": flat,
        "resume": resume,
    }


if __name__ == "__main__":
    main()
