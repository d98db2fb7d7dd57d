"""notebooks/storyboard.ipynb executed headless against the embedded emulator with no key: a
dry run of the whole board, the three-shot scene joined into one video with three chapters, two
endings compared, the cost, and the board as one row of the ledger's list."""

from __future__ import annotations

import re

import pytest

from .conftest import RunNotebook
from .test_notebooks import cell, html_of, no_errors, text

pytestmark = pytest.mark.notebook


def test_the_storyboard_lesson_makes_a_scene_and_compares_two_endings(
    run_notebook: RunNotebook,
) -> None:
    notebook, path = run_notebook("storyboard.ipynb")
    no_errors(notebook)

    dry = text(cell(notebook, "%%sora --storyboard --dry-run"))
    assert "storyboard of 3 shots" in dry and "$1.20 simulated in all" in dry
    assert "nothing was sent" in dry and "each from the last frame of the one before" in dry

    card = html_of(cell(notebook, "%%sora --storyboard --wait --as scene"))
    assert "joined (copy), 3 chapters" in card
    assert card.count('class="sora-board-shot"') == 3
    board = re.search(r'<video[^>]* src="([^"]+)"', card)
    assert board is not None and (path.parent / board.group(1)).stat().st_size > 0

    chapters = text(cell(notebook, "print(scene.video.name"))
    assert "copy" in chapters and " 0.0– 4.0 s" in chapters and " 8.0–12.0 s" in chapters

    grid = html_of(cell(notebook, "from sora_widgets.media import last_frame"))
    assert grid.count('class="sora-compare-cell"') == 2 and grid.count("<mark>") == 2
    assert "$1.60 simulated" in text(cell(notebook, "%sora cost"))
    listed = text(cell(notebook, "%sora list 3")).splitlines()
    assert listed[1].split()[1] == "completed"  # the other ending, made last
    board_row = listed[2]
    assert board_row.startswith("board_") and " joined " in board_row and " 12 " in board_row
