"""SoraPanel in a real JupyterLab 4 against the embedded emulator: type a prompt, upload a reference,
see its preview, Submit, watch the card become a player; the saved notebook still shows it with no
kernel; hostile prompts stay text. Makes ``docs/panel.png`` for the README."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from ._jupyter import JupyterServer, LabPage, write_notebook
from .test_quickstart_browser import kit_env, plays, seek, wait_playable

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PANEL = ".jp-Notebook .sora-panel"
CARD_VIDEO = f"document.querySelector('{PANEL} .sora-job-card .sora-player video')"
PROMPT = (
    "A paper boat drifting down a rain-soaked street at dusk, low tracking shot, neon reflections"
)
HOSTILE = """<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"""


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return kit_env(tmp_path_factory.mktemp("sora-home"))


def picture(path: Path) -> Path:
    """A 1600x1000 picture (sky, sea, a sail) to upload as the reference."""
    image = Image.new("RGB", (1600, 1000), (250, 196, 120))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 620, 1600, 1000), fill=(40, 90, 150))
    draw.ellipse((1100, 180, 1300, 380), fill=(255, 236, 170))
    draw.polygon([(700, 600), (800, 300), (860, 600)], fill=(245, 245, 240))
    draw.rectangle((640, 600, 900, 640), fill=(120, 60, 30))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def preview_shown(page: Any) -> Any:
    """The reference preview's natural size once it shows an image."""
    page.wait_for_function(
        f"""() => {{
            const img = document.querySelector('{PANEL} img.sora-reference-preview');
            return !!img && img.style.display !== 'none' && img.complete && img.naturalWidth > 0;
        }}""",
        timeout=30_000,
    )
    return page.evaluate(
        f"() => {{ const i = document.querySelector('{PANEL} img.sora-reference-preview');"
        " return [i.naturalWidth, i.naturalHeight]; }"
    )


def test_panel_prompt_upload_submit_and_play(lab: LabPage, jupyter_server: JupyterServer) -> None:
    root = jupyter_server.root
    write_notebook(
        root / "panel-demo.ipynb",
        ["from sora_widgets import SoraPanel\n\nSoraPanel(size='1280x720', seconds=4)"],
    )
    upload = picture(root / "sunset-sail.jpg")
    lab.open("panel-demo.ipynb")
    lab.run_all()
    page = lab.page
    panel = page.locator(PANEL)
    panel.wait_for(timeout=30_000)
    submit = panel.locator("button", has_text="Submit")

    # Empty prompt: Submit is disabled and says why.
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').textContent.includes('prompt is empty')",
        timeout=15_000,
    )
    assert submit.is_disabled()

    panel.locator("textarea").fill(PROMPT)
    # The FileUpload's <input type=file> is not in the DOM: choose the file as a user would.
    with page.expect_file_chooser() as chooser:
        panel.locator("button", has_text="Reference image").click()
    chooser.value.set_files(str(upload))
    width, height = preview_shown(page)
    assert width > 0 and height > 0
    # the caption comes with the preview (a separate widget update: wait for it, as a user would)
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').textContent"
        ".includes('sunset-sail.jpg 1600×1000 → sent as 1280×720 (cover)')",
        timeout=15_000,
    )
    page.wait_for_function(
        f"() => !document.querySelector('{PANEL}').textContent.includes('prompt is empty')",
        timeout=15_000,
    )
    assert "Estimated cost: $0.40 simulated" in panel.text_content()

    submit.click()
    card = panel.locator(".sora-job-card").first
    card.wait_for(timeout=15_000)
    assert PROMPT in card.text_content()
    card.locator(".sora-player video").wait_for(state="attached", timeout=60_000)
    wait_playable(page, CARD_VIDEO)
    plays(page, CARD_VIDEO)
    assert abs(seek(page, 2.0, CARD_VIDEO) - 2.0) < 0.1
    # the card turned into its player: the prompt once (the player's title), no finished
    # status card above it, one download link (the player's), the upload button names the file
    assert card.locator(".sora-player-title").text_content() == PROMPT
    assert (card.text_content() or "").count(PROMPT) == 1
    assert card.locator(".sora-card-status").count() == 0 and "100%" not in card.text_content()
    assert card.locator("a[download]:visible").count() == 1
    assert card.locator("button:visible", has_text="Download").count() == 0
    assert (
        page.evaluate(
            f"""() => getComputedStyle(document.querySelector('{PANEL} .widget-upload'), '::after')
            .content"""
        )
        == '"Reference: sunset-sail.jpg"'
    )
    assert "submitted 1 job, estimated $0.40 simulated" in panel.text_content()
    assert not card.locator("button", has_text="Remix").is_disabled()

    # Every visible control has an accessible name (a label, aria-label, title or text).
    unnamed = panel.evaluate(
        """el => [...el.querySelectorAll('input, select, textarea, button')]
            .filter(c => c.offsetParent !== null && c.type !== 'hidden')
            .filter(c => !(
                (c.labels && [...c.labels].some(l => l.textContent.trim()))
                || (c.getAttribute('aria-label') || '').trim()
                || (c.getAttribute('title') || '').trim()
                || c.textContent.trim()))
            .map(c => c.outerHTML.slice(0, 160))"""
    )
    assert unnamed == []

    # It fits a narrow JupyterLab side panel: at 380 px nothing sticks out sideways.
    sticking_out = panel.evaluate(
        """el => { el.style.width = '380px'; const r = el.getBoundingClientRect().right;
                   const out = [...el.querySelectorAll('*')]
                     .filter(c => c.getBoundingClientRect().right > r + 2)
                     .map(c => c.className + ' +' + Math.round(c.getBoundingClientRect().right - r));
                   el.style.width = ''; return out.slice(0, 12); }"""
    )
    assert sticking_out == []

    # The README's picture: the whole panel down to its finished card (not the gallery below),
    # in a window tall enough to hold it.
    seek(page, 1.5, CARD_VIDEO)
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1100, "height": 2400})
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    top, bottom = panel.bounding_box(), card.bounding_box()
    assert top is not None and bottom is not None
    assert bottom["y"] + bottom["height"] <= 2400
    clip = {
        "x": top["x"],
        "y": top["y"],
        "width": top["width"],
        "height": bottom["y"] + bottom["height"] - top["y"] + 8,
    }
    page.screenshot(path=str(DOCS / "panel.png"), clip=clip)
    assert (DOCS / "panel.png").stat().st_size < 400_000
    assert lab.unexpected_errors() == []

    # Saved, no kernel, a fresh page: the card's player keeps its poster and plays from /files/.
    lab.save()
    lab.shutdown_kernel()
    lab.reload()
    page.locator(f"{PANEL} .sora-job-card .sora-player video").wait_for(
        state="attached", timeout=30_000
    )
    poster = page.evaluate(f"() => {CARD_VIDEO}.poster")
    assert poster.startswith("data:image/")
    page.wait_for_function(
        f"() => {CARD_VIDEO}.src.includes('/files/sora_videos/')", timeout=20_000
    )
    wait_playable(page, CARD_VIDEO)
    assert page.locator(f"{PANEL} textarea").input_value() == PROMPT
    assert lab.dialogs == []
    assert lab.unexpected_errors() == []


