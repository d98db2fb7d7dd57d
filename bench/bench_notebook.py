"""Notebook benchmark: how much a saved notebook grows per video, against ``Video(path, embed=True)``.

Run ``python bench/bench_notebook.py [--videos N]``; ``main()`` returns the results it prints.

Two small notebooks run headless in a real kernel (nbclient, widget state stored as Jupyter saves
it) against an emulator served from this process (4 s 1280x720 clips, jobs of 1 s):

- this kit: ``%load_ext sora_widgets`` and N ``%%sora --wait`` cells, one video each;
- the baseline: the same N MP4s, downloaded by the first notebook, shown with
  ``IPython.display.Video(path, embed=True)``, the usual way to make a video survive in a saved
  notebook.

Growth per video is (saved executed notebook - the same notebook unexecuted) / N, in bytes.
Goal (issue 6): at most 64 KiB per video.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _report import markdown_table, verdict  # noqa: E402

GOAL_BYTES = 64 * 1024
PROMPTS = (
    "A red-and-white lighthouse on a rocky point at sunset, slow aerial orbit",
    "A paper boat sailing down a rainy street gutter, macro lens",
    "A calico cat playing a piano on stage, warm spotlight",
    "Fishing boats drifting out of a harbour at dawn, gentle push-in",
    "A lighthouse keeper climbing spiral stairs, handheld camera",
    "Snow falling on a quiet mountain village at night",
)
KERNEL_ENV_DROP = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SORA_PROFILE", "SORA_OUTPUT_DIR")


def _notebook(sources: list[str]) -> Any:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def _execute(notebook: Any, path: Path, env: dict[str, str], timeout: int) -> dict[str, Any]:
    """Save ``notebook`` unexecuted, run it in a fresh kernel, save it again; sizes and errors."""
    import nbformat
    from nbclient import NotebookClient

    nbformat.write(notebook, path)
    empty = path.stat().st_size
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute(cwd=str(path.parent), env=env)
    seconds = time.perf_counter() - start
    executed = path.with_name(f"executed-{path.name}")
    nbformat.write(notebook, executed)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"
    ]
    widgets = notebook.metadata.get("widgets", {})
    return {
        "empty": empty,
        "saved": executed.stat().st_size,
        "widget_state": len(json.dumps(widgets)) if widgets else 0,
        "outputs": len(json.dumps(outputs)),
        "seconds": seconds,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=3, help="videos per notebook (at most 6)")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per cell")
    args = parser.parse_args(argv)
    count = max(1, min(args.videos, len(PROMPTS)))

    from sora_widgets.emulator import serve_in_thread

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        work = base / "work"
        work.mkdir()
        with serve_in_thread(job_seconds=1, data_dir=base / "cache") as emulator:
            env = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV_DROP}
            env.update(
                SORA_BASE_URL=emulator.base_url,
                SORA_API_KEY="sk-bench-notebook",
                SORA_WIDGETS_HOME=str(base / "home"),
            )
            kit_cells = ["%load_ext sora_widgets"] + [
                f"%%sora --size 1280x720 --seconds 4 --wait\n{PROMPTS[k]}" for k in range(count)
            ]
            kit = _execute(_notebook(kit_cells), work / "kit.ipynb", env, args.timeout)
        videos = sorted((work / "sora_videos").glob("*.mp4"), key=lambda p: p.stat().st_mtime)
        if len(videos) != count:
            raise RuntimeError(
                f"the kit's notebook made {len(videos)} videos, not {count}: {kit['errors']}"
            )
        mp4_bytes = sum(p.stat().st_size for p in videos)
        base_cells = ["from IPython.display import Video"] + [
            f"Video({str(p.relative_to(work))!r}, embed=True)" for p in videos
        ]
        baseline = _execute(_notebook(base_cells), work / "baseline.ipynb", env, args.timeout)

    rows = []
    for name, result in (
        (f"sora-widgets: {count} x %%sora --wait", kit),
        (f"baseline: {count} x Video(path, embed=True)", baseline),
    ):
        per_video = (result["saved"] - result["empty"]) / count
        result["per_video"] = per_video
        rows.append(
            {
                "notebook": name,
                "unexecuted bytes": f"{result['empty']:,}",
                "saved bytes": f"{result['saved']:,}",
                "of which widget state": f"{result['widget_state']:,}",
                "growth per video KiB": f"{per_video / 1024:.1f}",
                "run s": f"{result['seconds']:.1f}",
                "errors": len(result["errors"]),
            }
        )
    ratio = kit["per_video"] / baseline["per_video"]
    met = kit["per_video"] <= GOAL_BYTES and not kit["errors"]
    print(f"## Saved notebook growth per video ({count} videos, 4 s 1280x720 emulator clips)\n")
    print(markdown_table(rows))
    print(
        f"\nthe MP4s average {mp4_bytes / count / 1024:.0f} KiB; the kit's notebook grows "
        f"{kit['per_video'] / 1024:.1f} KiB per video, {ratio:.3f} x the embedded baseline's "
        f"{baseline['per_video'] / 1024:.0f} KiB (goal <= {GOAL_BYTES // 1024} KiB: {verdict(met)})"
    )
    for name, result in (("kit", kit), ("baseline", baseline)):
        for error in result["errors"]:
            print(f"error in the {name} notebook: {error}")
    return {
        "rows": rows,
        "videos": count,
        "kit_bytes_per_video": kit["per_video"],
        "baseline_bytes_per_video": baseline["per_video"],
        "mp4_bytes_per_video": mp4_bytes / count,
        "ratio": ratio,
        "goal_bytes": GOAL_BYTES,
        "met": met,
        "errors": kit["errors"] + baseline["errors"],
    }


if __name__ == "__main__":
    main()
