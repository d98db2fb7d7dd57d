"""The panel tour, the teaching lesson and the gateway notebook, executed headless against the
emulator with no key: what a reader would see in their outputs, and the files they leave."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ..gateway.conftest import Gateway
from ..gateway.conftest import gateway as gateway  # the real LiteLLM proxy, for gateway.ipynb
from .conftest import RunNotebook

pytestmark = pytest.mark.notebook

WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def cell(notebook: Any, starts: str) -> Any:
    """The one code cell whose source starts with ``starts``."""
    found = [c for c in code_cells(notebook) if c.source.startswith(starts)]
    assert len(found) == 1, f"{len(found)} cells start with {starts!r}"
    return found[0]


def text(code_cell: Any) -> str:
    """Everything a reader sees as text in a cell's outputs (streams and text/plain)."""
    parts = []
    for output in code_cell.outputs:
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def html_of(code_cell: Any) -> str:
    """Every HTML output of a cell, joined."""
    return "\n".join(
        o["data"]["text/html"] for o in code_cell.outputs if "text/html" in o.get("data", {})
    )


def no_errors(notebook: Any) -> None:
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in code_cells(notebook)
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert errors == []
    tracebacks = [c.source for c in code_cells(notebook) if "Traceback" in text(c)]
    assert tracebacks == []


def players_in(code_cell: Any) -> list[dict[str, Any]]:
    """Outputs that are a VideoPlayer: a widget view with the static <video> beside it."""
    return [
        o
        for o in code_cell.outputs
        if WIDGET in o.get("data", {}) and "<video" in o["data"].get("text/html", "")
    ]


def widget_states(notebook: Any) -> dict[str, Any]:
    states: dict[str, Any] = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    return states


def videos(path: Path) -> list[Path]:
    return sorted((path.parent / "sora_videos").glob("*.mp4"))


def test_panel_tour_submits_remixes_and_lists_the_history(run_notebook: RunNotebook) -> None:
    notebook, path = run_notebook("panel.ipynb")
    no_errors(notebook)

    # The panel itself: a widget view, its model saved with the notebook.
    panel_cell = cell(notebook, "from sora_widgets import SoraPanel")
    assert any(WIDGET in o.get("data", {}) for o in panel_cell.outputs)

    # The reference, fitted to the video's size, shown as its preview.
    fitted = cell(notebook, 'panel.set_reference("assets/harbour.jpg")').outputs[-1]["data"]
    assert "image/png" in fitted
    assert "1600x1200 -> 1280x720 cover" in fitted["text/plain"]

    # Submit is disabled with the reason while the prompt is empty, and enabled again after.
    reasons = text(cell(notebook, "draft = panel.prompt.value"))
    assert "Submit disabled: True · prompt is empty" in reasons
    assert "Submit disabled: False · ready" in reasons

    # Submit, remix and two variants: four videos on disk, each with its thumbnail.
    assert "status='completed'" in text(cell(notebook, "cards = panel.submit()"))
    assert "status='completed'" in text(cell(notebook, "night = card.remix("))
    assert text(cell(notebook, "panel.remove_reference()")).count("'completed'") == 2
    files = videos(path)
    assert len(files) == 4
    for video in files:
        assert video.with_suffix(".thumbnail.webp").exists()

    # The history lists all four, newest first.
    history = text(cell(notebook, "panel.refresh_history()"))
    assert sorted(re.findall(r"video_[0-9a-f]+", history)) == sorted(f.stem for f in files)

    # A budget already used up disables Submit, with the numbers.
    budget = text(cell(notebook, "budget = SoraPanel("))
    assert "this job costs about $1.20; with $1.60 already spent" in budget
    assert "max_spend $2.00" in budget

    # Saved widget state: the players keep a small poster, never the video's bytes.
    players = [s["state"] for s in widget_states(notebook).values() if s["state"].get("video_name")]
    assert players
    assert {p["video_name"] for p in players} <= {f.name for f in files}
    for player in players:
        assert player["poster_data"].startswith("data:image/")
        assert player["fallback_src"].startswith("sora_videos/")
    assert "AAAAIGZ0eXBpc29t" not in path.read_text()  # base64 of an MP4's first bytes


