"""The quickstart in a real JupyterLab 4 and Notebook 7, against the embedded emulator with no key,
in a subfolder as in the repository: Run All, every video plays and seeks; then saved, its kernel
shut down and the page reloaded, every video still shows its poster and plays through the server's
/files/ handler at the notebook's own folder, with no "model not found" or other error from the
kit on the page or in the console: in Lab without widget state (its default), in Notebook 7 with
it. Makes ``docs/quickstart.png`` and ``docs/reopened.png`` for the README."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ._jupyter import JupyterServer, LabPage, start_jupyter_server, write_notebook

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PLAYER = ".jp-Notebook .sora-player"
FIRST_VIDEO = f"document.querySelector('{PLAYER} video')"


def kit_env(home: Path) -> dict[str, str]:
    """The kernels' environment: no key or gateway (the embedded emulator), a private ledger and
    1-second jobs."""
    env = {name: "" for name in ("SORA_API_KEY", "OPENAI_API_KEY", "SORA_BASE_URL",
                                 "OPENAI_BASE_URL", "SORA_PROFILE", "SORA_MAX_SPEND",
                                 "SORA_OUTPUT_DIR")}  # fmt: skip
    return {**env, "SORA_WIDGETS_HOME": str(home), "SORA_EMULATOR_JOB_SECONDS": "1"}


NO_WIDGET_STATE = {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": False}}
"""JupyterLab's own default: widget state is not saved with the notebook."""


@pytest.fixture(scope="module")
def jupyter_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quickstart-root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


@pytest.fixture(scope="module")
def jupyter_server(
    jupyter_root: Path, jupyter_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    home = tmp_path_factory.mktemp("jupyter-home")
    server = start_jupyter_server(jupyter_root, home, env=jupyter_env, settings=NO_WIDGET_STATE)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return kit_env(tmp_path_factory.mktemp("sora-home"))


def wait_playable(page: Any, video: str = FIRST_VIDEO, timeout: float = 30.0) -> None:
    page.wait_for_function(
        f"() => {{ const v = {video}; return !!v && v.readyState >= 2; }}", timeout=timeout * 1000
    )


def plays(page: Any, video: str = FIRST_VIDEO) -> None:
    """play() makes currentTime advance."""
    page.evaluate(f"() => {{ const v = {video}; v.muted = true; return v.play(); }}")
    page.wait_for_function(f"() => {video}.currentTime > 0.3", timeout=15_000)


def seek(page: Any, to: float, video: str = FIRST_VIDEO) -> float:
    """Pause, seek to ``to`` seconds and return where the video settled."""
    return float(
        page.evaluate(
            f"""async (to) => {{
                const v = {video};
                v.pause();
                const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, {{once: true}}));
                v.currentTime = to;
                await seeked;
                await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
                return v.currentTime;
            }}""",
            to,
        )
    )


def poster(page: Any) -> tuple[int, str]:
    """The first video's poster: its decoded width and URL scheme."""
    width, scheme = page.evaluate(
        f"""async () => {{
            const v = {FIRST_VIDEO};
            if (!v.poster) return [0, ''];
            const img = new Image();
            img.src = v.poster;
            await img.decode();
            return [img.naturalWidth, v.poster.split(':')[0]];
        }}"""
    )
    return int(width), str(scheme)


VIDEOS = f"{PLAYER} video"


def every_video_plays(page: Any, count: int, folder: str) -> None:
    """``count`` videos, each with a poster, served from ``folder``; each reaches readyState 2,
    plays (its time moves) and knows its length."""
    page.locator(VIDEOS).nth(count - 1).wait_for(state="attached", timeout=30_000)
    assert page.locator(VIDEOS).count() == count
    for index in range(count):
        video = f"document.querySelectorAll('{VIDEOS}')[{index}]"
        src = page.evaluate(f"() => {video}.src")
        assert f"/files/{folder}sora_videos/" in src, src
        assert page.evaluate(f"() => {video}.poster.startsWith('data:image/')")
        wait_playable(page, video)
        plays(page, video)
        page.evaluate(f"() => {video}.pause()")
        assert 3.5 < page.evaluate(f"() => {video}.duration") < 8.5  # not 0:00


def no_kit_errors(lab: LabPage) -> None:
    text = lab.page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in text and "Error displaying widget" not in text
    assert lab.unexpected_errors() == []
    assert lab.dialogs == []


def test_quickstart_runs_all_plays_and_plays_again_reopened_in_lab(
    lab: LabPage, jupyter_server: JupyterServer
) -> None:
    lab.open("notebooks/quickstart.ipynb")
    lab.run_all(timeout=150)
    page = lab.page

    # Five players: first, harbour, two takes, the remix; every one a real, playable video.
    every_video_plays(page, 5, "notebooks/")
    assert abs(seek(page, 2.5) - 2.5) < 0.1
    first = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="--as first")
    assert "lighthouse" in first.locator(".sora-player-title").text_content()
    assert (
        "sora-2 · 1280x720 · 4 s · video_" in first.locator(".sora-player-caption").text_content()
    )

    # The README's picture: the first cell and its player, paused on a frame mid-clip.
    seek(page, 1.5)
    first.scroll_into_view_if_needed()
    first.screenshot(path=str(DOCS / "quickstart.png"))
    assert (DOCS / "quickstart.png").stat().st_size < 400_000

    # The reference preview (an image of the fitted crop) and the dry run's cost line show.
    harbour = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="--as harbour")
    assert harbour.locator(".jp-OutputArea img").first.evaluate("img => img.naturalWidth") > 0
    dry_run = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="--dry-run")
    assert "nothing was sent" in dry_run.locator(".jp-OutputArea").text_content()
    no_kit_errors(lab)

    # Saved (without widget state, Lab's default), no kernel, a fresh page.
    lab.save()
    saved = nbformat.read(jupyter_server.root / "notebooks" / "quickstart.ipynb", as_version=4)
    assert "widgets" not in saved.metadata
    lab.shutdown_kernel()
    lab.reload()
    every_video_plays(page, 5, "notebooks/")
    width, scheme = poster(page)
    assert scheme == "data" and 0 < width <= 320
    assert abs(seek(page, 3.0) - 3.0) < 0.1  # /files/ answers Range requests
    no_kit_errors(lab)
    first = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="--as first")
    first.scroll_into_view_if_needed()
    first.screenshot(path=str(DOCS / "reopened.png"))


def test_a_lesson_plays_and_plays_again_reopened_in_notebook_7(
    lab: LabPage, jupyter_server: JupyterServer
) -> None:
    # this user keeps widget state: the reopened notebook must read the same
    jupyter_server.api(
        "PUT",
        "/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin",
        {"raw": '{"saveState": true}'},
    )
    quickstart = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    first = next(c.source for c in quickstart.cells if "--as first" in c.source)
    write_notebook(
        jupyter_server.root / "lessons" / "day1.ipynb", ["%load_ext sora_widgets", first]
    )
    lab.open("lessons/day1.ipynb", ui="notebook")
    lab.run_all(timeout=60)
    page = lab.page
    assert "/notebooks/lessons/day1.ipynb" in page.url  # Notebook 7, not Lab
    every_video_plays(page, 1, "lessons/")
    assert abs(seek(page, 2.0) - 2.0) < 0.1
    assert "lighthouse" in page.locator(".sora-player-title").text_content()
    lab.save()
    lab.shutdown_kernel()
    lab.reload()
    every_video_plays(page, 1, "lessons/")
    no_kit_errors(lab)
