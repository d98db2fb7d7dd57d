"""Extension load time against ``import openai``, each in fresh interpreters.

Run ``python bench/bench_load.py [--runs N]``; ``main()`` returns the rows. In a kernel IPython is
already loaded, so both measurements start from an interpreter with an ``InteractiveShell`` made:
ours times ``%load_ext sora_widgets``, the baseline times ``import openai`` (what using the official
SDK in a notebook costs before the first call). Goal: ours at most 0.15 x the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from typing import Any

SETUP = (
    "import time\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "shell = InteractiveShell.instance()\n"
    "t0 = time.perf_counter()\n"
)
OURS = SETUP + "shell.run_line_magic('load_ext', 'sora_widgets')\nprint(time.perf_counter() - t0)\n"
BASELINE = SETUP + "import openai\nprint(time.perf_counter() - t0)\n"


def _once(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    ours: list[float] = []
    base: list[float] = []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        ours.append(_once(OURS))
        base.append(_once(BASELINE))
    rows = []
    for name, values in (("%load_ext sora_widgets", ours), ("import openai (baseline)", base)):
        rows.append(
            {
                "what": name,
                "min ms": round(min(values) * 1000, 1),
                "median ms": round(statistics.median(values) * 1000, 1),
                "max ms": round(max(values) * 1000, 1),
            }
        )
    ratio = statistics.median(ours) / statistics.median(base)
    print("| what | min ms | median ms | max ms |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['what']} | {row['min ms']} | {row['median ms']} | {row['max ms']} |")
    verdict = "met" if ratio <= 0.15 else "NOT met"
    print(
        f"\nload time {ratio:.3f} x import openai (goal <= 0.15: {verdict}), {args.runs} runs each"
    )
    return {"rows": rows, "ratio": ratio}


if __name__ == "__main__":
    main()
