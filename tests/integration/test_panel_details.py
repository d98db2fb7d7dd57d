"""What a person sees in the panel (issue 17, points 9 and 10), read from the real widgets against
a real emulator: one card per job that turns into its player (the prompt and the id once, no
finished status above the player, one download control), labels beside their controls at one
width, the reference controls only with a reference, an upload button that names the reference,
Submit that says how many videos, a new card at the top, and a card that says why it waits."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from sora_widgets.config import resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.panel._widgets import LABEL_WIDTH
from sora_widgets.player import VideoPlayer

from ..conftest import EmulatorFactory
from .test_panel import KEY, clean_env, env, panel_for, png, upload, wait_for

__all__ = ["env"]  # the fixture, re-used from test_panel

PROMPT = "A paper boat drifting down a rain-soaked street at dusk, low tracking shot"


def shown(root: Any) -> Iterator[Any]:
    """The widgets a person can see under ``root`` (its ``children``, and the player in a card),
    leaving out every part hidden with ``display: none``."""
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.layout.display == "none":
            continue
        yield widget
        stack.extend(reversed(getattr(widget, "children", ())))


def is_shown(root: Any, target: Any) -> bool:
    """True when ``target`` is under ``root`` and neither it nor a box holding it is hidden."""
    return any(widget is target for widget in shown(root))


def texts(root: Any) -> list[str]:
    """The text a person reads under ``root``: HTML and labels as text, button labels, and what
    a player writes (its title and caption)."""
    found: list[str] = []
    for widget in shown(root):
        if isinstance(widget, (w.HTML, w.HTMLMath, w.Label)):
            found.append(html.unescape(re.sub(r"<[^>]+>", " ", str(widget.value))))
        elif isinstance(widget, w.Button):
            found.append(str(widget.description))
        elif isinstance(widget, VideoPlayer):
            found.extend([widget.title, widget.caption])
    return [text for text in found if text.strip()]


def count(root: Any, text: str) -> int:
    return sum(part.count(text) for part in texts(root))


def download_controls(card: Any) -> int:
    """Download buttons, download links and players (each has its own link) a person sees."""
    controls = [
        (isinstance(widget, w.Button) and "Download" in widget.description)
        or (isinstance(widget, w.HTML) and "download=" in widget.value)
        or (isinstance(widget, VideoPlayer) and bool(widget.video_name))
        for widget in shown(card)
    ]
    return sum(controls)


# -- the form ----------------------------------------------------------------------------------


def test_every_label_sits_beside_its_control_at_one_width(env: Path) -> None:
    panel = panel_for(env, profile="relay")
    panel.set_reference(png(640, 480), name="harbour.jpg").result(30)  # Fit and Focus shown
    labelled = [
        widget
        for widget in shown(panel)
        if isinstance(widget, w.widgets.widget_description.DescriptionWidget)
        and not isinstance(widget, (w.Checkbox, w.FileUpload, w.HTML))
        and widget.description
    ]
    names = {str(widget.description) for widget in labelled}
    assert {"Prompt", "Model", "Size", "Variants", "Seconds", "Watermark", "Fit"} <= names
    assert {"API key", "Focus ↔", "Focus ↕"} <= names
    assert {widget.style.description_width for widget in labelled} == {LABEL_WIDTH}
    for widget in labelled:
        assert widget.layout.flex_flow != "column", widget.description
    # ipywidgets draws a ToggleButtons' label above its buttons unless it is laid out in a row
    for toggles in (panel.seconds, panel.fit):
        assert toggles.layout.display == "flex" and toggles.layout.flex_flow == "row"
    panel.close()


def test_submit_says_how_many_videos_and_so_does_the_cost(env: Path) -> None:
    panel = panel_for(env, prompt="a kite")
    assert panel.submit_button.description == "Submit"
    panel.variants.value = 3
    assert panel.submit_button.description == "Submit 3 videos"
    assert "$1.20 (3 × $0.40)" in panel.cost.value
    panel.model.value = "a-model-nobody-priced"  # no price: the count is still on the line
    assert "price unknown" in panel.cost.value and "3 videos" in panel.cost.value
    panel.model.value = "sora-2"
    panel.variants.value = 1
    assert panel.submit_button.description == "Submit"
    assert "×" not in panel.cost.value
    panel.close()


def test_reference_controls_show_with_a_reference_and_the_button_names_it(env: Path) -> None:
    panel = panel_for(env, prompt="a harbour")
    controls = (panel.fit, panel.focus_x, panel.focus_y, panel.reference_preview)
    assert not any(is_shown(panel, control) for control in controls)
    assert not is_shown(panel, panel.clear_reference)
    assert panel.upload.description == "Reference image"

    upload(panel, "harbour.jpg", png(640, 480))
    panel.wait_idle()
    assert all(is_shown(panel, control) for control in controls)
    assert is_shown(panel, panel.clear_reference)
    # the widget would write "(0)" after its description: the panel's rule writes the name
    assert panel.upload.description == "Reference: harbour.jpg"
    assert 'content:"Reference: harbour.jpg"' in panel.reference_input.upload_style.value

    upload(panel, '<b>x</b>".png', png(64, 48))  # a hostile name stays text, inside the rule
    panel.wait_idle()
    rule = panel.reference_input.upload_style.value
    assert rule.count("<") == 2 and "<b>" not in rule and rule.endswith("</style>")

    panel.clear_reference.click()
    assert not any(is_shown(panel, control) for control in controls)
    assert panel.upload.description == "Reference image"

    upload(panel, "huge.png", b"\0" * 1024, size=25 * 1024 * 1024)  # refused: Remove clears it
    assert is_shown(panel, panel.clear_reference)
    assert not is_shown(panel, panel.fit) and panel.upload.description == "Reference image"
    panel.close()


# -- cards -------------------------------------------------------------------------------------


def test_one_card_per_job_turns_into_its_player(env: Path) -> None:
    panel = panel_for(env, prompt=PROMPT, size="1280x720")
    (card,) = panel.submit()
    wait_for(lambda: card.job.id is not None and not card.job.id.startswith("pending"))
    assert count(card, PROMPT) == 1 and count(card, str(card.job.id)) == 1
    assert 'role="progressbar"' in card.status.value

    card.job.wait(60)
    wait_for(lambda: card.player is not None)
    assert is_shown(card, card.player)
    assert card.status.value == ""  # no finished card above the player
    assert count(card, PROMPT) == 1 and count(card, str(card.job.id)) == 1
    assert count(card, "100%") == 0 and count(card, "completed") == 0
    assert download_controls(card) == 1
    card.download().result(10)  # no second link
    assert download_controls(card) == 1 and count(card, f"{card.job.id}.mp4") == 0

    # a new card goes to the top of the list, right under Submit and its message line
    parts = list(panel.children)
    assert parts.index(panel.card_list) == parts.index(panel.submit_bar) + 2
    (newer,) = panel.submit()
    assert panel.cards[0] is newer and panel.card_list.children[0] is newer
    # one card per job: showing a job again brings its card to the top
    assert panel.add_job(card.job) is card and panel.card_list.children[0] is card
    assert panel.open_job(str(card.job.id)) is card and len(panel.cards) == 2
    newer.job.wait(60)
    panel.close()


def test_a_card_says_why_it_waits(
    emulator_factory: EmulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(job_seconds=3)
    clean_env(monkeypatch, tmp_path)
    settings = resolve_settings(
        base_url=emulator.base_url, api_key=KEY, output_dir=tmp_path / "out", max_running=1
    )
    panel = panel_for(tmp_path, settings=settings, prompt=PROMPT, size="1280x720")
    (first,) = panel.submit()
    (second,) = panel.submit()
    seen: list[str] = []
    second.job.on_change(lambda _job: seen.append(" ".join(texts(second))))

    # the Runner holds the second job for the running limit of 1: its card says so
    wait_for(lambda: "waiting for a free slot" in " ".join(texts(second)), timeout=10)
    line = " ".join(texts(second))
    assert "waiting for a free slot (1 running" in line and "0%" not in line
    # once the first is done, the second is created, and queued by the provider
    wait_for(lambda: any("queued by the provider" in text for text in seen), timeout=20)
    for card in (first, second):
        card.job.wait(30)
    wait_for(lambda: second.player is not None)
    assert all("waiting" not in text for text in texts(second))
    panel.close()


def test_the_history_compares_the_ticked_videos(emulator: EmulatorHandle, tmp_path: Path) -> None:
    from sora_widgets.panel import SoraPanel

    panel = SoraPanel(
        settings=resolve_settings(
            base_url=emulator.base_url,
            api_key="sk-history-compare",
            output_dir=tmp_path / "out",
            ledger_path=tmp_path / "ledger.sqlite3",
        ),
        output_dir=tmp_path / "out",
        prompt="a heron in reeds",
        size="1280x720",
    )
    panel.wait_idle()
    try:
        panel.variants.value = 2
        for card in panel.submit():
            card.job.wait(60)
        panel.refresh_history().result(30)
        history = panel.history
        assert history.compare_button.disabled  # nothing ticked yet
        for item in history.items[:2]:
            item.select.value = True
        assert not history.compare_button.disabled
        assert history.compare_button.description == "Compare 2"
        bundle = history.compare_selected().result(60)
        shown = history.compare_view.outputs[-1]["data"]["text/html"]
        assert shown == bundle.data["text/html"]
        assert shown.count("<video") == 2 and 'class="sora-compare-bar"' in shown
    finally:
        panel.close()
