"""Hostile reference files: each is refused with a clear ReferenceImageError or handled safely."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from sora_widgets import ReferenceImageError, prepare_reference


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def jpeg(size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_huge_dimensions_are_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(100_000, 100_000))  # 10 gigapixels claimed in 100 bytes
    with pytest.raises(ReferenceImageError) as info:
        prepare_reference(path, "1280x720")
    message = str(info.value)
    assert "huge.png" in message and ("bomb" in message or "pixels" in message)


def test_svg_with_script_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    )
    with pytest.raises(ReferenceImageError, match="SVG"):
        prepare_reference(path, "1280x720")


def test_jpeg_with_html_payload_is_re_encoded_clean(tmp_path: Path) -> None:
    polyglot = jpeg() + b"<html><script>alert(1)</script></html>"
    reference = prepare_reference(polyglot, "1280x720")
    assert reference.size == (1280, 720) and b"<script>" not in reference.data
    assert reference.mime_type in ("image/jpeg", "image/png")


def test_jpeg_zip_polyglot_is_re_encoded_clean(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.py", "print('owned')")
    polyglot = jpeg() + archive.getvalue()
    reference = prepare_reference(polyglot, "720x1280")
    assert b"payload.py" not in reference.data and reference.size == (720, 1280)


def test_html_named_as_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_text("<html><body onload=alert(1)>not an image</body></html>")
    with pytest.raises(ReferenceImageError) as info:
        prepare_reference(path, "1280x720")
    assert "photo.png" in str(info.value)


def test_hostile_file_name_is_escaped_in_the_preview(tmp_path: Path) -> None:
    path = tmp_path / '"><img src=x onerror=alert(1)>.jpg'
    path.write_bytes(jpeg())
    reference = prepare_reference(path, "1280x720")
    html = reference._repr_html_()
    assert "<img src=x" not in html and "&lt;img" in html
