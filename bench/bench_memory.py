"""Memory benchmark (issue 14): the process's memory stays flat over 200 jobs, each with a ~1 MB
prepared reference.

Run ``python bench/bench_memory.py [--jobs 200] [--first 20] [--batch 20] [--job-seconds 0.2]``;
``main()`` returns the figures it prints.

A fresh subprocess (nothing imported or cached before it) sets ``SORA_WIDGETS_HOME``, the ledger and
the output folder to a temporary folder, starts the emulator in a thread (``job_seconds`` 0.2, one
render cache folder, so the identical clips render once, in the emulator's render process) and
submits jobs through the public jobs layer (`generate`, on a Runner configured with a short
`PollPolicy`), ``--batch`` at a time, each with a 1280x720 noise picture as ``reference=`` (its
prepared JPEG is about 0.9 MB, so a reference kept per job would show as ~0.9 MB per job). It waits
for every batch, keeps every `Job` handle (as a notebook's cards and variables do), and reads RSS
(``VmRSS`` from ``/proc/self/status``, after ``gc.collect()``) after ``--first`` jobs and after
all of them.

Goal: RSS after 200 jobs <= RSS after 20 jobs + 10 %. Also reported: ``len(Runner.get().active)``
at the end (0: finished jobs leave the Runner) and how many finished jobs still hold their
reference's bytes (0).

The process holds the emulator's server too, as a kernel holds the embedded emulator (its job
records, a few hundred bytes each); its renders run in a worker process whose memory is not counted.

To tell a leak from the allocator, each reading also gives glibc's bytes in use and its bytes freed
but kept (``mallinfo2``), and Python's allocated blocks. On the machine of docs/benchmarks.md the
bytes in use stay flat while the freed-but-kept bytes grow: each thread that allocates gets a glibc
arena of its own, and each keeps the free space of its peak. ``MALLOC_ARENA_MAX=2 python
bench/bench_memory.py`` (the measuring process inherits the environment) shows the difference.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import markdown_table  # noqa: E402

PROMPT = "a slow zoom into static"
GOAL_GROWTH = 0.10
"""RSS after all the jobs may exceed RSS after the first ones by at most this fraction."""


def rss_kib(field: str = "VmRSS") -> int:
    """``field`` (``VmRSS``, ``VmHWM``) of this process in KiB, from /proc/self/status."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def malloc_kib() -> tuple[int, int] | None:
    """glibc's view, over all arenas: (KiB allocated and in use, KiB freed but kept in its heaps);
    None where ``mallinfo2`` is missing (not glibc, or glibc < 2.33)."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


def reading(jobs: int) -> dict[str, Any]:
    """RSS and what makes it up, once the listeners have run and the garbage is collected."""
    from sora_widgets.jobs import listeners_idle

    listeners_idle(10)
    time.sleep(0.2)  # the ledger writer's last updates
    gc.collect()
    heap = malloc_kib()
    return {
        "jobs": jobs,
        "rss_kib": rss_kib(),
        "malloc_used_kib": heap[0] if heap else None,
        "malloc_free_kib": heap[1] if heap else None,
        "py_blocks": sys.getallocatedblocks(),
        "py_objects": len(gc.get_objects()),
    }


def noise_picture(width: int = 1280, height: int = 720, seed: int = 14) -> Any:
    """An RGB noise picture: JPEG cannot compress it, so its prepared reference is ~0.9 MB."""
    import random

    from PIL import Image

    return Image.frombytes(
        "RGB", (width, height), random.Random(seed).randbytes(width * height * 3)
    )


def child(jobs: int, first: int, batch: int, job_seconds: float, folder: Path) -> dict[str, Any]:
    """The measurement itself, in a fresh process (see `main`)."""
    from sora_widgets.api import PollPolicy, SoraClient
    from sora_widgets.config import resolve_settings
    from sora_widgets.emulator import serve_in_thread
    from sora_widgets.jobs import JobStatus, Runner, generate
    from sora_widgets.reference import prepare_reference

    start = time.perf_counter()
    Runner.configure(poll_policy=PollPolicy(first_delay=0.05, min_interval=0.05, tail_interval=0.1))
    picture = noise_picture()
    prepared = prepare_reference(picture, "1280x720")
    handles: list[Any] = []
    series: list[dict[str, Any]] = []
    with serve_in_thread(
        job_seconds=job_seconds, data_dir=folder / "emulator", access_log=False
    ) as emulator:
        settings = resolve_settings(
            base_url=emulator.base_url,
            api_key="sk-bench",
            profile="openai",
            output_dir=folder / "out",
            ledger_path=folder / "ledger.sqlite3",
            max_running=batch,
        )
        # render the clip once, outside the Runner: it learns typical durations from the jobs it
        # follows, and one slow first render would make it wait that long before every first poll
        with SoraClient(base_url=emulator.base_url, api_key="sk-bench", profile="openai") as client:
            warm = client.create(prompt=PROMPT, size="1280x720", input_reference=prepared)
            client.wait(warm.id, timeout=120)
        while len(handles) < jobs:
            wave = [
                generate(
                    PROMPT,
                    size="1280x720",
                    reference=picture,
                    settings=settings,
                )
                for _ in range(min(batch, jobs - len(handles)))
            ]
            for job in wave:
                job.wait(60 + 20 * job_seconds)
            handles += wave
            for path in (folder / "out").iterdir():  # ~17 MB of noise video per job: free the disk
                path.unlink()
            series.append(reading(len(handles)))
        active = len(Runner.get().active)
        holding = sum(1 for job in handles if job.request.input_reference is not None)
        completed = sum(1 for job in handles if job.status == JobStatus.COMPLETED)
        distinct = len({job.id for job in handles})
    Runner.shutdown()
    return {
        "jobs": jobs,
        "first": first,
        "batch": batch,
        "job_seconds": job_seconds,
        "reference_bytes": len(prepared.data),
        "rss_first_kib": next(r["rss_kib"] for r in series if r["jobs"] >= first),
        "rss_last_kib": series[-1]["rss_kib"],
        "peak_kib": rss_kib("VmHWM"),
        "series": series,
        "completed": completed,
        "distinct_ids": distinct,
        "active": active,
        "holding_reference": holding,
        "seconds": round(time.perf_counter() - start, 1),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
    }


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    """Run `child` in a fresh interpreter with its own SORA_WIDGETS_HOME; return its figures."""
    with tempfile.TemporaryDirectory(prefix="sora-bench-memory-") as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "SORA_WIDGETS_HOME": str(folder / "home"),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        for name in ("SORA_API_KEY", "OPENAI_API_KEY", "SORA_BASE_URL", "OPENAI_BASE_URL"):
            env.pop(name, None)
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(folder),
            "--jobs",
            str(args.jobs),
            "--first",
            str(args.first),
            "--batch",
            str(args.batch),
            "--job-seconds",
            str(args.job_seconds),
        ]
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise RuntimeError(f"the measuring process exited with status {done.returncode}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The figures the table and the verdict use."""
    first, last = result["rss_first_kib"], result["rss_last_kib"]
    extra_jobs = result["jobs"] - result["first"]
    ratio = last / first
    all_done = result["completed"] == result["jobs"] == result["distinct_ids"]
    flat = ratio <= 1 + GOAL_GROWTH
    return {
        **result,
        "ratio": ratio,
        "per_job_kib": (last - first) / extra_jobs if extra_jobs else 0.0,
        "flat": flat,
        "goal_growth": GOAL_GROWTH,
        "met": flat and all_done and result["active"] == 0,
    }


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--first", type=int, default=20, help="jobs before the first reading")
    parser.add_argument("--batch", type=int, default=20, help="jobs submitted at a time")
    parser.add_argument("--job-seconds", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.jobs, args.first, args.batch, args.job_seconds, args.child)))
        return {}

    s = summarise(run_child(args))
    print(
        f"## RSS over {s['jobs']} emulated jobs, each with a {s['reference_bytes'] / 1e6:.2f} MB "
        f"prepared reference ({s['batch']} at a time, {s['job_seconds']:g} s jobs)\n"
    )
    if s.get("malloc_env"):
        print("allocator settings: " + ", ".join(f"{k}={v}" for k, v in s["malloc_env"].items()))
        print()
    row = {
        "jobs": s["jobs"],
        "completed": s["completed"],
        f"RSS after {s['first']} MiB": _mib(s["rss_first_kib"]),
        f"RSS after {s['jobs']} MiB": _mib(s["rss_last_kib"]),
        "growth": f"{s['ratio'] - 1:+.1%}",
        "per job KiB": f"{s['per_job_kib']:+.1f}",
        "peak RSS MiB": _mib(s["peak_kib"]),
        "Runner.active at end": s["active"],
        "jobs still holding a reference": s["holding_reference"],
        "took s": s["seconds"],
    }
    print(markdown_table([row]))
    print(
        "\n## After each batch (gc.collect() first)\n\n"
        "malloc in use / free: glibc's bytes allocated, and freed but kept in its heaps "
        "(mallinfo2, all arenas); Python blocks: sys.getallocatedblocks()\n"
    )
    print(
        markdown_table(
            {
                "jobs": r["jobs"],
                "RSS MiB": _mib(r["rss_kib"]),
                "malloc in use MiB": _mib(r["malloc_used_kib"]),
                "malloc free MiB": _mib(r["malloc_free_kib"]),
                "Python blocks": f"{r['py_blocks']:,}",
                "Python objects": f"{r['py_objects']:,}",
            }
            for r in s["series"]
        )
    )
    status = "met" if s["met"] else "NOT met"
    first_reading = next(r for r in s["series"] if r["jobs"] >= s["first"])
    last_reading = s["series"][-1]
    if first_reading["malloc_used_kib"] is not None:
        used = last_reading["malloc_used_kib"] - first_reading["malloc_used_kib"]
        kept = last_reading["malloc_free_kib"] - first_reading["malloc_free_kib"]
        extra_jobs = max(1, s["jobs"] - s["first"])
        print(
            f"\nfrom {s['first']} to {s['jobs']} jobs glibc's bytes in use changed by "
            f"{used / 1024:+.1f} MiB ({used / extra_jobs:+.1f} KiB per job) and the freed bytes it "
            f"keeps in its arenas by {kept / 1024:+.1f} MiB; RSS by "
            f"{(s['rss_last_kib'] - s['rss_first_kib']) / 1024:+.1f} MiB"
        )
    print(
        f"\nRSS after {s['jobs']} jobs {_mib(s['rss_last_kib'])} MiB vs "
        f"{_mib(s['rss_first_kib'])} MiB after {s['first']}: {s['ratio']:.3f} x, "
        f"{s['per_job_kib']:+.1f} KiB per job (goal <= {1 + GOAL_GROWTH:.2f} x: {status}); "
        f"Runner.active {s['active']} at the end; {s['completed']}/{s['jobs']} completed"
    )
    return s


if __name__ == "__main__":
    main()
