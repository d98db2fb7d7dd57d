"""The quickstart, executed headless against the emulator: outputs, files, size, no key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

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
    notebook, path = run_notebook("quickstart.ipynb")
    errors = [o for o in outputs(notebook) if o.get("output_type") == "error"]
    assert errors == []
    videos = sorted((path.parent / "sora_videos").glob("*.mp4"))
    assert len(videos) == 5  # first, harbour, two takes, the remix
    players = [o for o in outputs(notebook) if WIDGET in o.get("data", {})]
    assert len(players) == 5
    for player in players:
        assert "<video" in player["data"]["text/html"]  # the static fallback beside the widget
        assert player["metadata"]["sora_widgets"]["id"]
    text = json.dumps(nbformat.writes(notebook))
    assert "synthetic" in text or "emulator" in text


def test_quickstart_with_a_key_keeps_it_secret_and_small(
    run_notebook: RunNotebook, emulator_factory: Any
) -> None:
    emulator: EmulatorHandle = emulator_factory(api_key=KEY)
    _, path = run_notebook(
        "quickstart.ipynb", env={"SORA_API_KEY": KEY, "SORA_BASE_URL": emulator.base_url}
    )
    saved = path.read_text()
    assert KEY not in saved
    original = (
        (Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb").stat().st_size
    )
    videos = len(list((path.parent / "sora_videos").glob("*.mp4")))
    assert videos == 5
    growth = (len(saved.encode()) - original) / videos
    assert growth <= 64 * 1024, f"{growth / 1024:.1f} KB per video"
