"""prepare_reference over a generated corpus: every mode, every EXIF orientation, every fit."""

from __future__ import annotations

import functools
import http.server
import io
import pathlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image, ImageCms

from sora_widgets.api._errors import ReferenceImageError, SoraError
from sora_widgets.reference import Fit, Reference, prepare_reference

SIZES = ["720x1280", "1280x720", "1024x1792", "1792x1024"]
FITS = ["cover", "contain", "stretch"]

RED, GREEN, BLUE, YELLOW = (230, 20, 20), (20, 200, 20), (20, 20, 230), (230, 230, 20)
QUADRANTS = (RED, GREEN, BLUE, YELLOW)  # top-left, top-right, bottom-left, bottom-right

# How to store a picture so that a viewer applying EXIF orientation N shows it upright.
STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def quadrants(
    width: int, height: int, colours: tuple[tuple[int, int, int], ...] = QUADRANTS
) -> Image.Image:
    img = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    img.paste(colours[0], (0, 0, half_w, half_h))
    img.paste(colours[1], (half_w, 0, width, half_h))
    img.paste(colours[2], (0, half_h, half_w, height))
    img.paste(colours[3], (half_w, half_h, width, height))
    return img


def decode(ref: Reference) -> Image.Image:
    img = Image.open(io.BytesIO(ref.data))
    img.load()
    return img


def content_rect(ref: Reference) -> tuple[int, int, int, int]:
    """Where the source landed in the output (the letterbox interior for ``contain``)."""
    width, height = ref.size
    if ref.fit != "contain":
        return (0, 0, width, height)
    sw, sh = ref.source_size
    scale = min(width / sw, height / sh)
    iw, ih = max(1, round(sw * scale)), max(1, round(sh * scale))
    left, top = (width - iw) // 2, (height - ih) // 2
    return (left, top, left + iw, top + ih)


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 60) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a[:3], b[:3], strict=True))


