"""Issue 17, point 1, outside the browser: under a Jupyter server (``JPY_SESSION_NAME`` set, as
the server sets it) a finished video is plain HTML in the saved notebook, with no widget: its
poster inline and the MP4 by its path from the notebook; an HTML export keeps the poster, the
video and a link (the link and poster are also what a viewer without <video> shows)."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbconvert import HTMLExporter

from .conftest import RunNotebook

pytestmark = pytest.mark.notebook

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_a_finished_video_is_plain_html_that_an_export_keeps(run_notebook: RunNotebook) -> None:
    notebook, path = run_notebook(
        "quickstart.ipynb", env={"JPY_SESSION_NAME": "notebooks/quickstart.ipynb"}
    )
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if WIDGET in o.get("data", {})]  # nothing to lose on reopen
    players = [o for o in outputs if "sora-player-static" in o.get("data", {}).get("text/html", "")]
    assert len(players) == 5
    for player in players:
        body = player["data"]["text/html"]
        src = re.search(r'<video[^>]* src="([^"]+)"', body)
        assert src is not None and src.group(1).startswith("sora_videos/")
        assert (path.parent / src.group(1)).stat().st_size > 0
        assert 'poster="data:image/' in body and f'<a href="{src.group(1)}">' in body
        assert player["metadata"]["sora_widgets"]["id"]
    exported, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    assert exported.count("<video") == 5 and exported.count('poster="data:image/') == 5
    assert exported.count('class="sora-player-download"') == 5
