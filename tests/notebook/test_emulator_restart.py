"""Issue 17, point 3 and 7, in a real kernel: the embedded emulator keeps one identity and its jobs
across a kernel restart (they live under ``$SORA_WIDGETS_HOME``), so ``%sora list / status /
resume / cost`` and ``max_spend`` answer the same after it; its notice is one quiet line in the
cell that started it, never on stderr."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from sora_widgets.ledger import Ledger

from ._kernels import start_kernel

pytestmark = pytest.mark.notebook

CLEAN = ("SORA_API_KEY", "OPENAI_API_KEY", "SORA_BASE_URL", "OPENAI_BASE_URL", "SORA_PROFILE")


def emulator_env(home: Path, job_seconds: str) -> dict[str, str]:
    """This process's environment with no key or base URL (so the kernel starts the embedded
    emulator), its home at ``home`` and its jobs taking ``job_seconds``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.update(SORA_WIDGETS_HOME=str(home), SORA_EMULATOR_JOB_SECONDS=job_seconds)
    return env


def run(client: Any, code: str, timeout: float = 120) -> list[dict[str, Any]]:
    """The IOPub messages (stream, display_data, update_display_data, execute_result, error) the
    cell produced."""
    seen: list[dict[str, Any]] = []

    def keep(message: dict[str, Any]) -> None:
        kinds = ("stream", "display_data", "update_display_data", "execute_result", "error")
        if message["msg_type"] in kinds:
            seen.append({"type": message["msg_type"], **message["content"]})

    client.execute_interactive(code, timeout=timeout, output_hook=keep)
    errors = [m for m in seen if m["type"] == "error"]
    assert errors == [], errors
    return seen


def text(messages: list[dict[str, Any]]) -> str:
    parts = []
    for m in messages:
        parts.append(m.get("text", "") or m.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_the_embedded_emulator_remembers_everything_across_a_kernel_restart(
    tmp_path: Path,
) -> None:
    env = emulator_env(tmp_path / "home", job_seconds="5")
    ledger_path = tmp_path / "home" / "ledger.sqlite3"
    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        first = run(client, "%%sora -t 4 --wait --as first\nA lighthouse at dawn")
        # the notice: one quiet display line in this cell, not a stderr stream
        assert not [m for m in first if m["type"] == "stream" and m["name"] == "stderr"]
        notices = [
            m for m in first if m["type"] == "display_data" and "local emulator" in text([m])
        ]
        assert len(notices) == 1 and "sora-info" in notices[0]["data"]["text/html"]
        assert "local emulator" not in text(run(client, "%sora cost"))  # said once
        run(client, "%%sora -t 4 --as cut\nA harbour at night")
        ledger = Ledger(ledger_path)
        deadline = time.monotonic() + 30
        while len([r for r in ledger.unfinished() if not r.pending]) < 1:
            assert time.monotonic() < deadline, "the second job was never created"
            time.sleep(0.1)
        cut = ledger.unfinished()[0].id
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)  # the emulator in it goes too, mid-job

    rows = Ledger(ledger_path).recent(10)
    assert {r.provider for r in rows} == {"emulator"}  # named as the emulator, not by port
    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        listed = text(run(client, "%sora list"))
        assert "A lighthouse at dawn" in listed and "A harbour at night" in listed
        resumed = text(run(client, "%sora resume --wait", timeout=120))
        assert "Nothing to resume" not in resumed
        status = text(run(client, f"%sora status {cut}"))
        assert "completed" in status and "404" not in status.replace(cut, "")  # ids hold digits
        assert (tmp_path / "sora_videos" / f"{cut}.mp4").stat().st_size > 0
        cost = text(run(client, "%sora cost"))
        assert "$0.80 simulated" in cost  # both 4 s sora-2 jobs, from before the restart
        run(client, "%config SoraMagics.max_spend = 1.00")
        refused = text(
            run(
                client,
                "from IPython.core.error import UsageError\n"
                "try:\n"
                "    get_ipython().run_cell_magic('sora', '-t 4 --dry-run', 'A third one')\n"
                "except UsageError as e:\n"
                "    print('refused:', e)\n",
            )
        )
        assert "refused:" in refused and "$0.80 already spent" in refused
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert Ledger(ledger_path).unfinished() == []


BOARD = (
    "%%sora --storyboard -m dashscope/wan3.0-video -s 854x480 -t 2 --as scene\n"
    "A kettle on a stove\n---\nSteam rises from it\n---\nA hand lifts it away\n"
)


def test_a_storyboard_survives_a_kernel_restart_mid_board(tmp_path: Path) -> None:
    env = emulator_env(tmp_path / "home", job_seconds="3")
    ledger_path = tmp_path / "home" / "ledger.sqlite3"
    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        run(client, BOARD)
        board_id = run(client, "print(scene.id)")[0]["text"].strip()
        ledger = Ledger(ledger_path)
        deadline = time.monotonic() + 60
        # the kernel dies once shot 1 is made and shot 2 is running on the emulator
        while not [r for r in ledger.board_jobs(board_id) if r.shot == 2 and not r.pending]:
            assert time.monotonic() < deadline, "shot 2 was never created"
            time.sleep(0.1)
        before = {r.shot: r.id for r in ledger.board_jobs(board_id)}
        assert ledger.get_board(board_id).status == "making"  # type: ignore[union-attr]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        listed = text(run(client, "%sora list"))
        row = next(line for line in listed.splitlines() if line.startswith(board_id[:8]))
        assert "making 1/3" in row and "storyboard, 3 shots" in row
        assert "A kettle on a stove" not in listed.replace(row, "")  # no row per shot
        dry = text(run(client, "%sora resume --dry-run"))
        assert f"shot 1 kept, shot 2 followed ({before[2]}), shot 3 made, then joined" in dry
        resumed = run(client, "%sora resume --wait", timeout=180)
        card = text([m for m in resumed if "data" in m][-1:])  # the board's card, as it ends
        assert f"storyboard {board_id} of 3 shots" in card and "3 chapters" in card
        status = text(run(client, f"%sora status {board_id}"))
        assert "joined (copy), 3 chapters" in status
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    ledger = Ledger(ledger_path)
    shots = ledger.board_jobs(board_id)
    # every shot made exactly once: shots 1 and 2 are the jobs from before the restart
    assert [r.shot for r in shots] == [1, 2, 3]
    assert {r.shot: r.id for r in shots if r.shot in before} == before
    board = ledger.get_board(board_id)
    assert board is not None and board.status == "joined" and len(board.chapters) == 3
    assert Path(board.video_path or "").stat().st_size > 0
