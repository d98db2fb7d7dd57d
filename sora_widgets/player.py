"""`VideoPlayer`: play a generated video in the notebook without putting its bytes in the notebook.

The widget state holds only small things: file names, a caption, the spritesheet grid, a poster
(a small data URL of the thumbnail) and a relative URL of the video for when the kernel is gone.
The bytes travel on request: every view, when it renders, sends ``{"type": "request", "variant":
...}``; the kernel answers with the file in chunks of `CHUNK_SIZE` bytes as binary buffers of custom
messages, and the view assembles them into a Blob URL. A saved notebook therefore stays small and
still shows the poster, and the video plays through Jupyter's ``/files/`` handler when no kernel
answers.

Protocol (custom messages, JSON content plus binary buffers):

- view → kernel: ``{"type": "request", "variant": "video" | "thumbnail" | "spritesheet",
  "request": str}``; ``request`` is chosen by the view so several views of one widget can tell
  their answers apart.
- kernel → view: ``{"type": "chunk", "request", "variant", "index", "count", "size", "mime",
  "name"}`` with one buffer per message (``index`` counts from 0 to ``count - 1``; ``size`` is the
  whole file), or ``{"type": "error", "request", "variant", "message"}``.
"""

from __future__ import annotations

import html
import math
import os
import posixpath
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets
import traitlets

if TYPE_CHECKING:
    from .jobs import Job

__all__ = ["CHUNK_SIZE", "VideoPlayer"]

CHUNK_SIZE = 4 * 1024 * 1024
"""Bytes per custom message; the view reassembles the chunks."""

POSTER_MAX_WIDTH = 320
POSTER_MAX_BYTES = 30_000

VARIANTS = ("video", "thumbnail", "spritesheet")

_MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}

_STATIC = Path(__file__).parent / "static"


