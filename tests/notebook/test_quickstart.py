"""The quickstart, executed headless against the emulator: outputs, files, size, no key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbconvert import HTMLExporter

from sora_widgets.emulator import EmulatorHandle

from .conftest import RunNotebook

pytestmark = pytest.mark.notebook

KEY = "sk-quickstart-SECRET-7f3a9c"
WIDGET = "application/vnd.jupyter.widget-view+json"


def outputs(notebook: Any) -> list[dict[str, Any]]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def test_quickstart_runs_with_no_key_on_the_embedded_emulator(run_notebook: RunNotebook) -> None:
    """Run as a Jupyter server runs it (``JPY_SESSION_NAME`` set): every finished video is plain
    HTML in the saved notebook, with no widget to lose on reopening; an HTML export keeps each
    poster, video and download link (the link and poster are what a viewer without <video>
    shows)."""
    notebook, path = run_notebook(
        "quickstart.ipynb", env={"JPY_SESSION_NAME": "notebooks/quickstart.ipynb"}
    )
    errors = [o for o in outputs(notebook) if o.get("output_type") == "error"]
    assert errors == []
    videos = sorted((path.parent / "sora_videos").glob("*.mp4"))
    assert len(videos) == 5  # first, harbour, two takes, the remix
    assert not [o for o in outputs(notebook) if WIDGET in o.get("data", {})]
    players = [
        o
        for o in outputs(notebook)
        if "sora-player-static" in o.get("data", {}).get("text/html", "")
    ]
    assert len(players) == 5
    for player in players:
        body = player["data"]["text/html"]
        src = re.search(r'<video[^>]* src="([^"]+)"', body)
        assert src is not None and src.group(1).startswith("sora_videos/")
        assert (path.parent / src.group(1)).stat().st_size > 0
        assert 'poster="data:image/' in body and f'<a href="{src.group(1)}">' in body
        assert player["metadata"]["sora_widgets"]["id"]
    text = json.dumps(nbformat.writes(notebook))
    assert "synthetic" in text and "emulator" in text  # the quiet notice, in the first cell
    exported, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    assert exported.count("<video") == 5 and exported.count('poster="data:image/') == 5
    assert exported.count('class="sora-player-download"') == 5


def test_quickstart_with_a_key_keeps_it_secret_and_small(
    run_notebook: RunNotebook, emulator_factory: Any
) -> None:
    emulator: EmulatorHandle = emulator_factory(api_key=KEY)
    notebook, path = run_notebook(
        "quickstart.ipynb", env={"SORA_API_KEY": KEY, "SORA_BASE_URL": emulator.base_url}
    )
    # outside a Jupyter server (VS Code runs its own kernels) the player is the widget, with
    # the static <video> beside it for front ends without widgets
    players = [o for o in outputs(notebook) if WIDGET in o.get("data", {})]
    assert len(players) == 5
    for player in players:
        assert "<video" in player["data"]["text/html"]
        assert player["metadata"]["sora_widgets"]["id"]
    saved = path.read_text()
    assert KEY not in saved
    original = (
        (Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb").stat().st_size
    )
    videos = len(list((path.parent / "sora_videos").glob("*.mp4")))
    assert videos == 5
    growth = (len(saved.encode()) - original) / videos
    assert growth <= 64 * 1024, f"{growth / 1024:.1f} KB per video"
