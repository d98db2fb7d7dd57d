"""Render a synthetic clip: H.264 MP4 with AAC, a WebP thumbnail and a JPEG spritesheet.

`render_clip(spec, out_dir)` is a pure function of its `RenderSpec` (safe to run in a worker
process) and returns the paths of the three files, named by `spec.key()` so a second call with the
same inputs is a cache hit. Frames are built directly as yuv420p planes with numpy (a pan across a
prompt-seeded scene, or a slow zoom into the reference image, whose first frame is the reference
itself); text is drawn once and blended into each frame. Heavy imports happen inside functions.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

__all__ = ["FPS", "RENDER_VERSION", "RenderResult", "RenderSpec", "render_clip", "warm_up"]

FPS = 24
"""Frames per second of every clip."""
RENDER_VERSION = 3
"""Bumped whenever the pictures change, so stale cache entries are not served."""
AUDIO_RATE = 48000
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
    """Path of an MP4 whose first frame becomes the first frame (remix, edit, extension)."""
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
    from PIL import Image, ImageOps

    image: Image.Image
    if spec.reference is not None:
        opened = ImageOps.exif_transpose(Image.open(io.BytesIO(spec.reference)))
        image = opened.convert("RGB")
    elif spec.source_video is not None:
        image = _first_frame(spec.source_video)
    else:
        return None
    if image.size != (spec.width, spec.height):
        image = ImageOps.fit(image, (spec.width, spec.height), Image.Resampling.BILINEAR)
    return image


def _first_frame(path: str) -> Image.Image:
    import av

    with av.open(path) as container:
        for frame in container.decode(video=0):
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            return image
    raise ValueError(f"no video frame in {path}")


def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@dataclass
class _Overlay:
    """Text drawn once: a box at (x, y) whose Y values and alpha are blended into each frame."""

    x: int
    y: int
    luma: npt.NDArray[Any]
    alpha: npt.NDArray[Any]
    shade: npt.NDArray[Any]


def _overlays(spec: RenderSpec) -> list[_Overlay]:
    """The prompt caption at the bottom and the EMULATED badge at the top."""
    import numpy as np
    from PIL import Image, ImageDraw

    width, height = spec.width, spec.height
    unit = max(12, min(width, height) // 30)
    out: list[_Overlay] = []

    def block(lines: list[tuple[str, int]], anchor_bottom: bool, pad: int) -> None:
        fonts = [(_font(size), text) for text, size in lines]
        line_h = [int(f.size * 1.3) for f, _ in fonts]
        box_w = width - 2 * pad
        box_h = sum(line_h) + pad
        text = Image.new("L", (box_w, box_h), 0)
        draw = ImageDraw.Draw(text)
        y = pad // 2
        for (font, line), h in zip(fonts, line_h, strict=True):
            draw.text(
                (pad // 2, y),
                line,
                font=font,
                fill=255,
                stroke_width=max(1, h // 14),
                stroke_fill=0,
            )
            y += h
        ink = np.asarray(text, dtype=np.float32) / 255.0
        # stroke drawn black with fill 0 is invisible in L: use a dilated mask as alpha instead
        mask_img = text.point(lambda v: 255 if v > 0 else 0)
        alpha = np.asarray(mask_img, dtype=np.float32) / 255.0
        top = height - box_h - pad if anchor_bottom else pad
        out.append(
            _Overlay(
                x=pad,
                y=top,
                luma=(16 + 219 * ink).astype(np.float32),
                alpha=alpha,
                shade=np.full((box_h, box_w), 0.45, dtype=np.float32),
            )
        )

    chars = max(16, int((width - 2 * unit) / (unit * 0.47)))
    wrapped = textwrap.wrap(" ".join(spec.prompt.split()), width=chars)[:3] or [""]
    if len(wrapped) == 3 and len(" ".join(spec.prompt.split())) > chars * 3:
        wrapped[2] = wrapped[2][: max(0, chars - 1)].rstrip() + "…"
    block([(line, unit) for line in wrapped], anchor_bottom=True, pad=unit)
    badge = f"EMULATED · {spec.model} · {spec.width}x{spec.height} · {spec.seconds}s"
    if spec.watermark:
        badge += " · watermark"
    block([(badge, max(10, int(unit * 0.8)))], anchor_bottom=False, pad=unit)
    return out


def _blend(y_plane: npt.NDArray[Any], overlay: _Overlay) -> None:
    import numpy as np

    h, w = overlay.alpha.shape
    region = y_plane[overlay.y : overlay.y + h, overlay.x : overlay.x + w]
    h, w = region.shape
    base = region.astype(np.float32) * (1.0 - overlay.shade[:h, :w] * 0.6)
    a = overlay.alpha[:h, :w]
    region[...] = (base * (1.0 - a) + overlay.luma[:h, :w] * a).astype(np.uint8)


def _frames(spec: RenderSpec) -> Any:
    """Yield (index, yuv420p ndarray of shape (H*3/2, W)) for every frame of the clip."""
    import numpy as np
    from PIL import Image

    width, height, count = spec.width, spec.height, spec.seconds * FPS
    overlays = _overlays(spec)
    reference = _reference_image(spec)
    rng = random.Random(_seed(spec) ^ 0x5EED)
    buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
    y_out = buffer[:height]
    uv = buffer[height:].reshape(2, height // 2, width // 2)
    bar_h = max(2, height // 180)

    if reference is None:
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
            uv[0] = su[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]
            uv[1] = sv[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]

    else:
        ry, ru, rv = _rgb_to_yuv420(np.asarray(reference))
        planes = [Image.fromarray(p) for p in (ry, ru, rv)]
        fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        zoom_end = 1.12
        step = 2  # a new zoom level every other frame: slow motion hides it, halves the cost

        def place(i: int) -> None:
            if i % step and i != 1:
                return
            t = i / max(1, count - 1)
            scale = 1.0 + (zoom_end - 1.0) * t
            for plane, target in zip(planes, (y_out, uv[0], uv[1]), strict=True):
                pw, ph = plane.size
                bw, bh = pw / scale, ph / scale
                left, top = (pw - bw) * fx, (ph - bh) * fy
                if i == 0:
                    target[...] = np.asarray(plane)
                else:
                    zoomed = plane.resize(
                        (pw, ph), Image.Resampling.BILINEAR, box=(left, top, left + bw, top + bh)
                    )
                    target[...] = np.asarray(zoomed)

    for i in range(count):
        place(i)
        if i == 0 and reference is not None:
            yield i, buffer  # the reference itself, untouched
            continue
        work = buffer.copy()
        frame_y = work[:height]
        for overlay in overlays:
            _blend(frame_y, overlay)
        filled = int(width * (i + 1) / count)
        frame_y[height - bar_h :, :filled] = 200
        yield i, work


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
        audio = (
            container.add_stream("aac", rate=AUDIO_RATE, layout="stereo") if spec.audio else None
        )
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
