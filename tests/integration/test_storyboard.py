"""Storyboards (issue 18, part 2) against a real emulator over 127.0.0.1: shots made in order, each
from the previous shot's last frame, a failed shot retried alone, the whole board priced and
checked before anything is sent, and the shots joined into one MP4 with a chapter a shot."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from sora_widgets.api import ValidationError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import Shot, parse_storyboard, plan_storyboard, storyboard
from sora_widgets.media import last_frame

from ..conftest import EmulatorFactory
from ._emulator_helpers import magic_shell

KEY = "sk-storyboard"
MODEL = "dashscope/wan3.0-video"  # small sizes and 2 s shots keep the renders quick
SIZE = "854x480"


def settings_for(emulator: EmulatorHandle, tmp_path: Path, **kwargs: Any) -> Settings:
    return resolve_settings(
        base_url=emulator.base_url,
        api_key=KEY,
        profile="emulator",
        output_dir=tmp_path / "out",
        ledger_path=tmp_path / "ledger.sqlite3",
        **kwargs,
    )


def posts(emulator: EmulatorHandle) -> list[str]:
    return [line for line in emulator.state.access_log if '"POST /v1/videos"' in line]


def first_frame(path: Path, at: float = 0.0) -> Image.Image:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= at - 1e-3:
                image: Image.Image = frame.to_image()
                return image
    raise AssertionError(f"no frame at {at} s in {path}")


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB").resize(b.size), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def test_a_board_is_parsed_from_a_cell() -> None:
    shots = parse_storyboard(
        "A fox wakes\n---\nseconds: 8\nIt trots out\ninto the snow\n---\nIt leaps"
    )
    assert shots == [
        Shot("A fox wakes"),
        Shot("It trots out\ninto the snow", "8"),
        Shot("It leaps"),
    ]
    with pytest.raises(ValidationError, match="shot 2 of the storyboard is empty"):
        parse_storyboard("A fox\n---\n\n---\nIt leaps")
    with pytest.raises(ValidationError, match="13 shots; the limit is 12"):
        parse_storyboard("\n---\n".join(f"shot {n}" for n in range(13)))


def test_the_whole_board_is_priced_and_checked_before_anything_is_sent(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(profile="extended")
    settings = settings_for(emulator, tmp_path, max_spend=0.50)
    shots = ["A fox wakes", "It trots out", "It leaps"]
    plans = plan_storyboard(shots, model=MODEL, size=SIZE, seconds=2, settings=settings)
    assert [p.seconds for p in plans] == ["2", "2", "2"]
    with pytest.raises(ValidationError, match="storyboard of 3 shots") as refused:
        storyboard(shots, model=MODEL, size=SIZE, seconds=8, settings=settings)
    assert "max_spend $0.50" in str(refused.value)
    with pytest.raises(ValidationError, match=r"shot 2: seconds '99'"):
        plan_storyboard(
            ["A fox", Shot("It trots", "99")], model=MODEL, size=SIZE, settings=settings
        )
    assert posts(emulator) == []


def test_three_shots_in_order_continuity_a_retried_shot_and_one_joined_video(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    # the second create's job fails: that shot alone is made again
    emulator = emulator_factory(profile="extended", faults=["create:script=ok,fail"])
    settings = settings_for(emulator, tmp_path)
    board = storyboard(
        ["A fox wakes in its den", "The fox trots out into the snow", "The fox leaps"],
        model=MODEL,
        size=SIZE,
        seconds=2,
        settings=settings,
        wait=True,
    )
    assert [len(tries) for tries in board.attempts] == [1, 2, 1]
    assert len(posts(emulator)) == 4  # shots 1 and 3 once each, shot 2 twice
    assert board.video is not None and board.video.exists()
    with av.open(str(board.video)) as container:
        duration = float(container.duration or 0) / av.time_base
        assert container.streams.audio  # the sound is kept
    assert duration == pytest.approx(6.0, abs=0.1)  # the sum of the shots
    assert [round(start, 1) for start, _end, _title in board.chapters] == [0.0, 2.0, 4.0]
    assert board.chapters[1][2].startswith("2. The fox trots out")
    # continuity: shot 2 starts from shot 1's last frame (the emulator renders its reference)
    shot1, shot2 = board.jobs[0], board.jobs[1]
    assert shot1 is not None and shot2 is not None
    end_of_1 = last_frame(shot1.paths["video"])
    start_of_2 = first_frame(shot2.paths["video"])
    assert psnr(start_of_2, end_of_1) >= 30
    # and in the joined file, the second chapter opens on that picture too
    assert psnr(first_frame(board.video, at=2.0), end_of_1) >= 30


@pytest.fixture
def shell(
    emulator_factory: EmulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InteractiveShell]:
    emulator = emulator_factory(profile="extended")
    with magic_shell(
        monkeypatch, tmp_path, base_url=emulator.base_url, key=KEY, profile="emulator"
    ) as ip:
        yield ip


SCENE = "A fox wakes in its den\n---\nseconds: 3\nThe fox trots out\n---\nThe fox leaps\n"


def test_the_magic_shows_a_storyboard_dry_run_and_makes_it(shell: InteractiveShell) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("sora", f"--storyboard -m {MODEL} -s {SIZE} -t 2 --dry-run", SCENE)
    shown = "\n".join(o.data.get("text/plain", "") for o in cap.outputs)
    assert "storyboard of 3 shots" in shown and "nothing was sent" in shown
    assert "shot 2: dashscope/wan3.0-video · 854x480 · 3 s" in shown
    assert "each from the last frame of the one before" in shown
    with pytest.raises(UsageError, match="--independent goes with --storyboard"):
        shell.run_cell_magic("sora", "--independent --dry-run", SCENE)
    with capture_output() as cap:
        shell.run_cell_magic(
            "sora", f"--storyboard -m {MODEL} -s {SIZE} -t 2 --wait --as scene", SCENE
        )
    board = shell.user_ns["scene"]
    assert board.video is not None and board.video.exists()
    from sora_widgets.magics._storyboard import board_card

    card = board_card(board).data["text/html"]  # what the cell's card shows at the end
    assert "joined (copy), 3 chapters" in card and card.count('class="sora-board-shot"') == 3
    assert cap.outputs  # the card was shown in the cell
