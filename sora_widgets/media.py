"""Pictures made locally from videos and images: a video's last frame, small JPEG posters.

Pillow and PyAV are imported on first use.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .api import ReferenceImageError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["last_frame", "make_previews", "poster_data_url", "poster_jpeg"]


def last_frame(path: str | os.PathLike[str]) -> Image.Image:
    """The last frame of a video file as an RGB PIL image; decodes only its last seconds.

    Raises `ReferenceImageError` if the file cannot be read or holds no frame.
    """
    import av

    name = Path(path).name

    def decode(seek: bool) -> Image.Image | None:
        with av.open(os.fspath(path)) as container:
            stream = container.streams.video[0]
            if seek and stream.duration and stream.time_base:
                back = int(2 / stream.time_base)
                start = stream.start_time or 0
                container.seek(max(start, start + stream.duration - back), stream=stream)
            last = None
            for frame in container.decode(stream):
                last = frame
            if last is None:
                return None
            image: Image.Image = last.to_image()  # type: ignore[no-untyped-call]
            return image.convert("RGB")

    try:
        image = decode(seek=True)
    except Exception:  # some files cannot seek; decoding from the start still works
        image = None
    if image is None:
        try:
            image = decode(seek=False)
        except Exception as exc:
            raise ReferenceImageError(f"video {name!r} could not be read: {exc}") from exc
    if image is None:
        raise ReferenceImageError(f"video {name!r} holds no frame")
    return image


def poster_jpeg(
    path: str | os.PathLike[str],
    width: int = 320,
    height: int | None = None,
    *,
    max_bytes: int | None = None,
) -> bytes | None:
    """A small JPEG of an image file, fitted inside ``width`` x ``height`` pixels (height: four
    times the width unless given), a few KB; None if the file cannot be read as an image.

    With ``max_bytes`` the quality, then the size, is lowered until the JPEG fits (None if even a
    40 px one does not)."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    while width >= 40:
        image.thumbnail((width, height or width * 4))
        for quality in (70, 50, 35):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if max_bytes is None or out.tell() <= max_bytes:
                return out.getvalue()
        width //= 2
        height = None if height is None else height // 2
    return None


def poster_data_url(
    path: str | os.PathLike[str],
    width: int = 320,
    height: int | None = None,
    *,
    max_bytes: int | None = None,
) -> str | None:
    """`poster_jpeg` as a ``data:image/jpeg;base64,…`` URL, or None; ``max_bytes`` bounds the
    URL's length."""
    limit = None if max_bytes is None else max_bytes * 3 // 4 - 32
    data = poster_jpeg(path, width, height, max_bytes=limit)
    if data is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


SPRITE_COLUMNS = 5
SPRITE_ROWS = 2
SPRITE_TILE = 192
"""Long side of one spritesheet tile in pixels: the grid the player expects (as the emulator's)."""


def make_previews(
    video: str | os.PathLike[str],
    thumbnail: str | os.PathLike[str] | None,
    spritesheet: str | os.PathLike[str] | None,
) -> dict[str, Path]:
    """Make a WebP thumbnail (the frame a third of the way in) and a JPEG spritesheet
    (`SPRITE_COLUMNS` x `SPRITE_ROWS` frames spread over the clip) from an MP4, for providers that
    serve neither; each written atomically. Returns the paths written, by variant.

    Raises `ReferenceImageError` if the video cannot be decoded.
    """
    import av
    from PIL import Image as PILImage

    try:
        with av.open(os.fspath(video)) as container:
            frames = [
                frame.to_image()  # type: ignore[no-untyped-call]
                for frame in container.decode(video=0)
            ]
    except Exception as exc:
        raise ReferenceImageError(f"video {Path(video).name!r} could not be read: {exc}") from exc
    if not frames:
        raise ReferenceImageError(f"video {Path(video).name!r} holds no frame")
    made: dict[str, Path] = {}
    if thumbnail is not None:
        out = io.BytesIO()
        frames[len(frames) // 3].convert("RGB").save(out, "WEBP", quality=80, method=0)
        made["thumbnail"] = _write_atomically(Path(thumbnail), out.getvalue())
    if spritesheet is not None:
        count = SPRITE_COLUMNS * SPRITE_ROWS
        picks = [frames[round(k * (len(frames) - 1) / (count - 1))] for k in range(count)]
        scale = SPRITE_TILE / max(picks[0].size)
        tile_w = max(2, int(picks[0].width * scale))
        tile_h = max(2, int(picks[0].height * scale))
        sheet = PILImage.new("RGB", (tile_w * SPRITE_COLUMNS, tile_h * SPRITE_ROWS))
        for k, frame in enumerate(picks):
            tile = frame.convert("RGB").resize((tile_w, tile_h), PILImage.Resampling.BILINEAR)
            sheet.paste(tile, ((k % SPRITE_COLUMNS) * tile_w, (k // SPRITE_COLUMNS) * tile_h))
        out = io.BytesIO()
        sheet.save(out, "JPEG", quality=80)
        made["spritesheet"] = _write_atomically(Path(spritesheet), out.getvalue())
    return made


def _write_atomically(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    part.replace(path)
    return path
