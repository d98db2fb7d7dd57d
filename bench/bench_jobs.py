"""Job benchmarks: requests per job and completion-detection lag against the official SDK, and 24
jobs under a running-job limit of 2 against the ideal.

Run ``python bench/bench_jobs.py [--jobs N] [--limit-job-seconds S]``; ``main()`` returns the rows it prints.

- polling: the same emulator serves N jobs of ``--job-seconds`` (60 by default) followed by this
  kit's Runner and N followed by the official SDK's ``videos.create_and_poll`` (threads), at the
  same time. Requests are counted from the emulator's access log per video id; the lag is the time
  from the emulator's completion (the later of the job's end and its render) to the moment the
  follower saw ``completed``. Goal: at most 1/5 of the SDK's retrieves, median lag at most 1.5 s.
- limit: 24 jobs submitted at once with the emulator's running-job limit at 2. The ideal is 12
  times the job time. Goal: wall time at most 1.15 times the ideal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _completed_at(job: Any) -> float:
    return float(max(job.created_at + job.duration, job.render_finished_at or 0.0))


def _retrieves(emulator: Any, video_id: str) -> int:
    needle = f'"GET /v1/videos/{video_id}" '
    return sum(1 for line in emulator.state.access_log if needle in line)


def bench_polling(job_seconds: float, count: int) -> list[dict[str, Any]]:
    import openai

    from sora_widgets.config import resolve_settings
    from sora_widgets.emulator import serve_in_thread
    from sora_widgets.jobs import JobStatus, Runner, generate

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with (
        tempfile.TemporaryDirectory() as folder,
        serve_in_thread(
            job_seconds=job_seconds, data_dir=Path(folder) / "cache", access_log=True
        ) as emulator,
    ):
        settings = resolve_settings(
            base_url=emulator.base_url,
            api_key="sk-bench",
            profile="openai",
            output_dir=Path(folder) / "out",
            ledger_path=Path(folder) / "ledger.sqlite3",
            max_running=count,
        )
        seen: dict[str, float] = {}
        lock = threading.Lock()

        def ours_seen(job: Any) -> None:
            if job.status in (JobStatus.DOWNLOADING, JobStatus.COMPLETED) and job.id:
                with lock:
                    seen.setdefault(job.id, time.time())

        sdk_seen: dict[str, float] = {}

        def sdk_follow(i: int) -> None:
            client = openai.OpenAI(base_url=emulator.base_url, api_key="sk-bench", max_retries=0)
            video = client.videos.create_and_poll(prompt=f"sdk {i}", size="1280x720")
            with lock:
                sdk_seen[video.id] = time.time()

        threads = [threading.Thread(target=sdk_follow, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        jobs = [
            generate(f"ours {i}", size="1280x720", settings=settings, on_change=ours_seen)
            for i in range(count)
        ]
        for job in jobs:
            job.wait(job_seconds * 5 + 60)
        for thread in threads:
            thread.join(job_seconds * 5 + 60)
        by_id = {job.id: job for job in emulator.jobs}
        rows = []
        for name, table in (
            ("sora-widgets Runner", seen),
            ("openai SDK create_and_poll", sdk_seen),
        ):
            requests = [_retrieves(emulator, vid) for vid in table]
            lags = [table[vid] - _completed_at(by_id[vid]) for vid in table]
            rows.append(
                {
                    "follower": name,
                    "jobs": len(table),
                    "retrieves min/med/max": f"{min(requests)}/{statistics.median(requests):g}/{max(requests)}",
                    "lag s min/med/max": f"{min(lags):.2f}/{statistics.median(lags):.2f}/{max(lags):.2f}",
                    "_requests": statistics.median(requests),
                    "_lag": statistics.median(lags),
                }
            )
    Runner.shutdown()
    return rows


def bench_limit(job_seconds: float, jobs: int = 24, limit: int = 2) -> dict[str, Any]:
    from sora_widgets.config import resolve_settings
    from sora_widgets.emulator import serve_in_thread
    from sora_widgets.jobs import JobStatus, Runner, generate

    with (
        tempfile.TemporaryDirectory() as folder,
        serve_in_thread(
            job_seconds=job_seconds,
            max_running=limit,
            data_dir=Path(folder) / "cache",
            access_log=False,
        ) as emulator,
    ):
        settings = resolve_settings(
            base_url=emulator.base_url,
            api_key="sk-bench",
            profile="openai",
            output_dir=Path(folder) / "out",
            ledger_path=Path(folder) / "ledger.sqlite3",
            max_running=limit,
        )
        generate("a lighthouse at dusk", settings=settings, wait=True)  # warm the render cache
        start = time.time()
        handles = [generate("a lighthouse at dusk", settings=settings) for _ in range(jobs)]
        for handle in handles:
            handle.wait(job_seconds * jobs + 120)
        wall = time.time() - start
        completed = sum(1 for h in handles if h.status == JobStatus.COMPLETED)
        distinct = len({h.id for h in handles})
    Runner.shutdown()
    ideal = job_seconds * jobs / limit
    return {
        "jobs": jobs,
        "limit": limit,
        "job s": job_seconds,
        "ideal s": ideal,
        "wall s": round(wall, 2),
        "ratio": round(wall / ideal, 3),
        "completed": completed,
        "distinct ids": distinct,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    keys = [k for k in rows[0] if not k.startswith("_")]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-seconds", type=float, default=60.0)
    parser.add_argument(
        "--jobs", type=int, default=5, help="jobs per follower in the polling bench"
    )
    parser.add_argument("--limit-job-seconds", type=float, default=4.0)
    args = parser.parse_args(argv)

    polling = bench_polling(args.job_seconds, args.jobs)
    ours, sdk = polling
    ratio = ours["_requests"] / sdk["_requests"]
    print(
        f"## Following a {args.job_seconds:g} s emulated job ({args.jobs} jobs each, same emulator)\n"
    )
    print(_table(polling))
    print(
        f"\nretrieves per job: {ratio:.2f} of the SDK's (goal <= 0.20: "
        f"{'met' if ratio <= 0.2 else 'NOT met'}); median lag {ours['_lag']:.2f} s "
        f"(goal <= 1.5 s: {'met' if ours['_lag'] <= 1.5 else 'NOT met'})\n"
    )
    limit = bench_limit(args.limit_job_seconds)
    print("## 24 jobs under a running-job limit of 2\n")
    print(_table([limit]))
    print(
        f"\nwall time {limit['ratio']:.3f} x the ideal (goal <= 1.15: "
        f"{'met' if limit['ratio'] <= 1.15 else 'NOT met'})"
    )
    return {"polling": polling, "limit": limit, "request_ratio": ratio}


if __name__ == "__main__":
    main()
