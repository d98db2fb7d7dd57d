"""Reference images: load anything, orient it, fit it to exactly W×H, encode it, preview it.

The API takes a JPEG, PNG or WebP whose pixel size equals the requested ``size`` exactly; anything
else is refused with "Inpaint image must match the requested width and height". `prepare_reference`
turns a phone photo, a screenshot, a palette GIF, a 16-bit PNG or a CMYK JPEG into exactly that, and
the `Reference` it returns shows what will be sent (``preview()``) before anything is paid for.

Speed comes from two things: a large JPEG is decoded at 1/2, 1/4 or 1/8 scale straight out of the
DCT (Pillow's ``draft``) when the output needs no more, and all resampling happens in the file's
stored orientation, so only the small result is rotated.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
import os
import pathlib
import re
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeAlias

from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

from ._units import human_bytes
from .api import ReferenceImageError, ValidationError, nominal_pixels, parse_size, read_size
from .api._text import wrap_to_width

if TYPE_CHECKING:
    from PIL import ImageCms

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "URL_MAX_BYTES",
    "URL_TIMEOUT",
    "Reference",
    "prepare_reference",
]

Fit = Literal["cover", "contain", "stretch"]
OutputFormat = Literal["auto", "jpeg", "png", "webp"]
Color: TypeAlias = str | tuple[int, int, int] | tuple[int, int, int, int]
ReferenceSource: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | Image.Image | Any
)
"""A path, bytes, a binary file, a PIL image, a numpy array, an ipywidgets ``FileUpload`` value
entry, or an http(s) or data URL."""

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
"""Largest encoded reference `prepare_reference` produces by default (quality steps down to fit)."""
DEFAULT_MAX_PIXELS = 120_000_000
"""Largest source (width × height) read by default; bigger ones are refused as decompression bombs."""
URL_MAX_BYTES = 20 * 1024 * 1024
"""Largest download accepted for a URL source."""
URL_TIMEOUT = 10.0
"""Seconds a URL source may take to download, in all."""
URL_MAX_REDIRECTS = 3

_FITS = ("cover", "contain", "stretch")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_FORMATS = ("auto", "jpeg", "png", "webp")
_JPEG_QUALITIES = (92, 88, 84, 80, 75, 70, 65, 60, 50, 40, 30)
_READABLE_FORMATS = frozenset(
    {
        "JPEG",
        "MPO",
        "PNG",
        "GIF",
        "WEBP",
        "BMP",
        "DIB",
        "TIFF",
        "AVIF",
        "HEIF",
        "ICO",
        "PPM",
        "TGA",
        "JPEG2000",
        "SGI",
        "PCX",
        "QOI",
    }
)
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_PREVIEW_BOX = (240, 160)
_THUMB_BOX = (480, 320)
_REDUCING_GAP = 3.0
"""Shrinking by more than this is done in two steps: a box reduce by a whole factor, then Lanczos."""
_BICUBIC_FROM = 1.5
"""Shrinking (after any box reduce) by this much or more uses bicubic rather than Lanczos: a third
fewer taps, and still over 40 dB PSNR against Lanczos on photographs (bench/bench_reference.py)."""
_BANDS = 4
_BAND_MIN_PIXELS = 400_000
_DRAFT_MARGIN = 1.0
"""How much larger than the output the reduced-scale JPEG decode must be (1.0: at least as large)."""


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Reference:
    """A reference image ready to send: exactly ``size`` pixels, encoded as JPEG, PNG or WebP."""

    data: bytes
    """The encoded image, as it will be uploaded."""
    mime_type: str
    """``image/jpeg``, ``image/png`` or ``image/webp``, true to ``data``."""
    filename: str
    """Upload name, e.g. ``reference-1280x720.jpg``."""
    size: tuple[int, int]
    """(width, height) of the encoded image: the requested size."""
    source_size: tuple[int, int]
    """(width, height) of the source after EXIF orientation."""
    crop_box: tuple[int, int, int, int]
    """(left, top, right, bottom) of the part of the source used, in source pixels after orientation."""
    fit: str
    """``cover``, ``contain`` or ``stretch``."""
    source_name: str | None = None
    """The source's file name (or URL's last path segment), when it had one."""
    source_format: str | None = None
    """Pillow's name for the source's format (``JPEG``, ``PNG``…), None for in-memory images."""
    source_mode: str | None = None
    """Pillow's mode of the source (``RGB``, ``CMYK``, ``I;16``…)."""
    orientation: int = 1
    """The EXIF orientation (1–8) that was applied."""
    quality: int | None = None
    """Encoder quality used for JPEG or lossy WebP; None for PNG and lossless WebP."""
    _thumb: _ThumbSource | None = field(default=None, compare=False)
    """The reduced source `thumbnail` is made from, on first use (keeps preparation fast)."""

    @property
    def width(self) -> int:
        """Width in pixels of the encoded image."""
        return self.size[0]

    @property
    def height(self) -> int:
        """Height in pixels of the encoded image."""
        return self.size[1]

    @property
    def format(self) -> str:
        """``jpeg``, ``png`` or ``webp``."""
        return self.mime_type.split("/", 1)[1]

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of ``data`` (what the ledger records)."""
        return hashlib.sha256(self.data).hexdigest()

    def to_data_url(self) -> str:
        """``data:<mime>;base64,…`` for providers that take a reference as a URL string."""
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write ``data`` to ``path`` (a folder gets ``filename`` inside it); returns the path."""
        target = pathlib.Path(path)
        if target.is_dir():
            target = target / self.filename
        target.write_bytes(self.data)
        return target

    @cached_property
    def thumbnail(self) -> bytes:
        """A small JPEG (PNG when transparent) of the whole oriented source, for `preview`."""
        return b"" if self._thumb is None else self._thumb.encode()

    def preview(self) -> bytes:
        """A small PNG: the source with the crop box drawn, beside the result, with sizes and fit."""
        return self._preview_png

    @cached_property
    def _preview_png(self) -> bytes:
        return _render_preview(self)

    def _repr_png_(self) -> bytes:
        return self.preview()

    def _repr_html_(self) -> str:
        png = base64.b64encode(self.preview()).decode("ascii")
        caption = html.escape(self._caption())
        return (
            '<figure class="sora-reference" style="margin:0">'
            f'<img src="data:image/png;base64,{png}" alt="{caption}" title="{caption}"/>'
            f'<figcaption style="font:12px sans-serif;opacity:.8">{caption}</figcaption>'
            "</figure>"
        )

    def _caption(self) -> str:
        w, h = self.size
        sw, sh = self.source_size
        name = _short(self.source_name or "image", 60)
        return (
            f"{name} {sw}×{sh} → {w}×{h} ({self.fit}), "
            f"{self.format.upper()} {human_bytes(len(self.data))}"
        )

    def __repr__(self) -> str:
        w, h = self.size
        sw, sh = self.source_size
        name = repr(self.source_name) if self.source_name else "<image>"
        return (
            f"<Reference {name} {sw}x{sh} -> {w}x{h} {self.fit}, "
            f"{self.mime_type}, {human_bytes(len(self.data))}>"
        )


