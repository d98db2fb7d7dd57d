"""Issue 17, points 1 and 2, in a real JupyterLab 4 and Notebook 7 that do NOT save widget state
(JupyterLab's default): the quickstart, in a subfolder as in the repository, is run, saved, its
kernel shut down and the page reloaded; every video shows its poster and plays through the
server's /files/ handler at the notebook's own folder, with no "model not found" or other error
from the kit on the page or in the console. Makes ``docs/reopened.png`` for the README."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ._jupyter import JupyterServer, LabPage, lab_page, start_jupyter_server, write_notebook
from .test_quickstart_browser import kit_env

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
VIDEOS = ".jp-Notebook .sora-player video"
NO_WIDGET_STATE = {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": False}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("reopen-root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    home = tmp_path_factory.mktemp("reopen-home")
    env = kit_env(tmp_path_factory.mktemp("reopen-sora-home"))
    started = start_jupyter_server(root, home, env=env, settings=NO_WIDGET_STATE)
    try:
        yield started
    finally:
        started.stop()


def every_video_plays(page: Any, count: int, folder: str) -> None:
    """``count`` videos, each with a poster, served from ``folder``; each reaches readyState 2
    and plays (its time moves)."""
    page.locator(VIDEOS).nth(count - 1).wait_for(state="attached", timeout=30_000)
    assert page.locator(VIDEOS).count() == count
    for index in range(count):
        video = f"document.querySelectorAll('{VIDEOS}')[{index}]"
        src = page.evaluate(f"() => {video}.src")
        assert f"/files/{folder}sora_videos/" in src, src
        assert page.evaluate(f"() => {video}.poster.startsWith('data:image/')")
        page.wait_for_function(f"() => {video}.readyState >= 2", timeout=30_000)
        page.evaluate(f"() => {{ const v = {video}; v.muted = true; return v.play(); }}")
        page.wait_for_function(f"() => {video}.currentTime > 0.3", timeout=15_000)
        page.evaluate(f"() => {video}.pause()")
        duration = page.evaluate(f"() => {video}.duration")
        assert 3.5 < duration < 8.5  # the controls show the length, not 0:00


def no_kit_errors(lab: LabPage) -> None:
    text = lab.page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in text and "Error displaying widget" not in text
    assert lab.unexpected_errors() == []
    assert lab.dialogs == []


def test_a_saved_quickstart_reopened_without_widget_state_plays_in_lab(
    chromium: Any, server: JupyterServer
) -> None:
    with lab_page(chromium, server) as lab:
        lab.open("notebooks/quickstart.ipynb")
        lab.run_all(timeout=150)
        every_video_plays(lab.page, 5, "notebooks/")
        no_kit_errors(lab)
        lab.save()
        lab.shutdown_kernel()
        lab.reload()
        saved = nbformat.read(server.root / "notebooks" / "quickstart.ipynb", as_version=4)
        assert "widgets" not in saved.metadata  # no widget state was saved
        every_video_plays(lab.page, 5, "notebooks/")
        no_kit_errors(lab)
        first = lab.page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="--as first")
        first.scroll_into_view_if_needed()
        first.screenshot(path=str(DOCS / "reopened.png"))


def test_a_saved_notebook_reopened_without_widget_state_plays_in_notebook_7(
    chromium: Any, server: JupyterServer
) -> None:
    quickstart = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    first = next(c.source for c in quickstart.cells if "--as first" in c.source)
    write_notebook(server.root / "lessons" / "day1.ipynb", ["%load_ext sora_widgets", first])
    with lab_page(chromium, server) as lab:
        lab.open("lessons/day1.ipynb", ui="notebook")
        lab.run_all(timeout=60)
        assert "/notebooks/lessons/day1.ipynb" in lab.page.url  # Notebook 7, not Lab
        every_video_plays(lab.page, 1, "lessons/")
        lab.save()
        lab.shutdown_kernel()
        lab.reload()
        every_video_plays(lab.page, 1, "lessons/")
        no_kit_errors(lab)
