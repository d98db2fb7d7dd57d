"""A synchronized grid of finished videos: `compare`.

The grid is plain HTML plus one inline ``<script>`` (``static/compare.js``), never a widget: it
plays with the kernel, after a restart and in a notebook reopened without saved widget state. The
script keeps every video on one clock (the longest video's) and drives them from one control bar
and the keyboard; where scripts do not run (an untrusted notebook, GitHub's viewer) each video
keeps its own controls and plays on its own.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .display import Bundle, format_cost, relative_path, small_poster

if TYPE_CHECKING:
    from .jobs import Job

__all__ = ["common_words", "compare", "grid_columns"]

MIN_VIDEOS = 2
MAX_VIDEOS = 9
FRAME_SECONDS = 1 / 24
"""One frame step (and the drift the script tolerates before it corrects a video)."""

_SCRIPT_PATH = Path(__file__).parent / "static" / "compare.js"
_OPTIONS = ("model", "size", "seconds")


def grid_columns(count: int) -> int:
    """Columns for ``count`` videos: 2 side by side, 3 in a row, 4 as 2x2, 5 to 9 in rows of 3."""
    if count <= 2:
        return 2
    if count == 4:
        return 2
    return 3


def common_words(prompts: Sequence[str]) -> tuple[list[str], list[str]]:
    """The words every prompt starts with and the words every prompt ends with (never
    overlapping in the shortest prompt)."""
    words = [p.split() for p in prompts]
    if not words:
        return [], []
    shortest = min(len(w) for w in words)
    prefix = 0
    while prefix < shortest and all(w[prefix] == words[0][prefix] for w in words):
        prefix += 1
    suffix = 0
    while suffix < shortest - prefix and all(
        w[-1 - suffix] == words[0][-1 - suffix] for w in words
    ):
        suffix += 1
    head = words[0][:prefix]
    tail = words[0][len(words[0]) - suffix :] if suffix else []
    return head, tail


def _cost(job: Job) -> str:
    text = format_cost(job.cost, simulated=job.settings.profile.billing == "simulated")
    return f"{text} from the gateway" if job.cost_source == "gateway" else text


def _option(job: Job, name: str) -> str:
    value = str(getattr(job, name))
    return f"{value} s" if name == "seconds" else value


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finished(jobs: Iterable[Any]) -> list[Job]:
    from .api import ValidationError
    from .status import JobStatus

    jobs = list(jobs)
    if len(jobs) == 1 and isinstance(jobs[0], list | tuple):
        jobs = list(jobs[0])  # compare([a, b, c]) as well as compare(a, b, c)
    if not MIN_VIDEOS <= len(jobs) <= MAX_VIDEOS:
        raise ValidationError(
            f"compare takes {MIN_VIDEOS} to {MAX_VIDEOS} finished videos, got {len(jobs)}",
            param="jobs",
        )
    for number, job in enumerate(jobs, 1):
        name = getattr(job, "id", None) or f"video {number}"
        status = getattr(job, "status", None)
        if status is None or not hasattr(job, "paths"):
            raise ValidationError(
                f"video {number} is not a job ({type(job).__name__}): pass the jobs that "
                "generate() returned",
                param="jobs",
            )
        if status != JobStatus.COMPLETED:
            raise ValidationError(
                f"{name} is {status}, not finished: wait for it (job.wait()) before comparing",
                param="jobs",
            )
        video = job.paths.get("video")
        if video is None or not Path(video).exists():
            raise ValidationError(
                f"{name} has no video on disk ({video or 'never downloaded'}): "
                "download it again (resume) before comparing",
                param="jobs",
            )
    return jobs


def _ratio(jobs: Sequence[Job]) -> tuple[int, int]:
    """The cells' common box: the videos' own ratio when they share one, else a square."""
    ratios = set()
    for job in jobs:
        try:
            width, height = (int(x) for x in job.size.lower().split("x"))
        except ValueError:
            return 1, 1
        ratios.add((width, height) if width and height else (1, 1))
    if len({w / h for w, h in ratios}) == 1:
        return next(iter(ratios))
    return 1, 1


def _seconds(job: Job) -> float:
    try:
        return float(job.seconds)
    except ValueError:
        return 0.0


def compare(*jobs: Any, labels: Sequence[str] | None = None) -> Bundle:
    """A grid of 2 to 9 finished videos that play, pause, seek, loop and step frame by frame
    together, from one control bar and the keyboard (space, ←/→ one second, ``,``/``.`` one
    frame). The prompts' shared words (and shared options) show once above the grid; each cell
    shows what differs (highlighted) and its cost. ``labels`` replaces each cell's prompt text.

    Plain HTML plus one inline script: it works live, after a restart and reopened. Raises
    `ValidationError` for fewer than 2 or more than 9 videos, a job that is not finished or has
    no video on disk, or a label count that does not match.
    """
    from .api import ValidationError

    finished = _finished(jobs)
    count = len(finished)
    names = list(labels) if labels is not None else None
    if names is not None and len(names) != count:
        raise ValidationError(
            f"{len(names)} labels for {count} videos: give one label per video", param="labels"
        )

    prompts = [job.request.prompt for job in finished]
    head, tail = common_words(prompts)
    same_prompt = len(set(prompts)) == 1
    differing = [o for o in _OPTIONS if len({_option(j, o) for j in finished}) > 1]
    shared = [o for o in _OPTIONS if o not in differing]
    root_id = f"sora-compare-{uuid.uuid4().hex}"
    columns = grid_columns(count)
    ratio_w, ratio_h = _ratio(finished)
    cell_width = min(480, int(360 * ratio_w / ratio_h))
    longest = max(_seconds(job) for job in finished)

    # the shared part, once
    shared_html = ""
    if head or tail:
        gap = (
            "" if same_prompt else ' <span class="sora-compare-gap" aria-label="differs">…</span> '
        )
        shared_text = html.escape(_shorten(" ".join(head), 300))
        if tail:
            shared_text += gap + html.escape(_shorten(" ".join(tail), 300))
        elif gap:
            shared_text += gap
        shared_html = (
            '<div class="sora-compare-common" style="margin:0 0 6px">'
            '<span style="opacity:.7">shared prompt:</span> '
            f'<span class="sora-compare-common-text">{shared_text}</span></div>'
        )
    shared_options = " · ".join(html.escape(_option(finished[0], o)) for o in shared)
    if shared_options:
        shared_html += (
            f'<div class="sora-compare-shared-options" style="opacity:.7;margin:0 0 6px">'
            f"{shared_options}</div>"
        )

    cells = []
    texts = []
    for number, job in enumerate(finished, 1):
        words = job.request.prompt.split()
        middle = words[len(head) : len(words) - len(tail)]
        if names is not None:
            label = html.escape(names[number - 1])
            text_label = names[number - 1]
        elif same_prompt and differing:  # one prompt, other options: those are the difference
            text_label = " · ".join(_option(job, o) for o in differing)
            label = f"<mark>{html.escape(text_label)}</mark>"
        elif same_prompt:
            label = f"take {number}"
            text_label = label
        else:
            diff = html.escape(_shorten(" ".join(middle))) if middle else "(nothing)"
            before = "… " if head else ""
            after = " …" if tail else ""
            label = f"{before}<mark>{diff}</mark>{after}"
            text_label = " ".join(middle) or "(nothing)"
        shown_options = differing if names is not None or not same_prompt else []
        facts = [html.escape(_option(job, o)) for o in shown_options]
        facts.append(f'<span class="sora-compare-cost">{html.escape(_cost(job))}</span>')
        video = Path(job.paths["video"])
        src = html.escape(relative_path(video), quote=True)
        poster = ""
        thumbnail = job.paths.get("thumbnail")
        if thumbnail is not None and Path(thumbnail).exists():
            data_url = small_poster(Path(thumbnail))
            if data_url:
                poster = f' poster="{data_url}"'
        prompt = html.escape(job.request.prompt, quote=True)
        cells.append(
            f'<figure class="sora-compare-cell" style="margin:0;min-width:0">'
            f'<div class="sora-compare-box" style="aspect-ratio:{ratio_w} / {ratio_h};'
            'background:#000;border-radius:4px;overflow:hidden">'
            f'<video playsinline preload="auto" muted controls src="{src}"{poster} '
            f'data-seconds="{_seconds(job):g}" '
            'style="display:block;width:100%;height:100%;object-fit:contain;background:#000">'
            f'<a href="{src}">{html.escape(video.name)}</a></video></div>'
            f'<figcaption class="sora-compare-label" title="{prompt}" '
            'style="font-size:12px;margin-top:3px;overflow-wrap:anywhere">'
            f'<span class="sora-compare-number" style="opacity:.6">{number}.</span> '
            f'<span class="sora-compare-diff">{label}</span>'
            f'<div class="sora-compare-facts" style="opacity:.75">{" · ".join(facts)}</div>'
            "</figcaption></figure>"
        )
        options = " ".join(_option(job, o) for o in differing)
        texts.append(
            f"{number}. {text_label}{' · ' + options if options else ''} · {_cost(job)}"
            f" · {job.id} · {video}"
        )

    button = (
        'type="button" style="font:inherit;padding:1px 8px;min-width:2.4em;cursor:pointer;'
        "border:1px solid var(--jp-border-color1,#bbb);border-radius:4px;"
        'background:var(--jp-layout-color2,#f3f3f3);color:inherit"'
    )
    bar = (
        # hidden until the script runs: without it, each video keeps its own controls
        '<div class="sora-compare-bar" role="toolbar" aria-label="play all videos together" '
        'style="display:none;align-items:center;gap:6px;margin-top:8px;flex-wrap:wrap">'
        f'<button class="sora-compare-play" {button} aria-label="play">▶ play</button>'
        f'<button class="sora-compare-back" {button} aria-label="one frame back" title="one frame back (,)">−1f</button>'
        f'<button class="sora-compare-forward" {button} aria-label="one frame forward" title="one frame forward (.)">+1f</button>'
        f'<input class="sora-compare-seek" type="range" min="0" max="{longest:g}" step="any" '
        'value="0" aria-label="time" style="flex:1 1 200px;min-width:120px">'
        '<span class="sora-compare-time" style="font-variant-numeric:tabular-nums;'
        f'min-width:7em">0.00 / {longest:.2f} s</span>'
        f'<button class="sora-compare-loop" {button} aria-pressed="false" '
        'aria-label="loop">⟲ loop</button></div>'
    )
    help_text = "space: play/pause · ←/→: 1 s · , and .: one frame"
    body = (
        f'<div id="{root_id}" class="sora-compare" tabindex="0" data-lm-suppress-shortcuts="true" '
        f'data-frame="{FRAME_SECONDS!r}" aria-label="synchronized videos ({help_text})" '
        f'title="{help_text}" style="font-family:var(--jp-ui-font-family,system-ui,sans-serif);'
        "font-size:13px;color:var(--jp-ui-font-color1,#222);outline-offset:2px;"
        f'max-width:{columns * cell_width + (columns - 1) * 8}px">'
        f"{shared_html}"
        f'<div class="sora-compare-grid" style="display:grid;'
        f'grid-template-columns:repeat({columns},minmax(0,1fr));gap:8px">{"".join(cells)}</div>'
        f"{bar}<script>{_script()}</script></div>"
    )
    common = " ".join(head) + (" … " + " ".join(tail) if tail else "")
    plain = [f"compare: {count} videos" + (f"; shared prompt: {common}" if common else "")]
    plain.extend(texts)
    metadata = {"sora_widgets": {"compare": [job.id for job in finished]}}
    return Bundle({"text/html": body, "text/plain": "\n".join(plain)}, metadata)


def _script() -> str:
    # "</" never appears in the script, so it cannot close the <script> element early
    text = _SCRIPT_PATH.read_text(encoding="utf-8")
    return text.replace("</", "<\\/")