def test_teaching_lesson_compares_variations_and_minds_the_budget(
    run_notebook: RunNotebook,
) -> None:
    notebook, path = run_notebook("teaching.ipynb")
    no_errors(notebook)

    anatomy = text(cell(notebook, 'subject = "a red fox'))
    assert anatomy.strip().startswith("a red fox trotting") and "dawn light" in anatomy

    # The baseline, then three variations side by side in one HBox of three players.
    assert len(players_in(cell(notebook, "%%sora --wait --as baseline"))) == 1
    assert text(cell(notebook, "variations = {")).count("'completed'") == 3
    # the three in one synchronized comparison, plain HTML that plays without a kernel: the
    # subject shown once, each cell's own part highlighted, each a <video> of its own file
    grid = html_of(cell(notebook, "sw.compare("))
    assert grid.count('class="sora-compare-cell"') == 3 and grid.count("<video") == 3
    common = re.search(r'class="sora-compare-common-text"[^>]*>([^<]*)<', grid)
    assert common is not None and "a red fox trotting across a snowy meadow" in common.group(1)
    marks = re.findall(r"<mark>([^<]*)</mark>", grid)
    assert len(marks) == 3 and "close-up" in marks[0] and "golden-hour" in marks[1]
    for src in re.findall(r'<video[^>]* src="([^"]+)"', grid):
        assert (path.parent / src).stat().st_size > 0

    # Cost awareness: the price list, the dry run's cost line, the spend so far, the refusal.
    prices = text(cell(notebook, "from sora_widgets.api import get_profile"))
    assert "sora-2      1280x720  4 s  $0.40" in prices
    assert "sora-2-pro  1280x720 12 s  $3.60" in prices
    dry = text(cell(notebook, "%%sora -m sora-2-pro -t 12 -n 3 --dry-run"))
    assert dry.startswith("dry run: POST /videos on the local emulator × 3")
    assert "estimated $10.80 simulated (OpenAI's price list, 2026-03-01); nothing was sent" in dry
    assert "$1.60 simulated" in text(cell(notebook, "%sora cost"))
    assert "max_spend $3.00: $1.40 left" in text(cell(notebook, "%config SoraMagics.max_spend"))
    refusal = text(cell(notebook, "from IPython.core.error import UsageError"))
    assert refusal.startswith("refused: this job costs about $3.60")

    # Exercises run: one more video, the term plan, the list of everything made.
    assert len(players_in(cell(notebook, "%%sora --wait --as mine"))) == 1
    plan = text(cell(notebook, "import math"))
    assert "sora-2: $0.80 a video, 5 video(s) per student" in plan
    assert "sora-2-pro: $2.40 a video, 1 video(s) per student" in plan
    assert len(videos(path)) == 5
    listed = cell(notebook, "%sora list 10").outputs[0]["data"]["text/plain"].splitlines()
    assert listed[0].startswith("id ") and listed[0].endswith(" prompt")  # the column names
    assert len([line for line in listed if line.startswith("video_")]) == 5


def test_gateway_notebook_configures_a_relay_without_showing_the_key(
    run_notebook: RunNotebook, request: pytest.FixtureRequest
) -> None:
    # the notebook's LiteLLM section runs against the real proxy of tests/gateway
    gateway: Gateway = request.getfixturevalue("gateway")
    proxy = {"LITELLM_BASE_URL": gateway.base_url, "LITELLM_API_KEY": gateway.master_key}
    notebook, path = run_notebook("gateway.ipynb", env=proxy)
    no_errors(notebook)

    # Nothing configured to begin with, and the key never shown, only "set".
    before = text(cell(notebook, "import os"))
    assert "SORA_BASE_URL    (not set)" in before and "key              (not set)" in before
    config = text(cell(notebook, "%load_ext sora_widgets"))
    assert re.search(r"provider: +http://127\.0\.0\.1:\d+/v1", config)
    assert "profile:    relay" in config
    assert "api key:    set (from the environment)" in config

    # The relay's extras: priced in a dry run, sent, echoed by the gateway; refused on openai.
    dry = text(cell(notebook, "%%sora -s 1280x720 -t 10 --extra watermark=false --dry-run"))
    assert (
        "with profile relay, estimated $1.00 (OpenAI's price list, 2025-10-06); nothing was sent"
        in dry
    )
    assert "watermark: False" in dry
    assert len(players_in(cell(notebook, "%%sora -s 1280x720 -t 4 --extra watermark=false"))) == 1
    assert text(cell(notebook, "dict(cable_car.video.extra)")) == "{'watermark': False}"
    refused = text(cell(notebook, "from IPython.core.error import UsageError"))
    assert refused.startswith(
        "refused: extra field 'watermark' is not accepted by the openai profile"
    )
    assert "--no-validate" in refused  # and how to send it anyway

    # The URL reference travelled as a URL: the gateway fetched it from the image host.
    assert len(players_in(cell(notebook, "from sora_widgets import VideoPlayer"))) == 1
    received = text(cell(notebook, "for job in gateway.jobs:"))
    assert "{'watermark': False}" in received and "{'watermark': True}" in received
    assert "image host served: ['/harbour-1280x720.jpg']" in received

    # Through LiteLLM's proxy: a video, LiteLLM's long id, the proxy's own price.
    assert f"LiteLLM proxy: {gateway.base_url}" in text(cell(notebook, "proxy_url = os.environ"))
    assert len(players_in(cell(notebook, "from IPython.display import display"))) == 1
    through = text(cell(notebook, "if proxy_url:\n    print("))
    length = re.search(r"id: +(\d+) characters, video_", through)
    assert length and int(length.group(1)) > 200
    assert "cost: $0.40 (gateway)" in through
    assert len(videos(path)) == 3

    # The panel on the relay profile offers its Watermark choice.
    panel_cell = cell(notebook, "from sora_widgets import SoraPanel")
    assert any(WIDGET in o.get("data", {}) for o in panel_cell.outputs)
    descriptions = {s["state"].get("description") for s in widget_states(notebook).values()}
    assert "Watermark" in descriptions

    # The ledger lists both jobs under the gateway's URL, with real (not simulated) prices.
    ledger = text(cell(notebook, "%sora list 5"))
    assert ledger.count("completed") == 2
    assert re.search(r"estimated spend on http://127\.0\.0\.1:\d+/v1: \$0\.80$", ledger, re.M)

    # No output holds anything shaped like the stand-in's key (secrets.token_urlsafe(24): 32
    # characters of letters of both cases, digits, - and _).
    shown = "\n".join(text(c) for c in code_cells(notebook))
    assert not re.search(r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])[\w-]{32}(?![\w-])", shown)
    assert gateway.master_key not in json.dumps(notebook.cells)
    assert "Bearer" not in json.dumps(notebook.cells)