@dataclass(frozen=True)
class _ThumbSource:
    """A box-reduced copy of the decoded source, still in stored orientation and colour."""

    image: Image.Image
    orientation: int
    icc: bytes | None

    def encode(self) -> bytes:
        small = _finish_colour(_orient(self.image, self.orientation), self.icc)
        if small.mode == "RGBA":
            return _save(small, "PNG")
        return _save(small, "JPEG", quality=85)


# -- the pipeline ----------------------------------------------------------------------------


def prepare_reference(
    source: ReferenceSource,
    size: str | tuple[int, int],
    *,
    fit: Fit = "cover",
    focus: tuple[float, float] = (0.5, 0.5),
    background: Color = "black",
    matte: Color | None = "white",
    format: OutputFormat = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> Reference:
    """Turn ``source`` into a reference image of exactly ``size`` pixels, ready to send.

    ``source``: a path, bytes, a binary file, a PIL image, a numpy array, an ipywidgets
    ``FileUpload`` value entry, or an ``http(s)://`` or ``data:`` URL (downloads are limited to
    `URL_MAX_BYTES` and `URL_TIMEOUT` seconds). ``size``: ``"1280x720"`` or ``(1280, 720)``; a
    ratio (``"16:9"``), a tier (``"720p"``) or ``landscape``/``portrait``/``square`` at 720
    pixels on the short side (`jobs.plan` gives the model's own pixel size instead); or ``"auto"``:
    the source's own shape, at most 1920 pixels a side.

    ``fit``: ``cover`` scales to fill and crops around ``focus`` (the point of the source, as
    fractions of its width and height, to keep central); ``contain`` shows the whole source on
    ``background`` (a colour, or ``"blur"`` for a blurred fill of the image itself); ``stretch``
    scales each axis on its own. Transparent pixels are laid on ``matte``; ``matte=None`` keeps
    the transparency (PNG or WebP only).

    ``format``: ``auto`` picks JPEG for photographs and PNG for sources with transparency and for
    flat line art; ``jpeg``, ``png`` and ``webp`` force one. Lossy quality steps down until the
    file fits ``max_bytes``. Sources over ``max_pixels`` pixels are refused.

    Raises `ReferenceImageError` (naming the source and the reason) for anything that is not a
    readable image, and `ValidationError` for bad arguments.
    """
    auto = isinstance(size, str) and size.strip().lower() == "auto"
    width, height = (0, 0) if auto else _pixels(size)
    _check_options(fit, focus, format, max_bytes, max_pixels)
    bg = _parse_color(background, "background", allow_blur=True)
    matte_rgb = None if matte is None else _parse_color(matte, "matte", allow_blur=False)
    if matte is None and format == "jpeg":
        raise ValidationError(
            "format='jpeg' cannot keep transparency (matte=None); choose format='png' or 'webp', "
            "or give a matte colour",
            param="format",
        )
    opened = _open(source, name=name, max_pixels=max_pixels)
    if auto:  # the model sizes the video from the picture: keep its shape, at most 1920 a side
        width, height = _auto_size(opened)
    try:
        return _prepare(
            opened,
            (width, height),
            fit=fit,
            focus=focus,
            background=bg,
            matte=matte_rgb,
            format=format,
            max_bytes=max_bytes,
        )
    except (ReferenceImageError, ValidationError):
        raise
    except Image.DecompressionBombError as exc:
        raise ReferenceImageError(
            f"{opened.who} is too large to decode safely ({exc}); shrink it first"
        ) from exc
    except Exception as exc:
        raise ReferenceImageError(
            f"{opened.who} could not be read: {_reason(exc)}; re-save it as PNG or JPEG"
        ) from exc
    finally:
        opened.close()


def _pixels(size: str | tuple[int, int]) -> tuple[int, int]:
    """Pixels for a size: ``WxH`` as is, a ratio (``16:9``), tier (``720p``) or orientation word
    at a nominal size (720 on the short side); else `ValidationError`."""
    if isinstance(size, str):
        text = read_size(size)
        if text is not None and text.kind in ("ratio", "tier", "orientation"):
            pixels = nominal_pixels(size)
            if pixels is not None:
                return pixels
    return parse_size(size)


def _auto_size(opened: _Opened) -> tuple[int, int]:
    width, height = opened.image.size
    if _exif_orientation(opened.image) in (5, 6, 7, 8):
        width, height = height, width
    scale = min(1.0, 1920 / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


@dataclass
class _Opened:
    image: Image.Image
    name: str | None
    owned: bool
    """True when we opened the file, so draft mode and closing are ours to use."""
    stream: Any = None

    @property
    def who(self) -> str:
        return _who(self.name)

    def close(self) -> None:
        if self.owned:
            self.image.close()
            if self.stream is not None:
                self.stream.close()


def _prepare(
    opened: _Opened,
    size: tuple[int, int],
    *,
    fit: str,
    focus: tuple[float, float],
    background: tuple[int, ...] | None,
    matte: tuple[int, ...] | None,
    format: str,
    max_bytes: int,
) -> Reference:
    img = opened.image
    width, height = size
    source_format = img.format
    source_mode = img.mode
    orientation = _exif_orientation(img)
    stored_w, stored_h = img.size
    swaps = orientation >= 5
    src_w, src_h = (stored_h, stored_w) if swaps else (stored_w, stored_h)

    box, inner = _layout(src_w, src_h, width, height, fit, focus)

    # Decode a large JPEG at reduced scale when the output needs no more pixels than that.
    scale = 1.0
    if opened.owned and source_format in ("JPEG", "MPO") and img.mode in ("RGB", "L", "CMYK"):
        need_w = math.ceil(src_w * inner[0] / (box[2] - box[0]) * _DRAFT_MARGIN)
        need_h = math.ceil(src_h * inner[1] / (box[3] - box[1]) * _DRAFT_MARGIN)
        request = (need_h, need_w) if swaps else (need_w, need_h)
        if request[0] < stored_w and request[1] < stored_h:
            drafted = img.draft(img.mode, request)
            if drafted is not None:
                scale = stored_w / drafted[1][2]
    img.load()
    icc = img.info.get("icc_profile") or None
    has_alpha = _has_alpha(img)
    flat = _looks_flat(img)
    base = _normalize_mode(img)

    # Resample in the file's stored orientation, then rotate only the small result.
    # The preview's copy of the source is reduced beside the resampling; it is encoded only when
    # `Reference.thumbnail` is first asked for.
    thumb_job = _executor().submit(_reduce_for_thumbnail, base, orientation)
    out = _resample(
        base, inner, box, orientation=orientation, full_size=(stored_w, stored_h), scale=scale
    )
    out = _finish_colour(out, icc)
    thumb = thumb_job.result()

    if matte is not None and out.mode == "RGBA":
        out = _flatten(out, matte)
    if fit == "contain" and inner != (width, height):
        out = _letterbox(out, (width, height), background)
    if out.size != (width, height):  # pragma: no cover - guarded by _layout
        raise ReferenceImageError(f"internal error: produced {out.size}, wanted {size}")

    data, kind, quality = _encode(
        out, format=format, prefer_png=has_alpha or flat, max_bytes=max_bytes, who=opened.who
    )
    crop_box = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
    return Reference(
        data=data,
        mime_type=_MIME[kind],
        filename=f"reference-{width}x{height}.{_EXT[kind]}",
        size=(width, height),
        source_size=(src_w, src_h),
        crop_box=crop_box,
        fit=fit,
        source_name=opened.name,
        source_format=source_format,
        source_mode=source_mode,
        orientation=orientation,
        quality=quality,
        _thumb=_ThumbSource(thumb, orientation, icc),
    )


def _check_options(
    fit: str, focus: tuple[float, float], format: str, max_bytes: int, max_pixels: int
) -> None:
    if fit not in _FITS:
        raise ValidationError(
            f"fit {fit!r} is not known (choose 'cover', 'contain' or 'stretch')", param="fit"
        )
    if format not in _FORMATS:
        raise ValidationError(
            f"format {format!r} is not known (choose 'auto', 'jpeg', 'png' or 'webp')",
            param="format",
        )
    try:
        fx, fy = focus
        ok = 0.0 <= float(fx) <= 1.0 and 0.0 <= float(fy) <= 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValidationError(
            f"focus {focus!r} is not a point inside the image (give (x, y) fractions from 0 to 1, "
            "e.g. (0.5, 0.3))",
            param="focus",
        )
    if not isinstance(max_bytes, int) or max_bytes < 1024:
        raise ValidationError(
            f"max_bytes {max_bytes!r} is too small (give at least 1024 bytes)", param="max_bytes"
        )
    if not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValidationError(
            f"max_pixels {max_pixels!r} is not a positive integer", param="max_pixels"
        )


def _parse_color(value: Color, param: str, *, allow_blur: bool) -> tuple[int, ...] | None:
    if allow_blur and value == "blur":
        return None
    try:
        if isinstance(value, str):
            return tuple(ImageColor.getrgb(value))
        if (
            isinstance(value, tuple)
            and len(value) in (3, 4)
            and all(isinstance(v, int) and 0 <= v <= 255 for v in value)
        ):
            return tuple(value)
    except ValueError:
        pass
    extra = ", or 'blur'" if allow_blur else ""
    raise ValidationError(
        f"{param} {value!r} is not a colour (give a name like 'black', '#202020' or an (r, g, b) "
        f"tuple{extra})",
        param=param,
    )


# -- geometry --------------------------------------------------------------------------------


def _layout(
    src_w: int, src_h: int, width: int, height: int, fit: str, focus: tuple[float, float]
) -> tuple[tuple[float, float, float, float], tuple[int, int]]:
    """The crop box in oriented source pixels, and the size the box is resampled to."""
    if fit == "cover":
        if src_w * height > width * src_h:  # source is wider: crop the sides
            crop_w, crop_h = src_h * width / height, float(src_h)
        else:
            crop_w, crop_h = float(src_w), src_w * height / width
        left = min(max(focus[0] * src_w - crop_w / 2, 0.0), src_w - crop_w)
        top = min(max(focus[1] * src_h - crop_h / 2, 0.0), src_h - crop_h)
        return (left, top, left + crop_w, top + crop_h), (width, height)
    full = (0.0, 0.0, float(src_w), float(src_h))
    if fit == "stretch":
        return full, (width, height)
    scale = min(width / src_w, height / src_h)
    inner_w = min(width, max(1, round(src_w * scale)))
    inner_h = min(height, max(1, round(src_h * scale)))
    return full, (inner_w, inner_h)


def _box_to_stored(
    box: tuple[float, float, float, float], stored_w: int, stored_h: int, orientation: int
) -> tuple[float, float, float, float]:
    """Map a box given in displayed (oriented) coordinates to the file's stored coordinates."""
    sw, sh = stored_w, stored_h

    def point(x: float, y: float) -> tuple[float, float]:
        return {
            1: (x, y),
            2: (sw - x, y),
            3: (sw - x, sh - y),
            4: (x, sh - y),
            5: (y, x),
            6: (y, sh - x),
            7: (sw - y, sh - x),
            8: (sw - y, x),
        }[orientation]

    (x0, y0), (x1, y1) = point(box[0], box[1]), point(box[2], box[3])
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orient(img: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return img.transpose(method) if method is not None else img


def _exif_orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not sink an otherwise good picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# -- modes and colour ------------------------------------------------------------------------


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _looks_flat(img: Image.Image) -> bool:
    """True for line art, logos and UI screenshots: few colours, a handful of them dominant."""
    if img.format in ("JPEG", "MPO"):
        return False
    if img.mode == "1":
        return True
    try:
        side = (min(img.width, 128), min(img.height, 128))
        colours = img.resize(side, Image.Resampling.NEAREST).getcolors(maxcolors=256)
    except Exception:
        return False
    if colours is None:
        return False
    counts = sorted((count for count, _ in colours), reverse=True)
    return sum(counts[:8]) >= 0.5 * side[0] * side[1]


def _normalize_mode(img: Image.Image) -> Image.Image:
    """Bring any mode to one Pillow resamples well: L, LA, RGB, RGBA or CMYK."""
    mode = img.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        if "transparency" in img.info and mode in ("RGB", "L"):
            return img.convert("RGBA")
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        if mode == "PA" or "transparency" in img.info:
            return img.convert("RGBA")
        return img.convert("RGB")
    if mode.startswith("I") or mode == "F":
        return _to_8bit(img)
    if mode in ("RGBa", "La", "RGBX", "YCbCr", "LAB", "HSV"):
        if mode == "RGBa":
            return img.convert("RGBA")
        if mode == "La":
            return img.convert("LA")
        if mode == "LAB":
            return _lab_to_rgb(img)
        return img.convert("RGB")
    return img.convert("RGBA" if _has_alpha(img) else "RGB")


def _to_8bit(img: Image.Image) -> Image.Image:
    """Deep greyscale (I;16, I, F) to L, keeping the picture's tones rather than clipping."""
    work = img if img.mode in ("I", "F") else img.convert("I")
    lo, hi = work.getextrema()
    lo, hi = float(lo), float(hi)  # type: ignore[arg-type]
    if work.mode == "F" and lo >= 0.0 and hi <= 1.0:
        gain, offset = 255.0, 0.0
    elif lo >= 0 and hi <= 255:
        gain, offset = 1.0, 0.0
    elif lo >= 0 and hi <= 65535:
        gain, offset = 1 / 257, 0.0
    else:
        gain = 255.0 / (hi - lo) if hi > lo else 1.0
        offset = -lo * gain
    return work.point(lambda v: v * gain + offset + 0.5).convert("L")


def _lab_to_rgb(img: Image.Image) -> Image.Image:
    from PIL import ImageCms

    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    result = ImageCms.applyTransform(img, transform)
    assert result is not None
    return result


def _finish_colour(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert a normalized image to sRGB RGB or RGBA, through its ICC profile if it has one."""
    alpha = img.getchannel("A") if img.mode in ("RGBA", "LA") else None
    colour = img.convert("RGB" if img.mode == "RGBA" else "L") if alpha is not None else img
    converted = _icc_to_srgb(colour, icc) if icc else None
    if converted is not None:
        rgb = converted
    else:
        rgb = colour if colour.mode == "RGB" and alpha is None else colour.convert("RGB")
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def _icc_to_srgb(img: Image.Image, icc: bytes) -> Image.Image | None:
    transform = _icc_transform(icc, img.mode)
    if transform is None:
        return None
    from PIL import ImageCms

    try:
        return ImageCms.applyTransform(img, transform)
    except Exception:
        return None


@lru_cache(maxsize=16)
def _icc_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from ``icc`` to sRGB, or None when the profile is sRGB already or unusable."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile) or ""
        if mode == "RGB" and "srgb" in description.lower().replace(" ", ""):
            return None
        return ImageCms.buildTransform(
            profile,
            ImageCms.createProfile("sRGB"),
            mode,
            "RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except Exception:  # a broken or unusual profile: fall back to Pillow's plain conversion
        return None


def _flatten(img: Image.Image, matte: tuple[int, ...]) -> Image.Image:
    canvas = Image.new("RGB", img.size, matte[:3])
    canvas.paste(img, mask=img.getchannel("A"))
    return canvas


def _letterbox(
    content: Image.Image, size: tuple[int, int], background: tuple[int, ...] | None
) -> Image.Image:
    width, height = size
    if background is None:
        canvas = _blurred_fill(content.convert("RGB"), size)
        if content.mode == "RGBA":
            canvas = canvas.convert("RGBA")
    else:
        rgba = (*background[:3], background[3] if len(background) == 4 else 255)
        if content.mode == "RGBA" or rgba[3] != 255:
            canvas = Image.new("RGBA", size, rgba)
        else:
            canvas = Image.new("RGB", size, rgba[:3])
    offset = ((width - content.width) // 2, (height - content.height) // 2)
    if content.mode == "RGBA":
        if canvas.mode != "RGBA":
            canvas = canvas.convert("RGBA")
        canvas.alpha_composite(content, offset)
    else:
        canvas.paste(content, offset)
    return canvas


def _blurred_fill(content: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The content scaled to cover ``size``, heavily blurred and dimmed: a soft letterbox."""
    width, height = size
    small = (max(1, width // 16), max(1, height // 16))
    box, _ = _layout(content.width, content.height, small[0], small[1], "cover", (0.5, 0.5))
    tiny = content.resize(small, Image.Resampling.BOX, box=box, reducing_gap=2.0)
    tiny = tiny.filter(ImageFilter.GaussianBlur(radius=2))
    tiny = tiny.point(lambda v: v * 0.6)
    return tiny.resize(size, Image.Resampling.BICUBIC)


def _resample(
    img: Image.Image,
    size: tuple[int, int],
    box: tuple[float, float, float, float],
    *,
    orientation: int,
    full_size: tuple[int, int],
    scale: float,
) -> Image.Image:
    """Resample ``box`` (displayed coordinates, full-resolution pixels) to ``size``.

    ``img`` is the file's pixels in stored orientation, possibly decoded at 1/``scale`` of
    ``full_size``; the result is in displayed orientation. Shrinking by more than
    `_REDUCING_GAP` first box-reduces by a whole factor; what is left is Lanczos, or bicubic when
    it still shrinks by `_BICUBIC_FROM` or more. A big output is made in horizontal bands
    on worker threads (Pillow releases the GIL), each resampled and rotated on its own: every band
    uses the filter positions one whole call would, so the result is the same.
    """
    width, height = size
    swaps = orientation >= 5
    origin = (0.0, 0.0)
    factor = (1, 1)

    def to_img(sub: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = _box_to_stored(sub, full_size[0], full_size[1], orientation)
        return (
            (x0 / scale - origin[0]) / factor[0],
            (y0 / scale - origin[1]) / factor[1],
            (x1 / scale - origin[0]) / factor[0],
            (y1 / scale - origin[1]) / factor[1],
        )

    x0, y0, x1, y1 = to_img(box)
    out_w, out_h = (height, width) if swaps else (width, height)
    factor_x = int((x1 - x0) / out_w / _REDUCING_GAP) or 1
    factor_y = int((y1 - y0) / out_h / _REDUCING_GAP) or 1
    if factor_x > 1 or factor_y > 1:
        # Box-reduce the region (plus a margin for the filter's reach) by whole factors first.
        pad_x = math.ceil(3 * (x1 - x0) / out_w) + factor_x
        pad_y = math.ceil(3 * (y1 - y0) / out_h) + factor_y
        region = (
            max(0, math.floor(x0) - pad_x),
            max(0, math.floor(y0) - pad_y),
            min(img.width, math.ceil(x1) + pad_x),
            min(img.height, math.ceil(y1) + pad_y),
        )
        img = img.reduce((factor_x, factor_y), box=region)
        origin, factor = (float(region[0]), float(region[1])), (factor_x, factor_y)

    shrink = max((x1 - x0) / factor_x / out_w, (y1 - y0) / factor_y / out_h)
    resample = Image.Resampling.BICUBIC if shrink >= _BICUBIC_FROM else Image.Resampling.LANCZOS
    cpus = os.cpu_count() or 1
    big = width * height >= _BAND_MIN_PIXELS and cpus > 1
    bands = min(_BANDS, cpus) if big and height >= _BANDS * 8 else 1
    cuts = [round(height * i / bands) for i in range(bands + 1)]
    step = (box[3] - box[1]) / height

    def band(i: int) -> Image.Image:
        top, bottom = cuts[i], cuts[i + 1]
        sub = (box[0], box[1] + top * step, box[2], box[1] + bottom * step)
        band_size = (bottom - top, width) if swaps else (width, bottom - top)
        return _orient(img.resize(band_size, resample, box=to_img(sub)), orientation)

    if bands == 1:
        return band(0)
    out = Image.new(img.mode, size, None)  # every pixel is pasted over: skip the fill
    for i, part in enumerate(_executor().map(band, range(bands))):
        out.paste(part, (0, cuts[i]))
    return out


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=max(2, min(_BANDS + 1, (os.cpu_count() or 1) + 1)),
                thread_name_prefix="sora-reference",
            )
        return _EXECUTOR


def _reduce_for_thumbnail(base: Image.Image, orientation: int) -> Image.Image:
    """``base`` shrunk to fit `_THUMB_BOX` once oriented: a box reduce, then bilinear."""
    w, h = base.size
    box_w, box_h = (_THUMB_BOX[1], _THUMB_BOX[0]) if orientation >= 5 else _THUMB_BOX
    factor = max(1, min(w // box_w, h // box_h))
    small = base.reduce(factor) if factor > 1 else base
    ratio = min(box_w / small.width, box_h / small.height, 1.0)
    if ratio < 1.0:
        small = small.resize(
            (max(1, round(small.width * ratio)), max(1, round(small.height * ratio))),
            Image.Resampling.BILINEAR,
        )
    # Never keep ``base`` itself: it may be the caller's image, which they could change later.
    return small.copy() if small is base else small


# -- encoding --------------------------------------------------------------------------------


def _encode(
    img: Image.Image, *, format: str, prefer_png: bool, max_bytes: int, who: str
) -> tuple[bytes, str, int | None]:
    keeps_alpha = img.mode == "RGBA"
    kind = format if format != "auto" else ("png" if prefer_png or keeps_alpha else "jpeg")
    if kind == "png":
        data = _save(img, "PNG", compress_level=6)
        if len(data) > max_bytes:
            data = _save(img, "PNG", compress_level=9, optimize=True)
        if len(data) <= max_bytes:
            return data, "png", None
        if format == "png" or keeps_alpha:
            raise ReferenceImageError(
                f"{who} is {human_bytes(len(data))} as PNG, over max_bytes="
                f"{max_bytes} ({human_bytes(max_bytes)}); use format='jpeg' or 'webp', "
                "or raise max_bytes"
            )
        kind = "jpeg"
    if kind == "webp" and prefer_png:
        data = _save(img, "WEBP", lossless=True, method=4)
        if len(data) <= max_bytes:
            return data, "webp", None
    pillow_format = "JPEG" if kind == "jpeg" else "WEBP"
    data = b""
    for quality in _JPEG_QUALITIES:
        if pillow_format == "JPEG":
            data = _save(img, "JPEG", quality=quality)
        else:
            data = _save(img, "WEBP", quality=quality, method=4)
        if len(data) <= max_bytes:
            return data, kind, quality
    raise ReferenceImageError(
        f"{who} is still {human_bytes(len(data))} as {kind.upper()} at quality "
        f"{_JPEG_QUALITIES[-1]}, over max_bytes={max_bytes}; raise max_bytes"
    )


def _save(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


# -- sources ---------------------------------------------------------------------------------


def _who(name: str | None) -> str:
    return f"reference {_short(name, 80)!r}" if name else "the reference image"


@dataclass
class _Raw:
    """Where an encoded image's bytes come from: exactly one of ``data``, ``path``, ``stream``."""

    label: str | None
    data: bytes | None = None
    path: pathlib.Path | None = None
    stream: BinaryIO | None = None


def _open(source: Any, *, name: str | None, max_pixels: int) -> _Opened:
    """Open any supported source lazily (headers only) and run the safety checks."""
    if isinstance(source, Image.Image):
        label = name or _basename(getattr(source, "filename", None))
        _check_pixels(source.size, label, max_pixels)
        return _Opened(source, label, owned=False)
    if _is_numpy_array(source):
        image = _from_array(source, name)
        _check_pixels(image.size, name, max_pixels)
        return _Opened(image, name, owned=False)
    if (
        isinstance(source, Sequence)
        and not isinstance(source, (str, bytes, bytearray))
        and len(source) == 1
        and isinstance(source[0], Mapping)
        and "content" in source[0]
    ):
        source = source[0]  # a FileUpload's value: a tuple of one entry
    raw = _raw(source, name)
    stream, owned = _stream(raw)
    return _decode(stream, owned, raw.label, max_pixels)


def _raw(source: Any, name: str | None) -> _Raw:
    """Sort a non-image source into bytes, a path or a seekable stream (nothing decoded yet)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _Raw(name, data=bytes(source))
    if isinstance(source, str):
        lowered = source.lower()
        if lowered.startswith(("http://", "https://")):
            data, url_name = _fetch(source)
            return _Raw(name or url_name, data=data)
        if lowered.startswith("data:"):
            return _Raw(name, data=_decode_data_url(source, name))
        if _URL_SCHEME.match(source):
            scheme = source.split("://", 1)[0]
            raise ReferenceImageError(
                f"reference URL scheme {scheme!r} is not fetched (only http and https); "
                "download the image and pass the file"
            )
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source)
        return _Raw(name or path.name, path=path)
    if isinstance(source, Mapping) and "content" in source:
        label = name or (str(source["name"]) if source.get("name") else None)
        return _Raw(label, data=bytes(source["content"]))
    if hasattr(source, "read"):
        return _raw_stream(source, name or _basename(getattr(source, "name", None)))
    raise ReferenceImageError(
        f"reference of type {type(source).__name__} is not something an image can be read "
        "from (give a path, bytes, a binary file, a PIL image, a numpy array, a FileUpload "
        "entry or an http(s) URL)"
    )


def _raw_stream(source: Any, label: str | None) -> _Raw:
    seekable = getattr(source, "seekable", None)
    if callable(seekable) and seekable():
        return _Raw(label, stream=source)
    data = source.read()
    if not isinstance(data, (bytes, bytearray)):
        raise ReferenceImageError(
            f"{_who(label)} is a text stream; open the file in binary mode ('rb')"
        )
    return _Raw(label, data=bytes(data))


def _stream(raw: _Raw) -> tuple[BinaryIO, BinaryIO | None]:
    """A readable stream of the raw source, and the one to close afterwards (a file we opened)."""
    if raw.path is None:
        if raw.data is not None:
            return io.BytesIO(raw.data), None
        assert raw.stream is not None
        return raw.stream, None
    who = _who(raw.label)
    if not raw.path.exists():
        raise ReferenceImageError(f"{who} does not exist ({str(raw.path)!r}); check the path")
    if raw.path.is_dir():
        raise ReferenceImageError(f"{who} is a folder, not an image file")
    try:
        owned = raw.path.open("rb")
    except OSError as exc:
        raise ReferenceImageError(f"{who} could not be opened: {exc.strerror}") from exc
    return owned, owned


def _decode(
    stream: BinaryIO, owned: BinaryIO | None, label: str | None, max_pixels: int
) -> _Opened:
    """Open the image's header (Pillow is lazy) and check its format and size; closes ``owned``
    on any refusal."""
    who = _who(label)
    head = stream.read(2048)
    stream.seek(-len(head), io.SEEK_CUR)
    try:
        if not head:
            raise ReferenceImageError(f"{who} is empty (0 bytes); choose another file")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(stream)
        except Image.DecompressionBombError as exc:
            raise ReferenceImageError(
                f"{who} is too large to decode safely ({exc}); shrink it first"
            ) from exc
        except Exception as exc:
            raise ReferenceImageError(f"{who} {_sniff_reason(head)}") from exc
    except ReferenceImageError:
        if owned is not None:
            owned.close()
        raise
    opened = _Opened(image, label, owned=True, stream=owned)
    try:
        if image.format not in _READABLE_FORMATS:
            raise ReferenceImageError(
                f"{who} is a {image.format} file, which is not read here; export it as PNG or JPEG"
            )
        _check_pixels(image.size, label, max_pixels)
    except ReferenceImageError:
        opened.close()
        raise
    return opened


def _check_pixels(size: tuple[int, int], name: str | None, max_pixels: int) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise ReferenceImageError(f"{_who(name)} has no pixels ({w}×{h}); choose another image")
    if w * h > max_pixels:
        raise ReferenceImageError(
            f"{_who(name)} is {w}×{h} ({w * h / 1e6:.1f} megapixels), over the limit of "
            f"{max_pixels / 1e6:g} megapixels (a possible decompression bomb); shrink it first "
            "or pass a larger max_pixels"
        )


def _sniff_reason(head: bytes) -> str:
    """Why a file Pillow cannot open is not an image, from its first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "is an SVG drawing; export it as PNG or JPEG"
    if text.startswith((b"<!doctype html", b"<html")):
        return "is an HTML page, not an image; use the address of the image itself"
    if text.startswith(b"%pdf"):
        return "is a PDF document; export the page as PNG or JPEG"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1"):
        return "is a HEIC/HEIF photo, which Pillow cannot read here; export it as JPEG"
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return "is damaged (its header could not be read); re-save it as PNG or JPEG"
    return "is not an image in a known format; use a JPEG, PNG, WebP or GIF"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "truncated" in low or isinstance(exc, (EOFError, SyntaxError)) or "broken data" in low:
        return f"the file is truncated or damaged ({text})"
    return text


def _basename(value: object) -> str | None:
    if not value:
        return None
    return (
        pathlib.PurePath(os.fspath(value)).name if isinstance(value, (str, os.PathLike)) else None
    )


def _is_numpy_array(value: object) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "__array_interface__")


def _from_array(array: Any, name: str | None) -> Image.Image:
    import numpy as np

    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ReferenceImageError(
            f"{_who(name)} is an array of shape {arr.shape}; give height×width, "
            "height×width×3 (RGB) or height×width×4 (RGBA)"
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        peak = float(finite.max()) if finite.size else 0.0
        factor = 255.0 if peak <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr) * factor + 0.5, 0, 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr))


def _decode_data_url(url: str, name: str | None) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise ReferenceImageError(f"{_who(name)} is a data URL without data")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return urllib.parse.unquote_to_bytes(payload)
    except ValueError as exc:
        raise ReferenceImageError(f"{_who(name)} is a data URL with bad base64: {exc}") from exc


def _fetch(url: str) -> tuple[bytes, str | None]:
    """Download an http(s) URL within `URL_MAX_BYTES` and `URL_TIMEOUT`."""
    import httpx

    parts = urllib.parse.urlsplit(url)
    shown = urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
    name = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1]) or parts.hostname
    who = f"reference URL {_short(shown, 100)!r}"
    deadline = time.monotonic() + URL_TIMEOUT
    try:
        with (
            httpx.Client(
                timeout=URL_TIMEOUT, follow_redirects=True, max_redirects=URL_MAX_REDIRECTS
            ) as client,
            client.stream("GET", url, headers={"Accept": "image/*"}) as response,
        ):
            if response.status_code >= 400:
                raise ReferenceImageError(
                    f"{who} answered HTTP {response.status_code}; check the address"
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > URL_MAX_BYTES:
                raise ReferenceImageError(
                    f"{who} is {human_bytes(int(declared))}, over the download limit of "
                    f"{human_bytes(URL_MAX_BYTES)}; download and shrink it first"
                )
            buf = bytearray()
            for chunk in response.iter_bytes():
                buf += chunk
                if len(buf) > URL_MAX_BYTES:
                    raise ReferenceImageError(
                        f"{who} is over the download limit of {human_bytes(URL_MAX_BYTES)}; "
                        "download and shrink it first"
                    )
                if time.monotonic() > deadline:
                    raise ReferenceImageError(
                        f"{who} took more than {URL_TIMEOUT:g} s to download; "
                        "download it yourself and pass the file"
                    )
    except httpx.TimeoutException as exc:
        raise ReferenceImageError(
            f"{who} did not answer within {URL_TIMEOUT:g} s; check the address or pass a file"
        ) from exc
    except httpx.TooManyRedirects as exc:
        raise ReferenceImageError(
            f"{who} redirected more than {URL_MAX_REDIRECTS} times; use the final address"
        ) from exc
    except httpx.HTTPError as exc:
        raise ReferenceImageError(f"{who} could not be fetched: {exc}") from exc
    return bytes(buf), name


# -- preview ---------------------------------------------------------------------------------


def _render_preview(ref: Reference) -> bytes:
    """The source (crop box drawn) beside the result, each over its own label; a label wraps to
    its column (as wide as its picture, at least `_LABEL_MIN_WIDTH`), never cut at the edge."""
    box_w, box_h = _PREVIEW_BOX
    pad, gap, line_h = 8, 28, 13
    try:
        source = Image.open(io.BytesIO(ref.thumbnail)).convert("RGBA") if ref.thumbnail else None
    except Exception:
        source = None
    result = Image.open(io.BytesIO(ref.data))
    result.draft("RGB", (box_w, box_h))
    result_img = result.convert("RGBA")
    result_img.thumbnail((box_w, box_h), Image.Resampling.BILINEAR)

    panels: list[Image.Image] = []
    if source is not None:
        source.thumbnail((box_w, box_h), Image.Resampling.BILINEAR)
        sx = source.width / ref.source_size[0]
        sy = source.height / ref.source_size[1]
        left, top, right, bottom = ref.crop_box
        rect = (
            round(left * sx),
            round(top * sy),
            max(round(left * sx), round(right * sx) - 1),
            max(round(top * sy), round(bottom * sy) - 1),
        )
        shade = Image.new("RGBA", source.size, (0, 0, 0, 120))
        ImageDraw.Draw(shade).rectangle(rect, fill=(0, 0, 0, 0))
        source = Image.alpha_composite(source, shade)
        ImageDraw.Draw(source).rectangle(rect, outline=(255, 59, 48, 255), width=2)
        panels.append(source)
    panels.append(result_img)

    font = _font(11)
    sw, sh = ref.source_size
    w, h = ref.size
    labels = [
        [f"source {sw}x{sh}", _short(ref.source_name or ref.source_format or "image", 34)],
        [f"sent {w}x{h} {ref.fit}", f"{ref.format.upper()} {human_bytes(len(ref.data))}"],
    ]
    if source is None:
        labels = labels[1:]
    columns = [max(panel.width, _LABEL_MIN_WIDTH) for panel in panels]
    wrapped = [
        [part for line in lines for part in _wrap(line, font, column)]
        for lines, column in zip(labels, columns, strict=True)
    ]
    tallest = max(p.height for p in panels)
    width = pad * 2 + sum(columns) + gap * (len(panels) - 1)
    height = pad * 2 + tallest + 3 + line_h * max(len(lines) for lines in wrapped) + 2
    canvas = Image.new("RGBA", (width, height), (246, 246, 246, 255))
    draw = ImageDraw.Draw(canvas)
    x = pad
    for index, (panel, lines, column) in enumerate(zip(panels, wrapped, columns, strict=True)):
        px = x + (column - panel.width) // 2
        y = pad + (tallest - panel.height) // 2
        canvas.alpha_composite(_checker(panel.size), (px, y))
        canvas.alpha_composite(panel, (px, y))
        ty = pad + tallest + 3
        for line in lines:
            draw.text((x, ty), line, fill=(40, 40, 40, 255), font=font)
            ty += line_h
        if index < len(panels) - 1:
            mid_y = pad + tallest // 2
            arrow_x = x + column + gap // 2
            draw.line((arrow_x - 7, mid_y, arrow_x + 6, mid_y), fill=(90, 90, 90, 255), width=2)
            draw.polygon(
                [(arrow_x + 7, mid_y), (arrow_x + 1, mid_y - 5), (arrow_x + 1, mid_y + 5)],
                fill=(90, 90, 90, 255),
            )
        x += column + gap
    out = canvas.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    return _save(out, "PNG", optimize=True)


_LABEL_MIN_WIDTH = 132
"""The narrowest column of the preview: a portrait picture's label wraps to this, not to 90 px."""


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels: at spaces, inside a word only when the
    word alone is wider."""
    return wrap_to_width(text, font.getlength, width)


def _checker(size: tuple[int, int]) -> Image.Image:
    """A light checkerboard, so transparent parts of a kept-alpha reference show as such."""
    tile = Image.new("RGBA", (16, 16), (255, 255, 255, 255))
    ImageDraw.Draw(tile).rectangle((0, 0, 7, 7), fill=(220, 220, 220, 255))
    ImageDraw.Draw(tile).rectangle((8, 8, 15, 15), fill=(220, 220, 220, 255))
    board = Image.new("RGBA", size)
    for ty in range(0, size[1], 16):
        for tx in range(0, size[0], 16):
            board.paste(tile, (tx, ty))
    return board


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except Exception:
        return ImageFont.load_default()


# -- small helpers ---------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
