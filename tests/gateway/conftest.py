"""The real LiteLLM proxy (``litellm[proxy]==1.108.7``) in front of the emulator and a Veo stand-in.

``gateway`` (session): a running stack, started once for the whole test run: two emulators behind
the model name ``sora-2`` (load-balanced), ``sora-2-pro`` on the first, and
``veo-3.0-generate-preview`` through LiteLLM's ``gemini`` provider in front of `veo_standin`. The
stack is its own process group (`tests.gateway._stack`), which starts the proxy as its child.

Start-up costs 10–30 s (LiteLLM imports a lot), so it is paid once per run, not once per xdist
worker: the first worker to need it starts it under a file lock in the run's shared temporary
folder and the others reuse it (the recipe of pytest-xdist's documentation). Without xdist the
fixture stops it by pid at teardown (the whole process group); under xdist, where no worker knows
it is the last, the stack watches the pytest process that runs the workers and stops itself (and
the proxy) within half a second of that process ending.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 300.0


@dataclass(frozen=True)
class Backend:
    url: str
    key: str


@dataclass(frozen=True)
class Gateway:
    """A running LiteLLM proxy: ``base_url`` (ends in ``/v1``) and ``master_key`` for clients."""

    url: str
    master_key: str
    emulators: tuple[Backend, ...]
    veo: Backend
    veo_model: str
    startup_seconds: float
    config: dict[str, Any]
    folder: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def emulator_ids(self, index: int) -> set[str]:
        """The ids an emulator behind the proxy holds (asked directly, with its own key)."""
        backend = self.emulators[index]
        headers = {"Authorization": f"Bearer {backend.key}"}
        ids: set[str] = set()
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100}
            if after:
                params["after"] = after
            page = httpx.get(f"{backend.url}/videos", headers=headers, params=params).json()
            ids.update(item["id"] for item in page["data"])
            if not page.get("has_more"):
                return ids
            after = page["last_id"]


def _alive(state: dict[str, Any]) -> bool:
    try:
        os.kill(state["supervisor_pid"], 0)
        return httpx.get(f"{state['url']}/health/liveliness", timeout=5).status_code == 200
    except (OSError, httpx.HTTPError):
        return False


def _start(folder: Path, watch: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    state_file = folder / "state.json"
    state_file.unlink(missing_ok=True)
    log = (folder / "stack.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway._stack", str(folder), "--watch", str(watch)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: one killpg stops the proxy too
    )
    deadline = time.monotonic() + START_DEADLINE
    while not state_file.exists():
        if stack.poll() is not None or time.monotonic() > deadline:
            _stop(stack.pid)
            tail = (folder / "stack.log").read_text(errors="replace")[-3000:]
            proxy_log = folder / "proxy.log"
            if proxy_log.exists():
                tail += "\n--- proxy.log ---\n" + proxy_log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the LiteLLM gateway stack did not start:\n{tail}")
        time.sleep(0.2)
    return stack, json.loads(state_file.read_text())


def _stop(pid: int) -> None:
    """Stop the stack's whole process group by its leader's pid."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if worker else base) / "litellm-gateway"
    folder.mkdir(exist_ok=True)
    owned: subprocess.Popen[bytes] | None = None
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_file = folder / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is None or not _alive(state):
            # under xdist the stack outlives this worker and watches the process that runs them all
            owned, state = _start(folder, os.getppid() if worker else os.getpid())
    gw = Gateway(
        url=state["url"],
        master_key=state["master_key"],
        emulators=tuple(Backend(e["url"], e["key"]) for e in state["emulators"]),
        veo=Backend(state["veo"]["url"], state["veo"]["key"]),
        veo_model=state["veo"]["model"],
        startup_seconds=state["startup_seconds"],
        config=state["config"],
        folder=folder,
    )
    yield gw
    if owned is not None and not worker:
        _stop(owned.pid)