def test_hostile_prompts_show_as_text_and_run_nothing(
    lab: LabPage, jupyter_server: JupyterServer
) -> None:
    write_notebook(
        jupyter_server.root / "hostile.ipynb",
        [
            "%load_ext sora_widgets",
            f"%%sora -s 1280x720 -t 4 --wait\n{HOSTILE}",
            "from sora_widgets import SoraPanel\n\n"
            f"panel = SoraPanel(prompt={HOSTILE!r}, size='1280x720', seconds=4)\n"
            "panel.submit()[0].job.wait()\n"
            "panel",
        ],
    )
    lab.open("hostile.ipynb")
    lab.run_all(timeout=60)
    page = lab.page
    players = page.locator(".jp-Notebook .sora-player")
    players.nth(1).wait_for(state="attached", timeout=30_000)

    # The %%sora cell's player and the panel's card show the prompt as characters.
    for index in range(2):
        assert players.nth(index).locator(".sora-player-title").text_content() == HOSTILE
    card = page.locator(f"{PANEL} .sora-job-card").first
    assert HOSTILE in card.text_content()
    assert page.locator(f"{PANEL} textarea").input_value() == HOSTILE

    # Nothing ran: no flag, no dialog, no injected element in any output.
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.locator(".jp-OutputArea img[src='x']").count() == 0
    scripts = page.evaluate(
        "() => [...document.querySelectorAll('.jp-OutputArea script')]"
        ".filter(s => s.textContent.includes('__pwned')).length"
    )
    assert scripts == 0
    assert lab.dialogs == []
    assert lab.unexpected_errors() == []


def test_panel_in_a_layout_and_a_dry_run(lab: LabPage, jupyter_server: JupyterServer) -> None:
    write_notebook(
        jupyter_server.root / "panel-layout.ipynb",
        [
            "import ipywidgets as w\nfrom sora_widgets import SoraPanel\n\n"
            "panel = SoraPanel(prompt='a kite over a beach', size='1280x720', seconds=4)\n"
            "w.HBox([panel, w.HTML('<b class=\"beside\">beside the panel</b>')])"
        ],
    )
    lab.open("panel-layout.ipynb")
    lab.run_all()
    page = lab.page
    nested = page.locator(f".jp-Notebook .widget-hbox > {PANEL.split()[-1]}")
    nested.wait_for(timeout=30_000)
    beside = page.locator(".jp-Notebook .widget-hbox .beside")
    beside.wait_for(timeout=10_000)
    panel_box, beside_box = nested.bounding_box(), beside.bounding_box()
    assert panel_box is not None and beside_box is not None
    assert beside_box["x"] >= panel_box["x"] + panel_box["width"] - 1  # side by side
    assert nested.locator("textarea").input_value() == "a kite over a beach"

    # Dry run: Submit shows what would be sent, and no card appears.
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').textContent.includes('Estimated cost')",
        timeout=15_000,
    )
    nested.get_by_label("Dry run").check()
    submit = nested.locator("button", has_text="Submit")
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{PANEL} button')]
            .some(b => b.textContent.trim() === 'Submit' && !b.disabled)""",
        timeout=15_000,
    )
    submit.click()
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').textContent.includes('nothing was sent')",
        timeout=15_000,
    )
    text = nested.text_content() or ""
    assert "Would send POST /videos" in text and "1 job, estimated $0.40 simulated" in text
    assert nested.locator(".sora-job-card").count() == 0
    assert lab.unexpected_errors() == []