class VideoPlayer(anywidget.AnyWidget):
    """Plays a local video file in the notebook, with its thumbnail as poster and hover scrubbing
    over its spritesheet.

    ``video``, ``thumbnail`` and ``spritesheet`` are paths on the kernel's machine; they are read
    when a view asks for them, not when the player is made. ``caption`` and ``title`` are shown as
    text (never as HTML). The spritesheet is a grid of ``sprite_columns`` × ``sprite_rows`` tiles
    (the emulator's 5 × 2 by default), of which the first ``sprite_count`` are used.
    """

    _esm = _STATIC / "player.js"
    _css = _STATIC / "player.css"

    video_name = traitlets.Unicode("").tag(sync=True)
    """File name of the video; the download link's name."""
    thumbnail_name = traitlets.Unicode("").tag(sync=True)
    spritesheet_name = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    caption = traitlets.Unicode("").tag(sync=True)
    sprite_columns = traitlets.Int(5).tag(sync=True)
    sprite_rows = traitlets.Int(2).tag(sync=True)
    sprite_count = traitlets.Int(10).tag(sync=True)
    poster_data = traitlets.Unicode("").tag(sync=True)
    """A small data URL of the thumbnail (≤ 320 px wide, ≤ 30 KB), kept in saved notebooks."""
    fallback_src = traitlets.Unicode("").tag(sync=True)
    """The video's path relative to the kernel's working folder (the notebook's folder), as a
    URL; the view plays it through Jupyter's ``/files/`` handler when the kernel does not answer."""
    files_path = traitlets.Unicode("").tag(sync=True)
    """The video's path from the Jupyter server's root (the notebook's own folder, from
    ``JPY_SESSION_NAME``, joined with ``fallback_src``), so the view asks ``{base}files/{path}``
    whatever the browser's address; ``""`` when not known (the view then works it out)."""
    fallback_after = traitlets.Float(4.0).tag(sync=True)
    """Seconds a view waits for the kernel's bytes before it turns to ``fallback_src``."""

    def __init__(
        self,
        video: str | os.PathLike[str],
        *,
        thumbnail: str | os.PathLike[str] | None = None,
        spritesheet: str | os.PathLike[str] | None = None,
        caption: str = "",
        title: str | None = None,
        sprite_columns: int = 5,
        sprite_rows: int = 2,
        sprite_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        paths = {"video": Path(video)}
        if thumbnail is not None:
            paths["thumbnail"] = Path(thumbnail)
        if spritesheet is not None:
            paths["spritesheet"] = Path(spritesheet)
        if sprite_columns < 1 or sprite_rows < 1:
            raise ValueError(
                f"a spritesheet grid of {sprite_columns}x{sprite_rows} tiles is empty "
                "(give at least one column and one row)"
            )
        count = sprite_columns * sprite_rows if sprite_count is None else sprite_count
        # let the player shrink with a narrow container (a JupyterLab side panel, a panel card)
        kwargs.setdefault("layout", ipywidgets.Layout(max_width="100%", min_width="0"))
        super().__init__(
            video_name=paths["video"].name,
            thumbnail_name=paths["thumbnail"].name if "thumbnail" in paths else "",
            spritesheet_name=paths["spritesheet"].name if "spritesheet" in paths else "",
            title=title if title is not None else "",
            caption=caption,
            sprite_columns=sprite_columns,
            sprite_rows=sprite_rows,
            sprite_count=max(0, min(count, sprite_columns * sprite_rows)),
            poster_data=_poster_data_url(paths["thumbnail"]) if "thumbnail" in paths else "",
            fallback_src=_relative_url(paths["video"]),
            files_path=_server_path(paths["video"]),
            **kwargs,
        )
        self.paths: dict[str, Path] = paths
        """The files this player serves, by variant (``video``, ``thumbnail``, ``spritesheet``)."""
        self.output_metadata: dict[str, Any] = {}
        """Metadata put beside the player's output (provenance for a job's video; never a key)."""
        self.on_msg(self._on_custom_msg)

    @classmethod
    def from_job(cls, job: Job, **kwargs: Any) -> VideoPlayer:
        """A player for a completed `Job`: its downloaded files, its prompt as title and a caption
        of model, size, seconds, id and estimated cost.

        Raises `ValueError` if the job has no downloaded video yet.
        """
        video = job.paths.get("video")
        if video is None:
            raise ValueError(
                f"job {job.id or '(not yet created)'} is {job.status} and has no downloaded video "
                "yet (wait for it with job.wait(), then make the player)"
            )
        kwargs.setdefault("thumbnail", job.paths.get("thumbnail"))
        kwargs.setdefault("spritesheet", job.paths.get("spritesheet"))
        kwargs.setdefault("title", job.request.prompt)
        kwargs.setdefault("caption", job_caption(job))
        player = cls(video, **kwargs)
        from .display import provenance

        player.output_metadata = provenance(job)
        return player

    # -- serving bytes -------------------------------------------------------------------------

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        variant = content.get("variant")
        request = str(content.get("request", ""))
        path = self.paths.get(variant) if isinstance(variant, str) else None
        if path is None:
            self.send(
                {
                    "type": "error",
                    "request": request,
                    "variant": str(variant),
                    "message": f"this player has no {variant!s} file",
                }
            )
            return
        try:
            size = path.stat().st_size
            chunks = _read_chunks(path, CHUNK_SIZE)
            count = max(1, math.ceil(size / CHUNK_SIZE))
            header = {
                "type": "chunk",
                "request": request,
                "variant": variant,
                "count": count,
                "size": size,
                "mime": _MIME_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                "name": path.name,
            }
            for index, chunk in enumerate(chunks):
                if index >= count:  # the file grew while we read it; the view wants `count`
                    break
                self.send({**header, "index": index}, buffers=[chunk])
        except OSError as error:
            self.send(
                {
                    "type": "error",
                    "request": request,
                    "variant": variant,
                    "message": f"cannot read {path.name}: {error.strerror or error}",
                }
            )

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data = {**data, "text/html": self.fallback_html()}
        return data, {**(metadata or {}), **self.output_metadata}

    def fallback_html(self) -> str:
        """A static ``<video>`` for frontends without widgets: poster from ``poster_data``, source
        from ``fallback_src`` (resolved by the frontend against the notebook's folder)."""
        src = html.escape(self.fallback_src, quote=True)
        poster = html.escape(self.poster_data, quote=True)
        name = html.escape(self.video_name, quote=True)
        lines = []
        if self.title:
            lines.append(f"<strong>{html.escape(self.title)}</strong>")
        if self.caption:
            lines.append(html.escape(self.caption))
        if src:
            lines.append(f'<a href="{src}" download="{name}">{name}</a>')
        poster_attr = f' poster="{poster}"' if poster else ""
        return (
            '<figure class="sora-player-fallback" style="margin:0">'
            f'<video controls muted playsinline preload="metadata"{poster_attr} src="{src}" '
            'style="max-width:100%;max-height:480px"></video>'
            f"<figcaption>{'<br>'.join(lines)}</figcaption></figure>"
        )

    def __repr__(self) -> str:
        return f"VideoPlayer({self.video_name!r})"


def job_caption(job: Job) -> str:
    """``sora-2 · 1280x720 · 4 s · video_123 · ≈ $0.40`` for a job (cost only when known)."""
    parts = [job.model, job.size, f"{job.seconds} s"]
    if job.id:
        parts.append(job.id)
    if job.cost is not None:
        simulated = job.settings.profile.billing == "simulated"
        parts.append(f"≈ ${job.cost:.2f}" + (" simulated" if simulated else ""))
    return " · ".join(parts)


def _read_chunks(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        first = True
        while True:
            chunk = handle.read(size)
            if not chunk and not first:
                return
            yield chunk
            first = False
            if len(chunk) < size:
                return


def _relative_url(path: Path) -> str:
    """``path`` relative to the working folder, as a URL path (``""`` if it has none)."""
    try:
        relative = os.path.relpath(path.absolute(), Path.cwd())
    except ValueError:  # another drive on Windows: the notebook server cannot see it
        return ""
    return urllib.parse.quote(Path(relative).as_posix())


def _server_path(path: Path) -> str:
    """``path`` from the Jupyter server's root, as a URL path: the notebook's folder (from
    ``JPY_SESSION_NAME``, which the server sets to the notebook's path) joined with the path
    from the kernel's working folder; ``""`` when unknown or outside the server's root."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    relative = _relative_url(path)
    if not session or not relative or session.startswith(("/", "\\")) or ":" in session:
        return ""
    folder = posixpath.dirname(session.replace("\\", "/"))
    joined = posixpath.normpath(posixpath.join(folder, urllib.parse.unquote(relative)))
    if joined.startswith("../") or joined == "..":
        return ""
    return urllib.parse.quote(joined)


def _poster_data_url(path: Path) -> str:
    """The thumbnail downscaled to at most `POSTER_MAX_WIDTH` px wide, as a JPEG data URL of at
    most `POSTER_MAX_BYTES`; ``""`` if it cannot be read (the thumbnail still travels on request)."""
    from .media import poster_data_url

    return poster_data_url(path, POSTER_MAX_WIDTH, max_bytes=POSTER_MAX_BYTES) or ""
