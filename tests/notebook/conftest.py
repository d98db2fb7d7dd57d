"""Run notebooks headless in a real kernel (nbclient) inside a temporary copy of ``notebooks/``.

``run_notebook(name, env=…)`` copies the notebooks folder (with its assets) into a temporary
folder, executes ``name`` there with the given environment variables set for the kernel, saves the
executed notebook beside it and returns ``(notebook, path)``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
RunNotebook = Callable[..., tuple[Any, Path]]


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunNotebook]:
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    for name in (
        "SORA_API_KEY",
        "OPENAI_API_KEY",
        "SORA_BASE_URL",
        "OPENAI_BASE_URL",
        "SORA_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SORA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SORA_EMULATOR_JOB_SECONDS", "1")

    def run(
        name: str, *, env: dict[str, str] | None = None, timeout: int = 240
    ) -> tuple[Any, Path]:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        path = work / name
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(work)}},
            store_widget_state=True,
        )
        client.execute(cwd=str(work), env=dict(os.environ))
        out = work / f"executed-{name}"
        nbformat.write(notebook, out)
        return notebook, out

    yield run
