"""VideoPlayer in a real JupyterLab: plays, seeks, scrubs, keeps hostile text as text, and still
shows its poster and video from a saved notebook once the kernel is gone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import JupyterServer, LabPage

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"

NOTEBOOK_CELLS = [
    """\
import sora_widgets.player as player_module
from sora_widgets.emulator._render import RenderSpec, render_clip
from sora_widgets.player import VideoPlayer

player_module.CHUNK_SIZE = 40_000  # several chunks per file, so the view must reassemble them
clip = render_clip(RenderSpec(width=640, height=360, seconds=4, prompt="A calico cat at a piano"), "clips")
""",
    f"""\
VideoPlayer(
    clip.video,
    thumbnail=clip.thumbnail,
    spritesheet=clip.spritesheet,
    title="A calico cat at a piano",
    caption="sora-2 · 640x360 · 4 s · {HOSTILE}",
    fallback_after=3.0,
)
""",
]

VIDEO = ".sora-player video"


def wait_playable(lab: LabPage, timeout: float = 30.0) -> None:
    lab.page.wait_for_function(
        f"() => {{ const v = document.querySelector({VIDEO!r}); return !!v && v.readyState >= 2; }}",
        timeout=timeout * 1000,
    )


def poster_loads(lab: LabPage) -> Any:
    """The poster's natural size, once the image decodes."""
    return lab.page.evaluate(
        f"""async () => {{
            const v = document.querySelector({VIDEO!r});
            if (!v.poster) return null;
            const img = new Image();
            img.src = v.poster;
            await img.decode();
            return [img.naturalWidth, img.naturalHeight, v.poster.slice(0, 5)];
        }}"""
    )


def seek_sticks(lab: LabPage, to: float) -> float:
    return float(
        lab.page.evaluate(
            f"""async (to) => {{
                const v = document.querySelector({VIDEO!r});
                v.pause();
                const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, {{once: true}}));
                v.currentTime = to;
                await seeked;
                await new Promise((resolve) => setTimeout(resolve, 200));
                return v.currentTime;
            }}""",
            to,
        )
    )


def test_player_plays_in_lab_and_survives_the_kernel(
    lab: LabPage, jupyter_server: JupyterServer, write_notebook: Callable[..., Path]
) -> None:
    notebook = write_notebook(jupyter_server.root / "lessons" / "player.ipynb", NOTEBOOK_CELLS)
    lab.open("lessons/player.ipynb")
    lab.run_all()
    page = lab.page

    wait_playable(lab)
    assert page.evaluate(f"() => document.querySelector({VIDEO!r}).src").startswith("blob:")
    # the length shows as soon as the video's header is read (the controls alone said 0:00)
    assert page.locator(".sora-player .sora-player-length").text_content() == "length 0:04"
    width, height, scheme = poster_loads(lab)
    assert (width, height) == (640, 360) and scheme == "blob:"

    # Plays: currentTime moves.
    page.evaluate(f"() => document.querySelector({VIDEO!r}).play()")
    page.wait_for_function(
        f"() => document.querySelector({VIDEO!r}).currentTime > 0.3", timeout=15_000
    )
    # Seeks: the new time sticks.
    assert abs(seek_sticks(lab, 2.5) - 2.5) < 0.1

    # Download link: the video's blob, under the file's own name.
    link = page.locator(".sora-player a.sora-player-download")
    clip_name = page.evaluate(
        f"() => document.querySelector({VIDEO!r}).closest('.sora-player')"
        ".querySelector('a').download"
    )
    assert clip_name.endswith(".mp4") and len(clip_name) == 44
    assert link.get_attribute("href").startswith("blob:")
    assert link.get_attribute("download") == clip_name

    # Hostile caption text is shown as text and runs nothing.
    caption = page.locator(".sora-player .sora-player-caption")
    assert caption.text_content() == f"sora-2 · 640x360 · 4 s · {HOSTILE}"
    assert page.locator(".sora-player img").count() == 0
    assert lab.dialogs == []

    # Hovering the video shows the matching spritesheet tile (10 tiles across the width).
    box = page.locator(VIDEO).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    tooltip = page.locator(".sora-player .sora-player-sprite")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert tooltip.get_attribute("data-index") == "7"
    assert "blob:" in page.evaluate(
        "() => getComputedStyle(document.querySelector('.sora-player-sprite-tile')).backgroundImage"
    )
    page.mouse.move(0, 0)
    tooltip.wait_for(state="hidden", timeout=5_000)
    page.screenshot(path=str(jupyter_server.root / "player.png"))

    assert lab.unexpected_errors() == []

    # Saved with widget state: small, with the poster, without the video.
    lab.save()
    saved = json.loads(notebook.read_text())
    states = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    players = [s["state"] for s in states.values() if s["state"].get("video_name")]
    assert len(players) == 1
    assert players[0]["poster_data"].startswith("data:image/")
    assert players[0]["fallback_src"].startswith("clips/")
    assert notebook.stat().st_size < 100_000

    # No kernel: the saved state still gives the poster, and the video plays from /files/ at the
    # notebook's own folder, known from the page's document, never guessed from the address
    # (JupyterLab moves the address to a folder with its file browser).
    lab.shutdown_kernel()
    lab.reload()
    page.locator(VIDEO).wait_for(state="attached", timeout=30_000)
    width, height, scheme = poster_loads(lab)
    assert scheme == "data:" and width <= 320 and width > 0
    page.wait_for_function(
        f"() => document.querySelector({VIDEO!r}).src.includes('/files/lessons/clips/')",
        timeout=15_000,
    )
    assert page.evaluate(f"() => document.querySelector({VIDEO!r}).dataset.fallbackFrom") in (
        "kernel",
        "notebook",
    )
    wait_playable(lab)
    assert abs(seek_sticks(lab, 3.0) - 3.0) < 0.1  # /files/ answers Range requests
    assert page.locator(".sora-player .sora-player-caption").text_content().endswith(HOSTILE)
    assert lab.dialogs == []
    assert lab.unexpected_errors() == []
