"""Render a synthetic clip: H.264 MP4 with AAC, a WebP thumbnail and a JPEG spritesheet.

`render_clip(spec, out_dir)` is a pure function of its `RenderSpec` (safe to run in a worker
process) and returns the paths of the three files, named by `spec.key()` so a second call with the
same inputs is a cache hit. Frames are built directly as yuv420p planes with numpy: a pan across a
prompt-seeded scene; a slow zoom into a reference image; or, for a remix, edit or extension, the
source video's first frame, whole and unzoomed, easing into a new colour grade. Every clip opens on
its plate (the picture with no text), so a clip made from it starts from a clean picture; the badge
and caption are drawn once, scaled to the frame's short side and kept clear of a player's controls,
and fade in from the second frame. Heavy imports happen inside functions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api._text import wrap_to_width

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt
    from PIL import Image

__all__ = ["FPS", "RENDER_VERSION", "RenderResult", "RenderSpec", "render_clip", "warm_up"]

FPS = 24
"""Frames per second of every clip."""
RENDER_VERSION = 4
"""Bumped whenever the pictures change, so stale cache entries are not served."""
AUDIO_RATE = 48000
AUDIO_BIT_RATE = 64_000
SPRITE_COLUMNS = 5
SPRITE_ROWS = 2
SPRITE_TILE = 192
"""Long side of one spritesheet tile, in pixels."""


@dataclass(frozen=True)
class RenderSpec:
    """Everything that decides the pictures and sound of a clip."""

    width: int
    height: int
    seconds: int
    prompt: str
    model: str = "sora-2"
    reference: bytes | None = None
    """An encoded image (JPEG, PNG or WebP) that becomes the first frame."""
    source_video: str | None = None
    """Path of an MP4 whose first frame becomes the first frame (remix, edit)."""
    continues: bool = False
    """An extension: ``source_video``'s frames come first, as they are, and the new part starts
    from its last frame (so the join is seamless)."""
    watermark: bool = False
    audio: bool = True
    """False for a model that makes no sound (the catalogue's ``audio = false``): no audio track."""
    preset: str = "ultrafast"
    """The libx264 preset; ``ultrafast`` keeps a 4 s 720p clip well under two seconds."""

    def key(self) -> str:
        """A hash of the inputs: the cache key and the file stem."""
        digest = hashlib.sha256()
        meta = {
            "v": RENDER_VERSION,
            "w": self.width,
            "h": self.height,
            "s": self.seconds,
            "p": self.prompt,
            "m": self.model,
            "wm": self.watermark,
            **({} if self.audio else {"silent": True}),
            "preset": self.preset,
            "src": self.source_video and os.path.basename(self.source_video),
            **({"continues": True} if self.continues else {}),
        }
        digest.update(json.dumps(meta, sort_keys=True).encode())
        if self.reference is not None:
            digest.update(hashlib.sha256(self.reference).digest())
        return digest.hexdigest()[:40]


@dataclass(frozen=True)
class RenderResult:
    """Where the rendered files are, and whether they came from the cache."""

    video: str
    thumbnail: str
    spritesheet: str
    cached: bool
    seconds_taken: float


def warm_up() -> bool:
    """Import the heavy libraries (used to start a worker process before the first job)."""
    import av  # noqa: F401
    import numpy  # noqa: F401
    from PIL import Image  # noqa: F401

    return True


def render_clip(spec: RenderSpec, out_dir: str) -> RenderResult:
    """Render ``spec`` into ``out_dir`` (or find it there already) and return the file paths."""
    import time

    start = time.perf_counter()
    stem = Path(out_dir) / spec.key()
    paths = (f"{stem}.mp4", f"{stem}.thumbnail.webp", f"{stem}.spritesheet.jpg")
    if all(os.path.exists(p) for p in paths):
        return RenderResult(*paths, cached=True, seconds_taken=time.perf_counter() - start)
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp_video = tempfile.mkstemp(dir=out_dir, suffix=".part.mp4")
    os.close(fd)
    try:
        thumbnail, sheet = _render(spec, tmp_video)
        _write_atomic(paths[1], thumbnail)
        _write_atomic(paths[2], sheet)
        os.replace(tmp_video, paths[0])
    finally:
        if os.path.exists(tmp_video):
            os.unlink(tmp_video)
    return RenderResult(*paths, cached=False, seconds_taken=time.perf_counter() - start)


def _write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- pictures -----------------------------------------------------------------------------------


def _seed(spec: RenderSpec) -> int:
    return int.from_bytes(hashlib.sha256(spec.prompt.encode()).digest()[:8], "big")


def _rgb_to_yuv420(rgb: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
    """BT.601 limited-range planes (Y full size, U and V half size) of an RGB uint8 array."""
    import numpy as np

    height, width = rgb.shape[0] & ~1, rgb.shape[1] & ~1
    f = rgb[:height, :width].astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + 0.2568 * r + 0.5041 * g + 0.0979 * b
    u = 128 - 0.1482 * r - 0.2910 * g + 0.4392 * b
    v = 128 + 0.4392 * r - 0.3678 * g - 0.0714 * b

    def half(p: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]
        return out * 0.25

    def u8(p: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.clip(p + 0.5, 0, 255).astype(np.uint8)

    return u8(y), u8(half(u)), u8(half(v))


def _scene(spec: RenderSpec, width: int, height: int) -> Image.Image:
    """A prompt-seeded picture: a two-colour gradient sky, soft hills and a few bright discs."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(_seed(spec))
    hue = rng.random()

    def colour(h: float, s: float, v: float) -> tuple[int, int, int]:
        import colorsys

        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return int(r * 255), int(g * 255), int(b * 255)

    small_w, small_h = max(16, width // 4), max(16, height // 4)
    top, bottom = colour(hue, 0.55, 0.95), colour(hue + 0.45, 0.65, 0.35)
    sky = Image.linear_gradient("L").resize((small_w, small_h))
    img = Image.composite(Image.new("RGB", sky.size, bottom), Image.new("RGB", sky.size, top), sky)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 9)):
        radius = rng.uniform(0.04, 0.16) * min(small_w, small_h)
        cx, cy = rng.uniform(0, small_w), rng.uniform(0, small_h * 0.7)
        fill = colour(hue + rng.uniform(-0.25, 0.25), rng.uniform(0.3, 0.9), rng.uniform(0.7, 1.0))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    for layer in range(3):
        base = small_h * (0.62 + 0.12 * layer)
        phase, amp = rng.uniform(0, math.tau), small_h * rng.uniform(0.03, 0.08)
        freq = rng.uniform(1.0, 3.0) * math.tau / small_w
        points = [(0.0, float(small_h))]
        points += [(x, base + amp * math.sin(freq * x + phase)) for x in range(0, small_w + 8, 8)]
        points.append((float(small_w), float(small_h)))
        draw.polygon(points, fill=colour(hue + 0.5 + 0.08 * layer, 0.5, 0.45 - 0.1 * layer))
    img = img.filter(ImageFilter.GaussianBlur(radius=1.2))
    return img.resize((width, height), Image.Resampling.BILINEAR)


def _reference_image(spec: RenderSpec) -> Image.Image | None:
    """The reference image fitted to the frame (cropped only when its shape differs), or None."""
    from PIL import Image, ImageOps

    if spec.reference is None:
        return None
    opened = ImageOps.exif_transpose(Image.open(io.BytesIO(spec.reference)))
    image = opened.convert("RGB")
    if image.size != (spec.width, spec.height):
        image = ImageOps.fit(image, (spec.width, spec.height), Image.Resampling.BILINEAR)
    return image


def _first_frame(path: str) -> Any:
    """The first decoded video frame of the file at ``path`` (an ``av.VideoFrame``)."""
    import av

    with av.open(path) as container:
        for frame in container.decode(video=0):
            return frame
    raise ValueError(f"no video frame in {path}")


def _source_plate(spec: RenderSpec, path: str) -> tuple[npt.NDArray[Any], ...]:
    """The yuv420p planes of the source video's first frame: its plate, the picture without text
    (every clip rendered here opens on its plate). Taken as decoded when the size is the same
    (no zoom, no colour round trip); otherwise fitted like a reference image."""
    import numpy as np
    from PIL import Image, ImageOps

    frame = _first_frame(path)
    width, height = spec.width, spec.height
    if (frame.width, frame.height) == (width, height):
        yuv: npt.NDArray[Any] = frame.to_ndarray(format="yuv420p")
        uv = yuv[height:].reshape(2, height // 2, width // 2)
        return yuv[:height].copy(), uv[0].copy(), uv[1].copy()
    image: Image.Image = frame.to_image()
    image = ImageOps.fit(image, (width, height), Image.Resampling.BILINEAR)
    return _rgb_to_yuv420(np.asarray(image))


def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


# -- text ---------------------------------------------------------------------------------------
#
# Text scales with the frame's short side, so a portrait clip shown about 270 px wide keeps its
# caption as legible as a landscape one; it is wrapped to the frame by measured width (a word too
# long for a line is split), never cut at an edge. The caption sits above the bottom 15 % of the
# frame, where a browser's <video> control bar goes; the EMULATED badge sits top left. Each is
# white with a dark outline on a soft shaded box that hugs the text.

CAPTION_BOTTOM = 0.82
"""The caption's box ends this far down the frame: clear of the control bar (the bottom 15 %)."""
CAPTION_SCALE = 1 / 21
BADGE_SCALE = 1 / 25
"""Font sizes as fractions of the frame's short side (34 and 29 px on a 720p clip)."""
TEXT_FADE_FRAMES = 6
"""Text fades in over these frames after the first, which is always the plate."""


def _wrap(text: str, font: Any, max_width: float, max_lines: int) -> list[str]:
    """``text`` in lines no wider than ``max_width``; past ``max_lines`` the last ends in "…"."""
    if not text.strip():
        return []  # nothing to draw: no box
    return wrap_to_width(text, font.getlength, max_width, max_lines)


@dataclass(frozen=True)
class _TextBlock:
    """Lines of one size laid out in a box: where the box goes and how it is drawn."""

    lines: tuple[str, ...]
    size: int
    centred: bool


@dataclass
class _Overlay:
    """Text drawn once: a box at (x, y) blended into the Y plane (and toned in U and V)."""

    x: int
    y: int
    alpha: npt.NDArray[Any]
    """Coverage of the outlined text, 0..1."""
    luma: npt.NDArray[Any]
    """Y of the text where it covers: white glyphs, a black outline."""
    shade: npt.NDArray[Any]
    """How much the box darkens what is under it, 0..1 (soft at its edges)."""
    mul: npt.NDArray[Any]
    add: npt.NDArray[Any]
    keep: npt.NDArray[Any]
    """At full strength: Y' = Y * mul + add; (U, V)' = 128 + (U, V - 128) * keep (half size)."""


def _layout(spec: RenderSpec) -> tuple[_TextBlock, _TextBlock | None]:
    """The badge and the caption (None for a blank prompt), wrapped to the frame's width."""
    short = min(spec.width, spec.height)
    margin = _margin(spec)
    badge_size = max(10, round(short * BADGE_SCALE))
    caption_size = max(11, round(short * CAPTION_SCALE))

    def room(size: int) -> float:
        pad, stroke = _padding(size)
        return max(1.0, spec.width - 2 * (margin + pad + stroke))

    badge_text = f"EMULATED · {spec.model} · {spec.width}x{spec.height} · {spec.seconds}s"
    if spec.watermark:
        badge_text += " · watermark"
    badge_font = _font(badge_size)
    badge = _TextBlock(tuple(_wrap(badge_text, badge_font, room(badge_size), 2)), badge_size, False)
    caption_lines = _wrap(
        spec.prompt, _font(caption_size), room(caption_size), 4 if spec.height > spec.width else 3
    )
    caption = _TextBlock(tuple(caption_lines), caption_size, True) if caption_lines else None
    return badge, caption


def _margin(spec: RenderSpec) -> int:
    return max(4, round(min(spec.width, spec.height) * 0.03)) & ~1


def _padding(size: int) -> tuple[int, int]:
    """(inner padding of a text box, outline width) for text of ``size`` pixels."""
    return max(3, round(size * 0.5)), max(1, round(size / 16))


def _draw_block(block: _TextBlock) -> tuple[npt.NDArray[Any], ...]:
    """(alpha, luma, shade) arrays of one text box, each of even height and width."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    font = _font(block.size)
    pad, stroke = _padding(block.size)
    ascent, descent = font.getmetrics()
    gap = round(block.size * 0.12)
    line_h = ascent + descent + gap
    widths = [math.ceil(font.getlength(line)) for line in block.lines]
    text_w = max(widths)
    inset = pad + stroke
    box_w = (text_w + 2 * inset + 1) & ~1
    box_h = (len(block.lines) * line_h - gap + 2 * inset + 1) & ~1
    fill = Image.new("L", (box_w, box_h), 0)
    halo = Image.new("L", (box_w, box_h), 0)
    draw_fill, draw_halo = ImageDraw.Draw(fill), ImageDraw.Draw(halo)
    for k, (line, width) in enumerate(zip(block.lines, widths, strict=True)):
        x = inset + ((text_w - width) // 2 if block.centred else 0)
        y = inset + k * line_h
        draw_fill.text((x, y), line, font=font, fill=255)
        draw_halo.text((x, y), line, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    feather = max(1, pad // 2)
    box = Image.new("L", (box_w, box_h), 0)
    ImageDraw.Draw(box).rectangle((feather, feather, box_w - 1 - feather, box_h - 1 - feather), 255)
    box = box.filter(ImageFilter.GaussianBlur(radius=feather / 2))
    alpha = np.asarray(halo, dtype=np.float32) / 255.0
    luma = 16.0 + 219.0 * np.asarray(fill, dtype=np.float32) / 255.0
    shade = np.asarray(box, dtype=np.float32) * (0.5 / 255.0)
    return alpha, luma, shade


def _overlay(block: _TextBlock) -> _Overlay:
    """``block`` drawn, at (0, 0) until placed."""
    alpha, luma, shade = _draw_block(block)
    mul, add, keep = _blend_terms(alpha, luma, shade, 1.0)
    return _Overlay(0, 0, alpha, luma, shade, mul, add, keep)


def _blend_terms(
    alpha: npt.NDArray[Any], luma: npt.NDArray[Any], shade: npt.NDArray[Any], strength: float
) -> tuple[npt.NDArray[Any], ...]:
    a, s = alpha * strength, shade * strength
    mul = (1.0 - s) * (1.0 - a)
    half = 0.25 * (mul[0::2, 0::2] + mul[1::2, 0::2] + mul[0::2, 1::2] + mul[1::2, 1::2])
    return mul, luma * a + 0.5, half


def _overlays(spec: RenderSpec) -> list[_Overlay]:
    """The EMULATED badge at the top left and the prompt caption above the control bar."""
    badge_block, caption_block = _layout(spec)
    margin = _margin(spec)
    badge = _overlay(badge_block)
    badge.x, badge.y = margin, margin
    if caption_block is None:
        return [badge]
    caption = _overlay(caption_block)
    box_h, box_w = caption.alpha.shape
    caption.x = (spec.width - box_w) // 2 & ~1
    caption.y = max(0, int(spec.height * CAPTION_BOTTOM) - box_h) & ~1
    return [badge, caption]


def _blend(frame: npt.NDArray[Any], overlay: _Overlay, strength: float, width: int) -> None:
    """Blend ``overlay`` into ``frame`` (yuv420p planes stacked, ``width`` wide) at ``strength``."""
    import numpy as np

    height = frame.shape[0] * 2 // 3
    if strength >= 1.0:
        mul, add, keep = overlay.mul, overlay.add, overlay.keep
    else:
        mul, add, keep = _blend_terms(overlay.alpha, overlay.luma, overlay.shade, strength)
    region = frame[overlay.y : min(height, overlay.y + mul.shape[0]), overlay.x : width]
    h, w = min(region.shape[0], mul.shape[0]), min(region.shape[1], mul.shape[1])
    region = region[:h, :w]
    region[...] = (region * mul[:h, :w] + add[:h, :w]).astype(np.uint8)
    uv = frame[height:].reshape(2, height // 2, width // 2)
    cy, cx, ch, cw = overlay.y // 2, overlay.x // 2, h // 2, w // 2
    for plane in uv:
        part = plane[cy : cy + ch, cx : cx + cw]
        part[...] = (128.5 + (part - 128.0) * keep[:ch, :cw]).astype(np.uint8)


# -- motion -------------------------------------------------------------------------------------


def _pan(
    spec: RenderSpec, planes: list[npt.NDArray[Any]], rng: random.Random
) -> Callable[[int], None]:
    """A first render: a slow eased pan across a prompt-seeded scene a little larger than the frame."""
    import numpy as np

    width, height, count = spec.width, spec.height, spec.seconds * FPS
    y_out, u_out, v_out = planes
    margin_x, margin_y = width // 8 & ~1, height // 8 & ~1
    scene = _scene(spec, width + margin_x, height + margin_y)
    sy, su, sv = _rgb_to_yuv420(np.asarray(scene))
    x0, y0 = rng.choice([0, margin_x]), rng.choice([0, margin_y])
    x1, y1 = margin_x - x0, rng.randint(0, margin_y)

    def place(i: int) -> None:
        t = i / max(1, count - 1)
        ease = 0.5 - 0.5 * math.cos(math.pi * t)
        ox = int(x0 + (x1 - x0) * ease) & ~1
        oy = int(y0 + (y1 - y0) * ease) & ~1
        y_out[...] = sy[oy : oy + height, ox : ox + width]
        u_out[...] = su[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]
        v_out[...] = sv[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]

    return place


def _zoom(
    spec: RenderSpec, reference: Image.Image, planes: list[npt.NDArray[Any]], rng: random.Random
) -> Callable[[int], None]:
    """A reference image: a slow zoom into it, starting on the image itself."""
    import numpy as np
    from PIL import Image

    count = spec.seconds * FPS
    ry, ru, rv = _rgb_to_yuv420(np.asarray(reference))
    images = [Image.fromarray(p) for p in (ry, ru, rv)]
    fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    zoom_end = 1.12
    step = 2  # a new zoom level every other frame: slow motion hides it, halves the cost

    def place(i: int) -> None:
        if i % step and i != 1:
            return
        t = i / max(1, count - 1)
        scale = 1.0 + (zoom_end - 1.0) * t
        for image, target in zip(images, planes, strict=True):
            pw, ph = image.size
            bw, bh = pw / scale, ph / scale
            left, top = (pw - bw) * fx, (ph - bh) * fy
            if i == 0:
                target[...] = np.asarray(image)
            else:
                zoomed = image.resize(
                    (pw, ph), Image.Resampling.BILINEAR, box=(left, top, left + bw, top + bh)
                )
                target[...] = np.asarray(zoomed)

    return place


def _regrade(
    spec: RenderSpec,
    plate: tuple[npt.NDArray[Any], ...],
    planes: list[npt.NDArray[Any]],
    rng: random.Random,
) -> Callable[[int], None]:
    """A remix, edit or extension: the source's plate, whole and unzoomed, easing towards a
    prompt-seeded colour grade while a soft band of light crosses it once."""
    import numpy as np

    width, count = spec.width, spec.seconds * FPS
    y_out, u_out, v_out = planes
    py, pu, pv = plate
    py16, pu16, pv16 = (p.astype(np.int16) for p in plate)
    angle = rng.uniform(0.0, math.tau)
    du, dv = 20.0 * math.cos(angle), 20.0 * math.sin(angle)
    band = max(8, width // 4)
    profile = (22.0 * np.sin(np.linspace(0.0, math.pi, band)) ** 2).astype(np.int16)

    def place(i: int) -> None:
        y_out[...] = py
        if i == 0:
            u_out[...], v_out[...] = pu, pv
            return
        t = i / max(1, count - 1)
        ease = 0.5 - 0.5 * math.cos(math.pi * t)
        u_out[...] = np.clip(pu16 + round(du * ease), 16, 240)
        v_out[...] = np.clip(pv16 + round(dv * ease), 16, 240)
        left = round(-band + (width + band) * t)
        a, b = max(0, left), min(width, left + band)
        if a < b:
            lit = py16[:, a:b] + profile[a - left : b - left]
            y_out[:, a:b] = np.clip(lit, 16, 235)

    return place


def _frames(spec: RenderSpec) -> Any:
    """Yield (index, yuv420p ndarray of shape (H*3/2, W)) for every frame of the clip.

    The first frame is the plate: the picture with no text, so a remix, edit or extension that
    starts from this clip's first frame starts from a clean picture. The badge, the caption and
    the progress line fade in from the second frame."""
    import numpy as np

    width, height, count = spec.width, spec.height, spec.seconds * FPS
    overlays = _overlays(spec)
    rng = random.Random(_seed(spec) ^ 0x5EED)
    buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
    uv = buffer[height:].reshape(2, height // 2, width // 2)
    planes = [buffer[:height], uv[0], uv[1]]
    bar_h = max(2, height // 180)

    start = 0  # frames already given (an extension's source)
    reference = _reference_image(spec)
    if reference is not None:
        place = _zoom(spec, reference, planes, rng)
    elif spec.continues and spec.source_video is not None:
        last = None
        for yuv in _source_frames(spec.source_video, width, height, count - FPS):
            yield start, yuv
            last, start = yuv, start + 1
        if last is None:
            raise ValueError(f"no video frame in {spec.source_video}")
        rest = dataclasses.replace(spec, seconds=max(1, (count - start) // FPS))
        last_uv = last[height:].reshape(2, height // 2, width // 2)
        place = _regrade(rest, (last[:height], last_uv[0], last_uv[1]), planes, rng)
    elif spec.source_video is not None:
        place = _regrade(spec, _source_plate(spec, spec.source_video), planes, rng)
    else:
        place = _pan(spec, planes, rng)

    for i in range(start, count):
        j = i - start  # the frame's number in the new part
        place(j)
        if j == 0:
            yield i, buffer  # the plate (an extension: the source's last frame), untouched
            continue
        work = buffer.copy()
        strength = min(1.0, j / TEXT_FADE_FRAMES)
        for overlay in overlays:
            _blend(work, overlay, strength, width)
        filled = int(width * (i + 1) / count)
        work[height - bar_h : height, :filled] = 200
        yield i, work


def _source_frames(path: str, width: int, height: int, limit: int) -> Any:
    """Up to ``limit`` frames of the video at ``path`` as yuv420p arrays of ``width`` x
    ``height`` (scaled when the video's size differs)."""
    import av

    with av.open(path) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n >= limit:
                return
            if (frame.width, frame.height, frame.format.name) != (width, height, "yuv420p"):
                frame = frame.reformat(width=width, height=height, format="yuv420p")
            yield frame.to_ndarray(format="yuv420p")


def _audio(spec: RenderSpec) -> npt.NDArray[Any]:
    """A soft two-note chord with fades, seeded by the prompt: shape (2, samples), float32."""
    import numpy as np

    rng = random.Random(_seed(spec) ^ 0xA0D10)
    samples = spec.seconds * AUDIO_RATE
    t = np.arange(samples, dtype=np.float32) / AUDIO_RATE
    root = 110.0 * 2 ** (rng.randint(0, 11) / 12)
    wave = 0.12 * np.sin(2 * np.pi * root * t) + 0.08 * np.sin(2 * np.pi * root * 1.5 * t)
    fade = np.minimum(1.0, np.minimum(t / 0.3, (spec.seconds - t) / 0.3)).astype(np.float32)
    wave = (wave * fade).astype(np.float32)
    return np.stack([wave, wave * 0.9]).astype(np.float32)


def _render(spec: RenderSpec, video_path: str) -> tuple[bytes, bytes]:
    """Write the MP4 to ``video_path`` (a real file: ``+faststart`` rewrites it at the end)."""
    import av

    if spec.width % 2 or spec.height % 2:
        raise ValueError(f"size {spec.width}x{spec.height} must have even sides for yuv420p")
    count = spec.seconds * FPS
    sample_at = {
        round(k * (count - 1) / (SPRITE_COLUMNS * SPRITE_ROWS - 1))
        for k in range(SPRITE_COLUMNS * SPRITE_ROWS)
    }
    thumb_at = count // 3
    samples: dict[int, Image.Image] = {}
    with av.open(
        video_path, mode="w", format="mp4", options={"movflags": "+faststart"}
    ) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = spec.width, spec.height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": spec.preset, "crf": "26"}
        audio = None
        if spec.audio:
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            # a two-note chord needs no more: a quarter of the default encoder's time
            audio.bit_rate = AUDIO_BIT_RATE
            audio.options = {"aac_coder": "fast"}
        for i, planes in _frames(spec):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            if i in sample_at or i == thumb_at:
                samples[i] = frame.to_image()  # type: ignore[no-untyped-call]
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            _encode_audio(container, audio, spec)

    thumb = io.BytesIO()
    samples[thumb_at].save(thumb, format="WEBP", quality=80, method=0)
    return thumb.getvalue(), _spritesheet([samples[i] for i in sorted(sample_at)])


def _encode_audio(container: Any, audio: Any, spec: RenderSpec) -> None:
    """Encode the clip's sound as AAC into the ``audio`` stream of ``container``."""
    import av
    import numpy as np

    pcm = _audio(spec)
    chunk = 1024
    for start in range(0, pcm.shape[1], chunk):
        part = np.ascontiguousarray(pcm[:, start : start + chunk])
        aframe = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
        aframe.sample_rate = AUDIO_RATE
        aframe.pts = start
        for packet in audio.encode(aframe):
            container.mux(packet)
    for packet in audio.encode(None):
        container.mux(packet)


def _spritesheet(frames: list[Image.Image]) -> bytes:
    from PIL import Image

    first = frames[0]
    scale = SPRITE_TILE / max(first.size)
    tile_w, tile_h = max(2, int(first.width * scale)), max(2, int(first.height * scale))
    sheet = Image.new("RGB", (tile_w * SPRITE_COLUMNS, tile_h * SPRITE_ROWS), (0, 0, 0))
    for k, frame in enumerate(frames[: SPRITE_COLUMNS * SPRITE_ROWS]):
        tile = frame.resize((tile_w, tile_h), Image.Resampling.BILINEAR)
        sheet.paste(tile, ((k % SPRITE_COLUMNS) * tile_w, (k // SPRITE_COLUMNS) * tile_h))
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=80)
    return out.getvalue()
