"""The models notebook, executed headless against the embedded emulator with no key: the same
prompt on Sora and on Veo side by side, the catalogue's prices and where they come from, a
refusal, and a model of the reader's own."""

from __future__ import annotations

import re

import pytest

from .conftest import RunNotebook
from .test_notebooks import WIDGET, cell, no_errors, players_in, text, videos, widget_states

pytestmark = pytest.mark.notebook

SORA, VEO = "sora-2", "veo-3.1-fast-generate-preview"


def test_models_notebook_runs_one_prompt_on_sora_and_veo(run_notebook: RunNotebook) -> None:
    notebook, path = run_notebook("models.ipynb")
    no_errors(notebook)

    # What the provider offers: Sora and Veo, each with its price and where it comes from.
    table = text(cell(notebook, "%sora models"))
    assert "from the provider's /v1/models" in table
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "$0.10" in rows[SORA] and "OpenAI's price list" in rows[SORA]
    assert "$0.10–$0.30" in rows[VEO] and "LiteLLM's price map" in rows[VEO]
    assert "Google" in rows[VEO] and "4, 6, 8" in rows[VEO]

    # One size word, each model's pixels: a tier keeps the model's own orientation.
    sizes = text(cell(notebook, "sora, veo = sw.find_model("))
    assert "720p       sora-2 -> 720x1280   veo-3.1-fast -> 1280x720" in sizes

    # Each generation cell: the reference fitted to 16:9, then one player of a finished job.
    for starts, model in (
        (f"%%sora -m {SORA} -s 16:9", SORA),
        (f"%%sora -m {VEO} -s 720p", VEO),
    ):
        generated = cell(notebook, starts)
        assert "960x640 -> 1280x720 cover" in text(generated)
        players = players_in(generated)
        assert len(players) == 1
        assert f"{model} · 1280x720 · 4 s" in players[0]["data"]["text/html"]
    assert len(videos(path)) == 2

    # Side by side: an HBox of two columns, each a label (model, cost) over a finished player.
    side_by_side = cell(notebook, "import ipywidgets as widgets")
    view = next(o for o in side_by_side.outputs if WIDGET in o.get("data", {}))
    states = widget_states(notebook)
    hbox = states[view["data"][WIDGET]["model_id"]]
    assert hbox["model_name"] == "HBoxModel"
    columns = [states[ref.removeprefix("IPY_MODEL_")] for ref in hbox["state"]["children"]]
    assert len(columns) == 2
    labels = []
    for column in columns:
        title, player = (states[r.removeprefix("IPY_MODEL_")] for r in column["state"]["children"])
        labels.append(title["state"]["value"])
        assert player["state"]["video_name"].endswith(".mp4")
        assert player["state"]["poster_data"].startswith("data:image/")
    assert labels == [
        f"<b>{SORA}</b> · 1280x720 · 4 s · $0.40",
        f"<b>{VEO}</b> · 1280x720 · 4 s · $0.40",
    ]
    statuses = text(cell(notebook, "for job in (sora_clip, veo_clip):"))
    assert statuses.count("status='completed'") == 2

    # A dry run: the cost, and the price list and date it comes from; nothing sent.
    dry = text(cell(notebook, f"%%sora -m {VEO} -s 1080p -t 8 --dry-run"))
    source = r"\(LiteLLM's price map [\d.]+, \d{4}-\d{2}-\d{2}\)"
    assert re.search(rf"estimated \$0\.96 simulated {source}; nothing was sent", dry), dry
    assert "size: 1920x1080" in dry
    prices = text(cell(notebook, "for size in ("))
    assert "1920x1080  $0.12 a second  8 s: $0.96" in prices
    assert "https://ai.google.dev/gemini-api/docs/pricing" in prices

    # The refusal names the value, what sora-2 takes, and how to skip the check.
    refusal = text(cell(notebook, "from IPython.core.error import UsageError"))
    assert refusal.startswith("refused: seconds '10' is not offered by sora-2")
    assert "4, 8, 12, 16 or 20" in refusal and "--no-validate" in refusal

    # The reader's own model: registered, then priced in a dry run from their own source.
    mine = text(cell(notebook, "mine = sw.register_model("))
    assert "my-studio-video takes 1280x720, 720x1280 or 1920x1080" in mine
    own = text(cell(notebook, "%%sora -m my-studio-video"))
    assert "estimated $1.60 simulated (our contract, 2026-12-01); nothing was sent" in own
    assert "size: 1280x720" in own
    assert re.search(r"^model: my-studio-video$", own, re.M)
