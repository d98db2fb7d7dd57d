"""The emulator's pictures, decoded from real renders: a remix, edit or extension starts from the
source's clean picture (no zoom, no second badge or caption), and the text is legible, inside the
frame and clear of a browser's control bar, in landscape and portrait.

Text is found the way an eye finds it: white glyphs with a dark outline make sharp steps between
neighbouring pixels, which the blurred, gradient scenes never have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from sora_widgets.emulator._render import (
    RENDER_VERSION,
    RenderSpec,
    _font,
    _wrap,
    render_clip,
)

EDGE = 60
"""A step in Y between neighbours this big is text (the scenes' steepest is about 15)."""
CONTROLS = 0.15
"""The bottom share of the frame a browser's <video> control bar covers."""


def luma(path: str, count: int | None = None) -> list[np.ndarray[Any, Any]]:
    """The Y plane of every frame (or the first ``count``) of the MP4 at ``path``, as int16."""
    planes: list[np.ndarray[Any, Any]] = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            planes.append(frame.to_ndarray(format="yuv420p")[: frame.height].astype(np.int16))
            if len(planes) == count:
                break
    return planes


def text_edges(y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """True where a pixel and its right neighbour differ like text and background do."""
    return np.asarray(np.abs(np.diff(y, axis=1)) > EDGE)


def psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * float(np.log10(255**2 / max(mse, 1e-9)))


def render(out: Path, **fields: Any) -> str:
    fields.setdefault("seconds", 1)
    return render_clip(RenderSpec(**fields), str(out)).video


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A first render to remix, edit and extend: 640x360, 1 s."""
    out = tmp_path_factory.mktemp("source")
    return render(out, width=640, height=360, prompt="A lighthouse at dusk, gulls over the waves")


def test_a_first_render_opens_on_its_plate_then_shows_badge_and_caption(source: str) -> None:
    frames = luma(source)
    height = frames[0].shape[0]
    assert text_edges(frames[0]).sum() == 0  # the plate: no text at all
    shown = text_edges(frames[12])
    assert shown[: int(height * 0.2)].sum() > 100  # the badge
    assert shown[int(height * 0.45) : int(height * (1 - CONTROLS))].sum() > 300  # the caption


@pytest.mark.parametrize("seconds", [1, 2], ids=["remix", "extension"])
def test_a_derived_clip_starts_from_the_source_picture_unzoomed(
    source: str, tmp_path: Path, seconds: int
) -> None:
    remix = luma(
        render(
            tmp_path,
            width=640,
            height=360,
            seconds=seconds,
            prompt="Make it snow at night",
            source_video=source,
        )
    )
    plate = luma(source)[0]
    assert len(remix) == seconds * 24
    assert psnr(remix[0], plate) > 45  # the source's picture, as decoded
    assert text_edges(remix[0]).sum() == 0
    # between the badge and the caption nothing is text, and the picture has not moved: no zoom
    height = plate.shape[0]
    band = slice(int(height * 0.22), int(height * 0.5))
    last = remix[-1]
    assert text_edges(last[band]).sum() == 0
    assert float(np.abs(last[band] - plate[band]).mean()) < 1.0  # a 12 % zoom: ~3.6


def test_a_remix_shows_one_badge_and_one_caption(source: str, tmp_path: Path) -> None:
    """The remix's text is exactly what a first render with its prompt shows: nothing of the
    source's badge or caption is drawn again."""
    fields: dict[str, Any] = {"width": 640, "height": 360, "prompt": "Make it snow at night"}
    remix = text_edges(luma(render(tmp_path, source_video=source, **fields))[12])
    first = text_edges(luma(render(tmp_path, **fields))[12])
    assert first.sum() > 500
    differing = int((remix ^ first).sum())
    assert differing < 0.08 * first.sum(), differing
    rows = np.flatnonzero(first.any(axis=1))
    boxes = np.zeros_like(first)
    for lo, hi in _runs(rows):
        boxes[max(0, lo - 4) : hi + 5] = True
    assert int((remix & ~boxes).sum()) == 0  # no text anywhere else


def _runs(rows: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    """Runs of consecutive row numbers as (first, last)."""
    runs: list[tuple[int, int]] = []
    for row in rows.tolist():
        if runs and row <= runs[-1][1] + 12:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def test_an_edit_of_another_shape_fits_the_clean_source(source: str, tmp_path: Path) -> None:
    frames = luma(
        render(tmp_path, width=360, height=640, prompt="Vertical", source_video=source), 1
    )
    assert frames[0].shape == (640, 360)
    assert text_edges(frames[0]).sum() == 0


LONG_PROMPT = (
    "Pneumonoultramicroscopicsilicovolcanoconiosis"
    * 2
    + " then a long prompt about the sea, the waves, the ships, the gulls and the light of the"
    " lighthouse sweeping over the water in the dark while it rains" * 4
)


@pytest.mark.parametrize(("width", "height"), [(640, 360), (360, 640)])
def test_text_stays_inside_the_frame_and_above_the_controls(
    tmp_path: Path, width: int, height: int
) -> None:
    frame = luma(render(tmp_path, width=width, height=height, prompt=LONG_PROMPT), 13)[12]
    edges = text_edges(frame)
    side = max(2, int(width * 0.02))
    assert edges[:, :side].sum() == 0 and edges[:, -side:].sum() == 0  # nothing cut at an edge
    controls = edges[int(height * (1 - CONTROLS)) : height - 4]  # (the progress line is below)
    assert controls.sum() == 0
    assert edges[int(height * 0.4) : int(height * (1 - CONTROLS))].sum() > 500  # wrapped, shown


def _caption_height(path: str) -> int:
    """Height in pixels of a one-line caption's ink (outline included)."""
    frame = luma(path, 13)[12]
    height = frame.shape[0]
    edges = text_edges(frame)[int(height * 0.4) : int(height * (1 - CONTROLS))]
    rows = np.flatnonzero(edges.sum(axis=1) >= 3)
    assert rows.size, "no caption found"
    return int(rows[-1] - rows[0] + 1)


def test_a_portrait_caption_is_as_legible_as_a_landscape_one(tmp_path: Path) -> None:
    prompt = "Ship lights glowing"  # ascenders and descenders; one line in both shapes
    landscape = _caption_height(render(tmp_path, width=1280, height=720, prompt=prompt))
    portrait = _caption_height(render(tmp_path, width=720, height=1280, prompt=prompt))
    assert portrait >= landscape - 1  # the same share of the short side
    assert portrait * 270 / 720 >= 8  # a portrait player about 270 px wide: still ~8 px tall


def test_wrapping_keeps_every_character_and_marks_a_cut() -> None:
    font = _font(20)
    text = "Supercalifragilisticexpialidocious" * 3 + " a fox jumps over the lazy dog"
    lines = _wrap(text, font, 200.0, 10)
    assert all(font.getlength(line) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # split, never dropped
    cut = _wrap("word " * 200, font, 200.0, 3)
    assert len(cut) == 3 and cut[-1].endswith("…")
    assert all(font.getlength(line) <= 200 for line in cut)
    assert _wrap("   ", font, 200.0, 3) == []


def test_the_key_is_stable_and_the_second_render_is_cached(source: str, tmp_path: Path) -> None:
    spec = RenderSpec(width=320, height=180, seconds=1, prompt="Again", source_video=source)
    moved = RenderSpec(
        width=320,
        height=180,
        seconds=1,
        prompt="Again",
        source_video=f"/elsewhere/{Path(source).name}",
    )
    assert spec.key() == moved.key() == RenderSpec(**spec.__dict__).key()
    assert RENDER_VERSION >= 4  # pictures changed: earlier renders are not served
    first = render_clip(spec, str(tmp_path))
    again = render_clip(spec, str(tmp_path))
    assert not first.cached and again.cached and again.video == first.video
