"""The quickstart in a real JupyterLab 4 and Notebook 7, against the embedded emulator with no key:
Run All, the first video plays and seeks, and after save, kernel shutdown and reload its poster
and the /files/ fallback still show. Makes ``docs/quickstart.png`` for the README."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ._jupyter import JupyterServer, LabPage, write_notebook

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


@pytest.fixture(scope="module")
def jupyter_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quickstart-root")
    shutil.copytree(ROOT / "notebooks", root, dirs_exist_ok=True)
    return root


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


def test_quickstart_runs_all_and_plays_in_lab(lab: LabPage, jupyter_server: JupyterServer) -> None:
    lab.open("quickstart.ipynb")
    lab.run_all(timeout=150)
    page = lab.page

    # Five players: first, harbour, two takes, the remix; every one a real, playable video.
    page.locator(PLAYER).nth(4).wait_for(state="attached", timeout=30_000)
    assert page.locator(PLAYER).count() == 5
    wait_playable(page)
    # From the kernel (a blob), or, while Run All kept the kernel busy, from /files/.
    src = page.evaluate(f"() => {FIRST_VIDEO}.src")
    assert src.startswith("blob:") or "/files/sora_videos/video_" in src
    plays(page)
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
    assert lab.unexpected_errors() == []

    # Saved, no kernel, a fresh page: the poster comes from the saved state and the video
    # from Jupyter's /files/ handler, which still seeks.
    lab.save()
    lab.shutdown_kernel()
    lab.reload()
    page.locator(PLAYER).first.wait_for(state="attached", timeout=30_000)
    width, scheme = poster(page)
    assert scheme == "data" and 0 < width <= 320
    page.wait_for_function(
        f"() => {FIRST_VIDEO}.src.includes('/files/sora_videos/')", timeout=20_000
    )
    wait_playable(page)
    assert abs(seek(page, 3.0) - 3.0) < 0.1
    assert page.locator(PLAYER).count() == 5
    assert lab.dialogs == []
    assert lab.unexpected_errors() == []


def test_quickstart_first_video_plays_in_notebook_7(
    lab: LabPage, jupyter_server: JupyterServer
) -> None:
    quickstart = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    first = next(c.source for c in quickstart.cells if "--as first" in c.source)
    write_notebook(jupyter_server.root / "first-nb7.ipynb", ["%load_ext sora_widgets", first])
    lab.open("first-nb7.ipynb", ui="notebook")
    lab.run_all(timeout=60)
    page = lab.page
    assert "/notebooks/first-nb7.ipynb" in page.url  # Notebook 7, not Lab
    wait_playable(page)
    plays(page)
    assert abs(seek(page, 2.0) - 2.0) < 0.1
    assert "lighthouse" in page.locator(".sora-player-title").text_content()
    assert lab.dialogs == []
    assert lab.unexpected_errors() == []
