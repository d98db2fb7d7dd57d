"""The storyboard player in a real JupyterLab 4 and Notebook 7, against the embedded emulator with
no key: ``%%sora --storyboard --wait`` makes three shots (2 s, 3 s, 2 s) and shows the joined
video with a strip of one thumbnail button a shot. The video plays and lasts the sum of the
shots; the three buttons sit in a row under it, each with its shot's thumbnail and title; a
click on shot 2 or 3 puts the video on that shot's chapter (as written in the MP4) within one
frame, shows that shot from its start (the first frame shown is at most `SHOWN_WITHIN` in) and
plays on. Saved, the kernel shut down and the page reloaded, the video plays again from /files/
and the strip still jumps; nothing goes wrong in the console and no dialog opens. Lab runs the
board at the server's root, Notebook 7 in a subfolder; in Lab, a second view of the output
("Create New View for Cell Output") has a strip that drives its own video, not the notebook's."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import pytest

from ._jupyter import JupyterServer, LabPage, write_notebook
from .test_quickstart_browser import kit_env

# one worker for both tests (one server, one Chromium): the conftest's collection hook adds this
# mark too late for xdist's loadgroup to see it
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
FRAME = 1 / 24
SLACK = 0.005
"""Rounding between the chapter in milliseconds, the button's ``data-start`` and the decoder."""
SHOWN_WITHIN = 0.25
"""How far into the shot its first shown frame may be: the click also starts playback, and on a
busy machine the compositor may present its first frame a few frames later (one CI run: 3 frames).
A stale picture, or a seek to a keyframe in the shot before, is still caught."""
SHOTS = [2, 3, 2]
"""Each shot's length in seconds: the second sets its own with a ``seconds: 3`` line."""
STARTS = [0.0, 2.0, 5.0]
TITLES = ["1. A fox wakes in its den", "2. The fox trots out", "3. The fox leaps over a log"]
BOARD = (
    "%%sora --storyboard -m dashscope/wan3.0-video -s 854x480 -t 2 --wait --as scene\n"
    "A fox wakes in its den\n---\nseconds: 3\nThe fox trots out into the snow\n---\n"
    "The fox leaps over a log\n"
)
CELLS = ["%load_ext sora_widgets", BOARD]
NOTEBOOK = ".jp-Notebook .sora-board-player"
VIEW = ".jp-LinkedOutputView .sora-board-player"
"""The player in Lab's "Create New View for Cell Output" panel."""


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # the kernels import this checkout, whatever else is installed
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**kit_env(tmp_path_factory.mktemp("sora-home")), "PYTHONPATH": path}


def video(player: str) -> str:
    """JavaScript for the video of the player ``player`` (a CSS selector)."""
    return f"document.querySelector('{player} video')"


def file_chapters(path: Path) -> list[float]:
    """The chapter starts written in the joined MP4 (what any player's chapter menu shows)."""
    with av.open(str(path)) as container:
        return [float(c["start"] * (c["time_base"] or 1)) for c in container.chapters()]


def settled(page: Any, player: str) -> None:
    """Wait until the player's video is not seeking and shows its frame."""
    page.wait_for_function(
        f"() => {{ const v = {video(player)}; return !!v && !v.seeking && v.readyState >= 2; }}",
        timeout=15_000,
    )


def the_strip(page: Any, player: str) -> Any:
    """The strip under the joined video: three buttons in a row, in shot order, each with its
    shot's thumbnail (a decoded image) and title, none overlapping another or the video.
    Returns the buttons."""
    buttons = page.locator(player).locator(".sora-board-strip .sora-board-shot")
    assert buttons.count() == len(SHOTS)
    for index in range(len(SHOTS)):
        image = buttons.nth(index).locator("img")
        image.wait_for(state="visible", timeout=10_000)
        assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
        assert image.evaluate("img => img.getBoundingClientRect().width") > 60
    titles = [t.strip() for t in buttons.all_inner_texts()]
    assert all(t.startswith(s) for t, s in zip(titles, TITLES, strict=True)), titles
    clip = page.locator(player).locator("video").bounding_box()
    boxes = [buttons.nth(i).bounding_box() for i in range(len(SHOTS))]
    assert all(box["width"] > 60 and box["height"] > 40 for box in boxes), boxes
    assert all(box["y"] >= clip["y"] + clip["height"] - 1 for box in boxes), (clip, boxes)
    assert len({round(box["y"]) for box in boxes}) == 1, boxes  # one row
    for left, right in itertools.pairwise(boxes):
        assert left["x"] + left["width"] <= right["x"], boxes  # side by side
    return buttons


def jump(page: Any, player: str, index: int, start: float) -> tuple[float, float]:
    """Click shot ``index``'s button with the video paused; returns where it landed (its
    currentTime as the seek starts: not yet moved on by the playback the click also starts) and
    the media time of the first frame shown after the click, once it plays on from there (then
    pauses it)."""
    clip = video(player)
    page.evaluate(f"() => {clip}.pause()")
    settled(page, player)
    page.evaluate(
        f"""() => {{
            const v = {clip};
            const seen = window.__soraJump = {{landed: null, frame: null}};
            v.addEventListener('seeking', () => {{ seen.landed = v.currentTime; }}, {{once: true}});
            v.requestVideoFrameCallback((now, meta) => {{ seen.frame = meta.mediaTime; }});
        }}"""
    )
    page.locator(player).locator(".sora-board-shot").nth(index).click()
    page.wait_for_function(
        "() => window.__soraJump.landed !== null && window.__soraJump.frame !== null",
        timeout=15_000,
    )
    landed, frame = page.evaluate("() => [window.__soraJump.landed, window.__soraJump.frame]")
    page.wait_for_function(
        f"(start) => {{ const v = {clip}; return !v.paused && v.currentTime > start + 0.3; }}",
        arg=start,
        timeout=15_000,
    )
    page.evaluate(f"() => {clip}.pause()")
    return float(landed), float(frame)


