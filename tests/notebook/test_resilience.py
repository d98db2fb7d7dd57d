"""Kernel-level resilience and secrets: a killed kernel's jobs are resumed by a new one, and a
recognisable key appears in no artefact a run leaves behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbconvert import HTMLExporter

from sora_widgets.ledger import Ledger

from ..conftest import EmulatorFactory
from ._kernels import start_kernel
from .conftest import RunNotebook

pytestmark = pytest.mark.notebook

KEY = "sk-resilience-SECRET-42f1e0d9"


def run(client: Any, code: str, timeout: float = 120) -> list[str]:
    texts: list[str] = []

    def keep(message: dict[str, Any]) -> None:
        content = message.get("content", {})
        if "text" in content:
            texts.append(content["text"])
        if "traceback" in content:
            texts.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=keep)
    assert reply["content"]["status"] == "ok", texts
    return texts


def test_killed_kernel_is_resumed_by_a_new_one(
    emulator_factory: EmulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(job_seconds=4.0, api_key=KEY)
    env = {
        **os.environ,
        "SORA_BASE_URL": emulator.base_url,
        "SORA_API_KEY": KEY,
        "SORA_WIDGETS_HOME": str(tmp_path / "home"),
    }
    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        run(client, "%%sora -n 2 -s landscape\na lighthouse that survives a crash")
        ledger = Ledger(tmp_path / "home" / "ledger.sqlite3")
        deadline = time.monotonic() + 30
        while len([r for r in ledger.unfinished() if not r.pending]) < 2:
            assert time.monotonic() < deadline, "the jobs were never created"
            time.sleep(0.1)
        time.sleep(0.5)  # mid-poll
    finally:
        client.stop_channels()
        os.kill(manager.provisioner.pid, signal.SIGKILL)  # no clean-up runs
        manager.shutdown_kernel(now=True)
    ids = sorted(r.id for r in ledger.unfinished())
    assert len(ids) == 2

    manager, client = start_kernel(env, tmp_path)
    try:
        run(client, "%load_ext sora_widgets")
        run(client, "%sora resume --wait", timeout=120)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert ledger.unfinished() == []
    for video_id in ids:
        assert (tmp_path / "sora_videos" / f"{video_id}.mp4").stat().st_size > 0
    assert sorted(j.id for j in emulator.jobs) == ids  # none created twice


def test_key_appears_in_no_artefact(
    run_notebook: RunNotebook, emulator_factory: EmulatorFactory
) -> None:
    emulator = emulator_factory(api_key=KEY)
    env = {"SORA_API_KEY": KEY, "SORA_BASE_URL": emulator.base_url}
    artefacts: dict[str, bytes] = {}
    widget_states = []
    for name in ("quickstart.ipynb", "panel.ipynb"):
        notebook, path = run_notebook(name, env=env)
        artefacts[f"saved {name}"] = path.read_bytes()
        html = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))[0]
        artefacts[f"HTML export of {name}"] = html.encode()
        widget_states.append(notebook.metadata.get("widgets", {}))
        artefacts[f"widget state of {name}"] = repr(widget_states[-1]).encode()
    work = path.parent
    home = work.parent / "home"
    artefacts["emulator access log"] = "\n".join(emulator.state.access_log).encode()
    for file in home.rglob("*"):
        if file.is_file():
            artefacts[f"ledger file {file.name}"] = file.read_bytes()
    for file in (work / "sora_videos").iterdir():
        artefacts[f"output file name {file.name}"] = file.name.encode()
    rows = sqlite3.connect(home / "ledger.sqlite3").execute("SELECT * FROM jobs").fetchall()
    artefacts["ledger rows"] = repr(rows).encode()
    leaks = [name for name, data in artefacts.items() if KEY.encode() in data]
    assert leaks == []
    assert len(rows) >= 9 and all(widget_states)  # the scan looked at real content