def assert_quadrants(ref: Reference, colours: tuple[tuple[int, int, int], ...] = QUADRANTS) -> None:
    img = decode(ref).convert("RGB")
    left, top, right, bottom = content_rect(ref)
    w, h = right - left, bottom - top
    if w < 8 or h < 8:
        return  # too thin to sample reliably (e.g. 10000×200 contained in a portrait frame)
    points = [
        (left + w // 4, top + h // 4),
        (left + 3 * w // 4, top + h // 4),
        (left + w // 4, top + 3 * h // 4),
        (left + 3 * w // 4, top + 3 * h // 4),
    ]
    got = [img.getpixel(p) for p in points]
    for point, pixel, want in zip(points, got, colours, strict=True):
        assert isinstance(pixel, tuple)
        assert close(pixel, want), f"{ref!r}: pixel at {point} is {pixel}, expected {want}"


def assert_exact(ref: Reference, size: str) -> None:
    width, height = (int(v) for v in size.split("x"))
    img = decode(ref)
    assert img.size == (width, height) == ref.size
    assert Image.MIME[img.format or ""] == ref.mime_type
    assert (
        ref.filename
        == f"reference-{size}.{ {'JPEG': 'jpg', 'PNG': 'png', 'WEBP': 'webp'}[img.format or ''] }"
    )


@pytest.fixture
def http_root(tmp_path: pathlib.Path) -> Iterator[tuple[pathlib.Path, str]]:
    """A tiny static file server on 127.0.0.1 serving a fresh folder."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- the corpus --------------------------------------------------------------------------------


def _save(img: Image.Image, path: pathlib.Path, **options: Any) -> pathlib.Path:
    img.save(path, **options)
    return path


def _cmyk_jpeg(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48).convert("CMYK"), p / "cmyk.jpg", quality=95)


def _cmyk_tiff(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48).convert("CMYK"), p / "cmyk.tif")


def _rgba_png(p: pathlib.Path) -> pathlib.Path:
    img = quadrants(64, 48).convert("RGBA")
    img.putpixel((0, 0), (0, 0, 0, 0))
    return _save(img, p / "rgba.png")


def _p_transparent(p: pathlib.Path) -> pathlib.Path:
    img = quadrants(64, 48).quantize(colors=8)
    return _save(img, p / "palette.png", transparency=255)


def _gif(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48).quantize(colors=8), p / "palette.gif")


def _animated_gif(p: pathlib.Path) -> pathlib.Path:
    first = quadrants(64, 48)
    second = Image.new("RGB", (64, 48), (255, 0, 255))
    return _save(first, p / "anim.gif", save_all=True, append_images=[second], duration=100, loop=0)


def _animated_webp(p: pathlib.Path) -> pathlib.Path:
    first = quadrants(64, 48)
    second = Image.new("RGB", (64, 48), (255, 0, 255))
    return _save(
        first, p / "anim.webp", save_all=True, append_images=[second], duration=100, lossless=True
    )


def _rgb_jpeg(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48), p / "rgb.jpg", quality=95)


def _rgb_webp(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48), p / "rgb.webp", lossless=True)


def _wide(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(10000, 200), p / "wide.png")


def _tiny(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(16, 16), p / "tiny.png")


def _wrong_extension(p: pathlib.Path) -> pathlib.Path:
    return _save(quadrants(64, 48), p / "actually-a-png.jpg", format="PNG")


def _icc_tagged(p: pathlib.Path) -> pathlib.Path:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    # Rename the profile so it is not recognised as sRGB: the colour transform really runs.
    renamed = profile.replace("sRGB".encode("utf-16-be"), "XRGB".encode("utf-16-be"))
    return _save(quadrants(64, 48), p / "icc.png", icc_profile=renamed)


COLOUR_SOURCES: dict[str, Callable[[pathlib.Path], pathlib.Path]] = {
    "RGB-jpeg": _rgb_jpeg,
    "RGB-webp": _rgb_webp,
    "RGBA": _rgba_png,
    "P-transparency": _p_transparent,
    "P-gif": _gif,
    "CMYK-jpeg": _cmyk_jpeg,
    "CMYK-tiff": _cmyk_tiff,
    "animated-gif": _animated_gif,
    "animated-webp": _animated_webp,
    "10000x200": _wide,
    "16x16": _tiny,
    "wrong-extension": _wrong_extension,
    "icc-profile": _icc_tagged,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {name: make(folder) for name, make in COLOUR_SOURCES.items()}


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", list(COLOUR_SOURCES))
def test_colour_sources_fit_exactly_and_keep_their_layout(
    corpus: dict[str, pathlib.Path], kind: str, size: str, fit: Fit
) -> None:
    ref = prepare_reference(corpus[kind], size, fit=fit)
    assert_exact(ref, size)
    assert ref.source_name == corpus[kind].name
    assert_quadrants(ref)


# Grey sources: quadrants of increasing brightness (dark top-left … bright bottom-right).
GREYS_8 = (20, 90, 160, 235)


def _grey(mode: str) -> Image.Image:
    levels = {"I;16": 257, "I": 257, "F": 1 / 255, "L": 1, "1": 1, "LA": 1}[mode]
    img = Image.new("F", (64, 48))
    for (x0, y0, x1, y1), level in zip(
        [(0, 0, 32, 24), (32, 0, 64, 24), (0, 24, 32, 48), (32, 24, 64, 48)], GREYS_8, strict=True
    ):
        img.paste(level * levels, (x0, y0, x1, y1))
    if mode == "F":
        return img
    if mode == "1":
        return img.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    if mode in ("I", "I;16"):
        return img.convert("I").convert(mode) if mode == "I;16" else img.convert("I")
    grey = img.convert("L")
    if mode == "LA":
        grey.putalpha(255)
        return grey.convert("LA")
    return grey


GREY_FILES = {"1": "png", "L": "png", "LA": "png", "I;16": "png", "I": "tif", "F": "tif"}


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", list(GREY_FILES))
def test_grey_and_deep_modes_keep_their_tones(
    tmp_path: pathlib.Path, mode: str, size: str, fit: Fit
) -> None:
    source = _grey(mode)
    path = tmp_path / f"grey.{GREY_FILES[mode]}"
    source.save(path)
    reopened = Image.open(path)
    assert reopened.mode in (mode, "I;16", "I")  # Pillow may widen a little, never to 8 bits
    ref = prepare_reference(path, size, fit=fit)
    assert_exact(ref, size)
    img = decode(ref).convert("L")
    left, top, right, bottom = content_rect(ref)
    w, h = right - left, bottom - top
    samples = [
        img.getpixel((left + w // 4, top + h // 4)),
        img.getpixel((left + 3 * w // 4, top + 3 * h // 4)),
    ]
    assert isinstance(samples[0], int) and isinstance(samples[1], int)
    if mode == "1":
        assert samples[0] < 60 and samples[1] > 200
    else:
        assert abs(samples[0] - GREYS_8[0]) < 25, samples
        assert abs(samples[1] - GREYS_8[3]) < 25, samples


def test_ycbcr_and_in_memory_images(tmp_path: pathlib.Path) -> None:
    ycbcr = quadrants(64, 48).convert("YCbCr")
    ref = prepare_reference(ycbcr, "1280x720", fit="stretch")
    assert ref.source_mode == "YCbCr"
    assert_exact(ref, "1280x720")
    assert_quadrants(ref)
    assert ycbcr.mode == "YCbCr"  # the caller's image is not touched


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(
    tmp_path: pathlib.Path, orientation: int, size: str, fit: Fit
) -> None:
    upright = quadrants(96, 64)
    method = STORE[orientation]
    stored = upright.transpose(method) if method is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif)
    ref = prepare_reference(path, size, fit=fit)
    assert ref.orientation == orientation
    assert ref.source_size == (96, 64)
    assert_exact(ref, size)
    assert_quadrants(ref)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("size", ["1280x720", "720x1280"])
def test_large_jpeg_reduced_decode_keeps_orientation_and_crop(
    tmp_path: pathlib.Path, orientation: int, size: str
) -> None:
    upright = quadrants(3000, 2000)
    method = STORE[orientation]
    stored = upright.transpose(method) if method is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "big.jpg"
    stored.save(path, quality=90, exif=exif)
    ref = prepare_reference(path, size)
    assert_exact(ref, size)
    assert_quadrants(ref)
    assert ref.source_size == (3000, 2000)
    width, height = ref.size
    left, top, right, bottom = ref.crop_box
    assert abs((right - left) / (bottom - top) - width / height) < 0.01


# -- geometry ----------------------------------------------------------------------------------


def test_cover_crop_box_follows_focus(tmp_path: pathlib.Path) -> None:
    img = quadrants(400, 100)
    centred = prepare_reference(img, "1280x720")
    assert centred.crop_box == (111, 0, 289, 100)
    left = prepare_reference(img, "1280x720", focus=(0.0, 0.5))
    assert left.crop_box == (0, 0, 178, 100)
    right = prepare_reference(img, "1280x720", focus=(1.0, 0.5))
    assert right.crop_box == (222, 0, 400, 100)
    contain = prepare_reference(img, "1280x720", fit="contain")
    assert contain.crop_box == (0, 0, 400, 100)


def test_contain_letterboxes_on_colour_or_blur() -> None:
    img = quadrants(400, 100)
    solid = decode(prepare_reference(img, "720x1280", fit="contain", background="#102030"))
    assert close(solid.convert("RGB").getpixel((360, 5)), (16, 32, 48), 8)  # type: ignore[arg-type]
    blurred = prepare_reference(img, "720x1280", fit="contain", background="blur")
    top = decode(blurred).convert("RGB").getpixel((360, 5))
    assert isinstance(top, tuple) and top != (0, 0, 0)


def test_transparency_lies_on_matte_or_is_kept() -> None:
    img = Image.new("RGBA", (64, 48), (255, 0, 0, 0))
    img.paste((0, 0, 255, 255), (32, 0, 64, 48))
    flat = prepare_reference(img, "1280x720", fit="stretch", matte="white")
    assert flat.mime_type == "image/png"  # transparency in the source: PNG
    out = decode(flat).convert("RGB")
    assert close(out.getpixel((100, 360)), (255, 255, 255), 10)  # type: ignore[arg-type]
    kept = prepare_reference(img, "1280x720", fit="stretch", matte=None)
    out = decode(kept)
    assert out.mode == "RGBA"
    pixel = out.getpixel((100, 360))
    assert isinstance(pixel, tuple) and pixel[3] == 0


def test_photographs_become_jpeg_and_line_art_png() -> None:
    photo = Image.effect_noise((200, 120), 60).convert("RGB")
    assert prepare_reference(photo, "1280x720").mime_type == "image/jpeg"
    art = quadrants(200, 120)
    assert prepare_reference(art, "1280x720").mime_type == "image/png"
    webp = prepare_reference(photo, "1280x720", format="webp")
    assert webp.mime_type == "image/webp" and webp.filename.endswith(".webp")
    assert_exact(webp, "1280x720")


def test_byte_budget_is_met_by_stepping_quality_down() -> None:
    photo = Image.effect_noise((448, 256), 90).convert("RGB")
    photo = Image.merge(
        "RGB",
        [
            photo.getchannel(0),
            photo.rotate(90, expand=False).getchannel(0),
            photo.getchannel(0).transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        ],
    )
    roomy = prepare_reference(photo, "1792x1024", format="jpeg", max_bytes=20_000_000)
    budget = len(roomy.data) // 3
    tight = prepare_reference(photo, "1792x1024", format="jpeg", max_bytes=budget)
    assert len(tight.data) <= budget
    assert tight.quality is not None and roomy.quality is not None
    assert tight.quality < roomy.quality
    assert_exact(tight, "1792x1024")
    with pytest.raises(ReferenceImageError, match="max_bytes"):
        prepare_reference(photo, "1792x1024", format="png", max_bytes=2048)


# -- sources -----------------------------------------------------------------------------------


def test_every_kind_of_source(tmp_path: pathlib.Path) -> None:
    import numpy as np

    path = _rgb_jpeg(tmp_path)
    data = path.read_bytes()
    refs = [
        prepare_reference(str(path), (1280, 720)),
        prepare_reference(path, "1280x720"),
        prepare_reference(data, "1280x720"),
        prepare_reference(bytearray(data), "1280x720"),
        prepare_reference(io.BytesIO(data), "1280x720"),
        prepare_reference(path.open("rb"), "1280x720"),
        prepare_reference(Image.open(path), "1280x720"),
        prepare_reference(np.asarray(quadrants(64, 48)), "1280x720"),
        prepare_reference(np.asarray(quadrants(64, 48), dtype=np.float32) / 255, "1280x720"),
        prepare_reference(
            {"name": "up.jpg", "type": "image/jpeg", "content": memoryview(data)}, "1280x720"
        ),
        prepare_reference(({"name": "up.jpg", "content": memoryview(data)},), "1280x720"),
    ]
    for ref in refs:
        assert_exact(ref, "1280x720")
        assert_quadrants(ref)
    again = prepare_reference(refs[0].to_data_url(), "1280x720")
    assert_exact(again, "1280x720")
    assert refs[-2].source_name == "up.jpg"


def test_url_source_from_a_local_server(
    tmp_path: pathlib.Path, http_root: tuple[pathlib.Path, str]
) -> None:
    root, base = http_root
    _rgb_jpeg(root)
    ref = prepare_reference(f"{base}/rgb.jpg?token=secret", "720x1280")
    assert_exact(ref, "720x1280")
    assert ref.source_name == "rgb.jpg"
    with pytest.raises(ReferenceImageError, match="HTTP 404") as info:
        prepare_reference(f"{base}/missing.png?token=secret", "720x1280")
    assert "secret" not in str(info.value)


def test_url_download_limit(
    http_root: tuple[pathlib.Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sora_widgets.reference as reference

    root, base = http_root
    _wide(root)
    monkeypatch.setattr(reference, "URL_MAX_BYTES", 1000)
    with pytest.raises(ReferenceImageError, match="download limit"):
        prepare_reference(f"{base}/wide.png", "720x1280")


def test_other_url_schemes_are_refused() -> None:
    with pytest.raises(ReferenceImageError, match="only http and https"):
        prepare_reference("ftp://example.com/cat.png", "720x1280")


# -- errors ------------------------------------------------------------------------------------


def _error(source: object, **kwargs: object) -> str:
    with pytest.raises(ReferenceImageError) as info:
        prepare_reference(source, "1280x720", **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, SoraError)
    assert not isinstance(info.value.__cause__, ReferenceImageError)
    return str(info.value)


def test_truncated_files_are_refused_by_name(tmp_path: pathlib.Path) -> None:
    photo = Image.effect_noise((400, 300), 50).convert("RGB")
    for fmt, ext in [("JPEG", "jpg"), ("PNG", "png")]:
        buf = io.BytesIO()
        photo.save(buf, fmt)
        path = tmp_path / f"cut.{ext}"
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        message = _error(path)
        assert f"cut.{ext}" in message and "truncated" in message


def test_empty_non_image_svg_and_missing(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty" in _error(empty)
    text = tmp_path / "notes.png"
    text.write_text("just some words, not a picture\n" * 10)
    assert "notes.png" in _error(text) and "not an image" in _error(text)
    svg = tmp_path / "cat.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    assert "'cat.svg' is an SVG drawing; export it as PNG or JPEG" in _error(svg)
    assert "does not exist" in _error(tmp_path / "nowhere.jpg")
    assert "not something an image can be read from" in _error(12345)


def test_decompression_bomb_limit(tmp_path: pathlib.Path) -> None:
    path = _rgb_jpeg(tmp_path)
    message = _error(path, max_pixels=1000)
    assert "rgb.jpg" in message and "decompression bomb" in message
    ok = prepare_reference(path, "1280x720", max_pixels=64 * 48)
    assert_exact(ok, "1280x720")


def test_bad_arguments_are_validation_errors() -> None:
    from sora_widgets.api._errors import ValidationError

    img = quadrants(64, 48)
    for kwargs in [
        {"fit": "zoom"},
        {"focus": (2, 0.5)},
        {"format": "gif"},
        {"background": "nocolour"},
        {"max_bytes": 10},
    ]:
        with pytest.raises(ValidationError):
            prepare_reference(img, "1280x720", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        prepare_reference(img, "1280by720")
    with pytest.raises(ValidationError, match="transparency"):
        prepare_reference(img, "1280x720", format="jpeg", matte=None)


# -- the Reference -----------------------------------------------------------------------------


def test_preview_repr_and_html_escaping() -> None:
    hostile = "<script>alert(1)</script>.png"
    buf = io.BytesIO()
    quadrants(300, 200).save(buf, "PNG")
    ref = prepare_reference({"name": hostile, "content": buf.getvalue()}, "1792x1024")
    assert ref.source_name == hostile
    png = ref.preview()
    assert png.startswith(b"\x89PNG") and png == ref._repr_png_()
    shown = Image.open(io.BytesIO(png))
    assert shown.format == "PNG" and shown.width <= 700 and shown.height <= 260
    assert len(png) < 200_000
    markup = ref._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    text = repr(ref)
    assert len(text) < 200 and "1792x1024" in text and "\\x" not in text
    assert ref.to_data_url().startswith("data:image/png;base64,")
    assert len(ref.sha256) == 64


def test_reference_is_frozen_and_saves(tmp_path: pathlib.Path) -> None:
    ref = prepare_reference(quadrants(64, 48), "720x1280")
    with pytest.raises(AttributeError):
        ref.data = b""  # type: ignore[misc]
    written = ref.save(tmp_path)
    assert written.name == ref.filename and written.read_bytes() == ref.data
