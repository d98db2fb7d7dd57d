"""Static mimebundles: the live status card, the request preview, and the video fallback.

Everything here renders server or user text through `html.escape`; nothing here holds a key. The
bundles are plain dicts so they survive a notebook reopened without a kernel, HTML export and
GitHub's renderer.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .jobs import Job

__all__ = [
    "EMBED_LIMIT_BYTES",
    "Bundle",
    "format_cost",
    "format_eta",
    "in_colab",
    "info_line",
    "provenance",
    "served_by_jupyter",
    "side_by_side",
    "small_poster",
    "static_player",
    "status_card",
    "video_fallback",
]

EMBED_LIMIT_BYTES = 25 * 1024 * 1024
"""``--embed`` inlines videos up to this size; larger ones are linked with a warning."""

_STYLE = (
    "font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px; "
    "border: 1px solid var(--jp-border-color2, #ddd); border-radius: 6px; padding: 8px 10px; "
    "max-width: 640px; box-sizing: border-box; overflow-wrap: anywhere; background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color1, #222);"
)

_STATUS_COLOURS = {
    "waiting": "#8a8a8a",
    "submitting": "#8a8a8a",
    "queued": "#8a8a8a",
    "in_progress": "#2f6fdb",
    "downloading": "#2f6fdb",
    "completed": "#1f8a4c",
    "failed": "#c0392b",
    "error": "#c0392b",
    "stuck": "#b7791f",
    "expired": "#b7791f",
}


@dataclass(frozen=True)
class Bundle:
    """A display object from a ready mimebundle (with metadata)."""

    data: Mapping[str, Any]
    metadata: Mapping[str, Any]

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return dict(self.data), dict(self.metadata)


def info_line(text: str) -> Bundle:
    """One quiet line of information (grey, small; never stderr's pink): ``text`` as given."""
    body = (
        '<div class="sora-info" role="note" style="color:var(--jp-ui-font-color2,#666);'
        f'font-size:0.9em;margin:2px 0">{html.escape(text)}</div>'
    )
    return Bundle({"text/plain": text, "text/html": body}, {"sora_widgets": {"notice": True}})


def format_cost(cost: float | None, *, simulated: bool = False) -> str:
    """``$0.40`` (``$0.40 simulated`` on the emulator), ``price unknown`` when None."""
    if cost is None:
        return "price unknown"
    text = f"${cost:,.2f}"
    return f"{text} simulated" if simulated else text


def format_eta(seconds: float | None) -> str:
    """Seconds left in words (``about 40 s left``, ``about 3 min left``); empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "any moment"
    if seconds < 90:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"


def provenance(job: Job) -> dict[str, Any]:
    """Output metadata describing where a video came from; never the key."""
    prompt = job.request.prompt
    return {
        "sora_widgets": {
            "id": job.id,
            "model": job.model,
            "size": job.size,
            "seconds": job.seconds,
            "prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
            "provider": job.settings.provider,
        }
    }


def _cost(job: Job) -> str:
    text = format_cost(job.cost, simulated=job.settings.profile.billing == "simulated")
    # an estimate reads as before; the gateway's own figure says where it came from
    return f"{text} from the gateway" if job.cost_source == "gateway" else text


def _facts(job: Job, *, with_id: bool = False) -> str:
    """``model · size · 8 s · [id ·] $0.80``, HTML-escaped."""
    facts = [job.model, job.size, f"{job.seconds} s", *([job.id or ""] if with_id else [])]
    return " · ".join(html.escape(x) for x in (*facts, _cost(job)))


def _progress_unknown(job: Job) -> bool:
    """True when the provider sends no progress for a running job (some gateways never do)."""
    return (
        job.status in ("queued", "in_progress")
        and job.video is not None
        and (job.video.progress is None)
    )


def format_elapsed(seconds: float) -> str:
    """``running for 42 s`` / ``running for 3 min 5 s``: what a card shows without a percentage."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"running for {whole} s"
    return f"running for {whole // 60} min {whole % 60} s"


def _progress_text(job: Job, progress: int) -> str:
    if _progress_unknown(job):
        return format_elapsed(time.time() - job.created)
    return f"{progress}%"


def _summary(job: Job) -> str:
    parts = [f"sora {job.status}"]
    if job.status in ("queued", "in_progress"):
        parts.append(_progress_text(job, job.progress))
    if job.id:
        parts.append(job.id)
    parts.append(f"{job.model} {job.size} {job.seconds}s")
    parts.append(_cost(job))
    text = " · ".join(parts)
    if job.message:
        text += f"\n{job.message}"
    return text


def status_card(job: Job) -> Bundle:
    """The live card: status, progress bar, ETA, id, model, size, length, cost, message."""
    status = job.status
    colour = _STATUS_COLOURS.get(status, "#8a8a8a")
    progress = 100 if status in ("completed", "downloading") else max(0, min(100, job.progress))
    eta = format_eta(job.eta) if status in ("queued", "in_progress") else ""
    details = _facts(job)
    prompt = job.request.prompt
    shown_prompt = prompt if len(prompt) <= 160 else prompt[:157] + "…"
    message = f'<div style="margin-top:4px">{html.escape(job.message)}</div>' if job.message else ""
    ident = f'<code style="font-size:11px">{html.escape(job.id)}</code>' if job.id else ""
    body = (
        f'<div class="sora-card" style="{_STYLE}">'
        f'<div><b style="color:{colour}">{html.escape(status.replace("_", " "))}</b>'
        f' <span style="opacity:.75">{details}</span> {ident}</div>'
        f'<div style="opacity:.85;margin:4px 0;white-space:pre-wrap">{html.escape(shown_prompt)}</div>'
        f'<div role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{progress}" '
        f'aria-label="generation progress" style="height:6px;background:var(--jp-layout-color3,#eee);'
        f'border-radius:3px;overflow:hidden"><div style="width:{progress}%;height:100%;'
        f'background:{colour}"></div></div>'
        f'<div style="opacity:.75;margin-top:3px">{html.escape(_progress_text(job, progress))} '
        f"{html.escape(eta)}</div>"
        f"{message}</div>"
    )
    return Bundle({"text/html": body, "text/plain": _summary(job)}, provenance(job))


def in_colab() -> bool:
    """Whether this kernel runs in Google Colab (no ``/files/`` handler there: videos are inlined)."""
    return "google.colab" in sys.modules


def relative_path(path: Path, start: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to the notebook's folder (the kernel's working directory) as a URL path."""
    base = Path(start) if start is not None else Path.cwd()
    try:
        rel = os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive on Windows
        return path.resolve().as_uri()
    return Path(rel).as_posix()


def _data_url(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def small_poster(path: Path, width: int = 320) -> str:
    """A data URL of a small JPEG of ``path`` (about 10 KB), so saved notebooks stay small;
    ``""`` if the file is not a readable image."""
    from .media import poster_data_url

    return poster_data_url(path, width) or ""


def served_by_jupyter() -> bool:
    """Whether a Jupyter server runs this kernel for a notebook (JupyterLab, Notebook 7): it sets
    ``JPY_SESSION_NAME`` to the notebook's path, and its front ends resolve a relative ``src`` in
    an HTML output against the notebook's folder, through the server's ``/files/`` handler."""
    return bool(os.environ.get("JPY_SESSION_NAME")) and not in_colab()


def static_player(job: Job) -> dict[str, Any] | None:
    """The finished video as plain HTML that plays with or without a kernel, saved widget state
    or not: the prompt, a ``<video>`` (poster: a small data URL of the thumbnail; source: the
    MP4's path relative to the notebook, which the front end resolves against the notebook's own
    folder), a download link and the facts. None when the video is not under the notebook's
    folder (a relative path could not reach it)."""
    video = job.paths.get("video")
    if video is None or not video.exists():
        return None
    rel = relative_path(video)
    if rel.startswith(("../", "file:")) or rel == "..":
        return None
    src = html.escape(rel, quote=True)
    poster = poster_img = ""
    thumbnail = job.paths.get("thumbnail")
    if thumbnail is not None and thumbnail.exists():
        data_url = small_poster(thumbnail)
        poster = f' poster="{data_url}"'
        poster_img = f'<img src="{data_url}" alt="poster" style="display:block;max-width:100%">'
    name = html.escape(video.name, quote=True)
    prompt = job.request.prompt
    title = html.escape(prompt if len(prompt) <= 160 else prompt[:159] + "…")
    body = (
        '<div class="sora-player sora-player-static" style="max-width:720px">'
        f'<div class="sora-player-title" style="font-weight:600;margin:0 0 4px" '
        f'title="{html.escape(prompt, quote=True)}">{title}</div>'
        f'<video controls playsinline preload="metadata" src="{src}"{poster} '
        'style="display:block;max-width:100%;max-height:480px;background:#000">'
        # where <video> is not allowed (GitHub's viewer), the poster and a link remain
        f'<a href="{src}">{poster_img}{name}</a></video>'
        '<div class="sora-player-caption" style="font-size:12px;opacity:.8;margin-top:4px">'
        f'{_facts(job, with_id=True)} · <a class="sora-player-download" href="{src}" '
        f'download="{name}">download</a></div></div>'
    )
    return {"text/html": body, "text/plain": f"{_summary(job)}\n{video}"}


def side_by_side(jobs: Sequence[Job], labels: Sequence[str] | None = None) -> Bundle:
    """Finished videos next to each other, each under its label, as plain HTML: it plays with the
    kernel and in a saved notebook reopened without one (widget state or not), and wraps on a
    narrow screen. ``labels`` defaults to each job's prompt. Raises `ValidationError` for a
    label count that does not match."""
    jobs = list(jobs)
    names = list(labels) if labels is not None else [job.request.prompt for job in jobs]
    if len(names) != len(jobs):
        from .api import ValidationError

        raise ValidationError(
            f"{len(names)} labels for {len(jobs)} videos: give one label per video", param="labels"
        )
    columns = []
    texts = []
    for job, label in zip(jobs, names, strict=True):
        player = static_player(job) or video_fallback(job)
        body = player.get("text/html") or f"<pre>{html.escape(player['text/plain'])}</pre>"
        columns.append(
            '<div class="sora-side-column" style="flex:1 1 300px;min-width:260px;max-width:100%">'
            f'<div class="sora-side-label" style="font-weight:600;margin-bottom:4px">'
            f"{html.escape(label)}</div>{body}</div>"
        )
        texts.append(f"{label}: {_summary(job)}")
    row = (
        '<div class="sora-side-by-side" style="display:flex;flex-flow:row wrap;gap:8px;'
        f'width:100%">{"".join(columns)}</div>'
    )
    return Bundle({"text/html": row, "text/plain": "\n".join(texts)}, {})


def video_fallback(job: Job, *, embed: bool | None = None) -> dict[str, Any]:
    """The static half of a finished video's bundle: poster, ``<video>`` by relative path, summary.

    With ``embed`` (automatic on Colab) the MP4 is inlined under `EMBED_LIMIT_BYTES`, with a warning.
    """
    video = job.paths.get("video")
    if video is None:
        return {"text/plain": _summary(job)}
    thumbnail = job.paths.get("thumbnail")
    embed = in_colab() if embed is None else embed
    src = html.escape(relative_path(video), quote=True)
    warning = ""
    if embed:
        size = video.stat().st_size
        if size <= EMBED_LIMIT_BYTES:
            src = _data_url(video, "video/mp4")
            warning = (
                f'<div style="color:#b7791f">embedded: this video adds {size / 1e6:.1f} MB to the '
                "notebook</div>"
            )
        else:
            warning = (
                f'<div style="color:#b7791f">not embedded: {size / 1e6:.0f} MB is over the '
                f"{EMBED_LIMIT_BYTES / 1e6:.0f} MB limit; linked by path instead</div>"
            )
    poster = ""
    if thumbnail is not None and thumbnail.exists():
        poster = f' poster="{small_poster(thumbnail)}"'
    caption = _facts(job, with_id=True)
    body = (
        f'<div class="sora-fallback">{warning}'
        f'<video controls muted playsinline preload="metadata" src="{src}"{poster} '
        f'style="max-width:100%;max-height:480px"></video>'
        f'<div style="font-size:12px;opacity:.75">{caption}</div></div>'
    )
    return {"text/html": body, "text/plain": f"{_summary(job)}\n{video}"}