MEASURED: list[str] = []
"""Where each click landed, printed at the end of the run."""


def jumps_to(page: Any, player: str, index: int, start: float) -> None:
    landed, frame = jump(page, player, index, start)
    MEASURED.append(f"shot {index + 1} at {start:.3f}: landed {landed:.4f}, frame {frame:.4f}")
    assert abs(landed - start) <= FRAME + SLACK, (index, landed, start)
    assert -SLACK <= frame - start <= SHOWN_WITHIN, (index, frame, start)


def board_plays_and_jumps(lab: LabPage, folder: Path) -> None:
    """One joined video, served from the notebook's folder, that plays and lasts the sum of the
    shots; its strip's buttons start at the file's chapters and jump to shots 2 and 3."""
    page = lab.page
    page.locator(f"{NOTEBOOK} video").wait_for(state="attached", timeout=30_000)
    assert page.locator(NOTEBOOK).count() == 1
    src = page.evaluate(f"() => {video(NOTEBOOK)}.src")
    prefix = f"{folder.as_posix()}/" if folder.parts else ""
    assert f"/files/{prefix}sora_videos/storyboard-" in src, src
    settled(page, NOTEBOOK)
    duration = page.evaluate(f"() => {video(NOTEBOOK)}.duration")
    assert abs(duration - sum(SHOTS)) <= 0.1, duration
    name = urlsplit(src).path.rsplit("/", 1)[-1]
    starts = file_chapters(lab.server.root / folder / "sora_videos" / name)
    assert starts == pytest.approx(STARTS, abs=0.001), starts
    buttons = the_strip(page, NOTEBOOK)
    shown = [float(buttons.nth(i).get_attribute("data-start")) for i in range(len(SHOTS))]
    assert shown == pytest.approx(starts, abs=0.001), shown
    for index in (1, 2):
        jumps_to(page, NOTEBOOK, index, starts[index])


def nothing_went_wrong(lab: LabPage) -> None:
    text = lab.page.locator(".jp-Notebook").inner_text()
    assert "Error" not in text and "Traceback" not in text
    assert lab.unexpected_errors() == []
    assert lab.dialogs == []


def run_save_and_reload(lab: LabPage, server: JupyterServer, folder: Path, ui: str) -> None:
    """Run the board, check it; save, shut the kernel down, reload, check it again."""
    path = (folder / "board.ipynb").as_posix()
    write_notebook(server.root / path, CELLS)
    lab.open(path, ui=ui)
    lab.run_all(timeout=120)
    board_plays_and_jumps(lab, folder)
    nothing_went_wrong(lab)
    lab.save()
    lab.shutdown_kernel()
    lab.reload()
    board_plays_and_jumps(lab, folder)
    nothing_went_wrong(lab)


def test_the_storyboard_strip_jumps_to_each_shot_in_lab(
    lab: LabPage, jupyter_server: JupyterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    MEASURED.clear()
    run_save_and_reload(lab, jupyter_server, Path(), "lab")
    page = lab.page
    assert "/lab" in page.url and "/notebooks/" not in page.url

    # A second view of the board's output (its cell's context menu): the same card, the same
    # ids, on the page twice. Its strip moves its own video; the notebook's stays put.
    page.locator(".jp-Notebook .sora-board b").first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Create New View for Cell Output").click()
    page.locator(f"{VIEW} video").wait_for(state="visible", timeout=15_000)
    settled(page, VIEW)
    the_strip(page, VIEW)
    page.evaluate(f"() => {{ {video(NOTEBOOK)}.currentTime = 1; }}")
    settled(page, NOTEBOOK)
    jumps_to(page, VIEW, 2, STARTS[2])
    still = page.evaluate(f"() => [{video(NOTEBOOK)}.currentTime, {video(NOTEBOOK)}.paused]")
    assert still == [1, True], still
    view_at = page.evaluate(f"() => {video(VIEW)}.currentTime")
    jumps_to(page, NOTEBOOK, 1, STARTS[1])  # and the notebook's strip moves only its own
    assert page.evaluate(f"() => {video(VIEW)}.currentTime") == view_at
    nothing_went_wrong(lab)
    with capsys.disabled():
        print(f"\nstoryboard strip in Lab (run, reloaded, second view): {'; '.join(MEASURED)}")


def test_the_storyboard_strip_jumps_to_each_shot_in_notebook_7(
    lab: LabPage, jupyter_server: JupyterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    MEASURED.clear()
    run_save_and_reload(lab, jupyter_server, Path("scenes"), "notebook")
    assert "/notebooks/scenes/board.ipynb" in lab.page.url
    with capsys.disabled():
        print(f"\nstoryboard strip in Notebook 7 (run, reloaded): {'; '.join(MEASURED)}")
