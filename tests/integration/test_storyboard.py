"""Storyboards (issue 18, part 2) against a real emulator over 127.0.0.1: shots made in order, each
from the previous shot's last frame, a failed shot retried alone, the whole board priced and
checked before anything is sent, and the shots joined into one MP4 with a chapter a shot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from sora_widgets.api import ValidationError
from sora_widgets.config import Settings, resolve_settings
from sora_widgets.emulator import EmulatorHandle
from sora_widgets.jobs import Shot, parse_storyboard, plan_storyboard, storyboard
from sora_widgets.media import last_frame

from .._media import frame_at, psnr, video_seconds
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
        assert container.streams.audio  # the sound is kept
    assert video_seconds(board.video) == pytest.approx(6.0, abs=0.1)  # the sum of the shots
    assert [round(start, 1) for start, _end, _title in board.chapters] == [0.0, 2.0, 4.0]
    assert board.chapters[1][2].startswith("2. The fox trots out")
    # continuity: shot 2 starts from shot 1's last frame (the emulator renders its reference)
    shot1, shot2 = board.jobs[0], board.jobs[1]
    assert shot1 is not None and shot2 is not None
    end_of_1 = last_frame(shot1.paths["video"])
    start_of_2 = frame_at(shot2.paths["video"])
    assert psnr(start_of_2, end_of_1) >= 30
    # and in the joined file, the second chapter opens on that picture too
    assert psnr(frame_at(board.video, at=2.0), end_of_1) >= 30


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


def gets(emulator: EmulatorHandle, route: str) -> list[str]:
    return [line for line in emulator.state.access_log if f'"POST /v1/videos/{route}' in line]


def test_the_ledger_keeps_the_board_and_list_shows_it_as_one_row(shell: InteractiveShell) -> None:
    from sora_widgets.ledger import Ledger

    shell.run_line_magic("sora", f'"one clip on its own" -m {MODEL} -s {SIZE} -t 2 --wait')
    with capture_output():
        shell.run_cell_magic(
            "sora", f"--storyboard -m {MODEL} -s {SIZE} -t 2 --wait --as scene", SCENE
        )
    board = shell.user_ns["scene"]
    assert board.id is not None and board.id.startswith("board_")
    ledger = Ledger(board.settings.ledger_path)
    try:
        row = ledger.get_board(board.id)
        assert row is not None and row.status == "joined" and row.continuity == "frame"
        assert row.video_path == str(board.video) and len(row.chapters) == 3
        assert [s["prompt"] for s in row.shots] == [
            "A fox wakes in its den",
            "The fox trots out",
            "The fox leaps",
        ]
        shots = ledger.board_jobs(board.id)
        assert [r.shot for r in shots] == [1, 2, 3]
        assert [r.id for r in shots] == [j.id for j in board.jobs]
        assert row.cost == pytest.approx(sum(r.cost or 0 for r in shots))
    finally:
        ledger.close()

    with capture_output() as cap:
        shell.run_line_magic("sora", "list")
    listing = cap.outputs[0].data["text/plain"]
    lines = listing.splitlines()[1:3]
    assert "ids are shortened" in listing.splitlines()[3]  # the board's row, the lone clip's
    assert lines[0].startswith("board_") and "joined" in lines[0]  # no row per shot
    assert "storyboard, 3 shots: A fox" in lines[0]
    assert " 7 " in lines[0]  # 2 + 3 + 2 seconds
    assert "one clip on its own" in lines[1]
    short = lines[0].split()[0]
    with capture_output() as cap:
        shell.run_line_magic("sora", "list --long")
    whole = cap.outputs[0].data["text/plain"].splitlines()[1]
    assert whole.startswith(f"{board.id} ") and " joined " in whole
    assert whole.endswith(
        "storyboard, 3 shots: A fox wakes in its den / The fox trots out / The fox leaps"
    )
    with capture_output() as cap:
        shell.run_line_magic("sora", f"status {short}")
    status = cap.outputs[0].data["text/plain"]
    assert status.startswith(f"storyboard {board.id} of 3 shots") and "3 chapters" in status
    with capture_output() as cap:
        shell.run_line_magic("sora", f"show {short}")
    assert 'class="sora-board-shot"' in cap.outputs[0].data["text/html"]


def test_shots_that_extend_the_one_before(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(profile="extended")
    settings = settings_for(emulator, tmp_path)
    shots = ["A lighthouse at dusk", "The lamp turns on", "A ship passes"]
    with pytest.raises(ValidationError, match="independent or extensions, not both"):
        storyboard(shots, settings=settings, extend=True, independent=True)
    # a model whose catalogue entry has no extensions is refused before anything is sent
    veo3 = "veo-3.0-fast-generate-001"
    with pytest.raises(ValidationError, match=f"model '{veo3}' does not extend videos"):
        storyboard(shots, model=veo3, seconds=4, settings=settings, extend=True)
    assert posts(emulator) == []

    board = storyboard(
        shots, model="sora-2", size="1280x720", seconds=4, settings=settings, extend=True
    )
    board.wait(120)
    assert len(posts(emulator)) == 1 and len(gets(emulator, "extensions")) == 2
    first, second, third = board.jobs
    assert first is not None and second is not None and third is not None
    assert second.request.extend_of == first.id and third.request.extend_of == second.id
    assert board.video is not None and board.join_method == "copy"
    assert video_seconds(board.video) == pytest.approx(12.0, abs=0.1)
    assert [round(a, 1) for a, _b, _t in board.chapters] == [0.0, 4.0, 8.0]
    # the extension holds the shot before as it was, then goes on from its last frame
    end_of_1 = last_frame(first.paths["video"])
    assert psnr(frame_at(board.video, at=4.0), end_of_1) >= 30
    assert psnr(frame_at(board.video, at=1.0), frame_at(first.paths["video"], 1.0)) >= 30


def test_a_gateway_without_extensions_makes_the_rest_from_last_frames(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = emulator_factory(profile="extended", gateway=["no-extensions"])
    settings = settings_for(emulator, tmp_path)
    board = storyboard(
        ["A kite rises", "It loops", "It lands"],
        model="sora-2",
        size="1280x720",
        seconds=4,
        settings=settings,
        extend=True,
        wait=True,
    )
    # one refused extension, then shots 2 and 3 made once each from the last frame before
    assert len(gets(emulator, "extensions")) == 1 and len(posts(emulator)) == 3
    assert "refused extensions" in board.note and "shots 2 to 3" in board.note
    assert board.video is not None and len(board.chapters) == 3
    second = board.jobs[1]
    assert second is not None and second.request.extend_of is None
    # learned: the next board is refused before anything is sent, saying why
    with pytest.raises(ValidationError, match="does not extend videos"):
        storyboard(["a", "b"], model="sora-2", settings=settings, extend=True)
    assert len(gets(emulator, "extensions")) == 1
