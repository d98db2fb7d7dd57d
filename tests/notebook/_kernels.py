"""Real IPython kernels for tests that kill or restart one mid-job (jupyter_client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager


def start_kernel(env: dict[str, str], cwd: Path) -> tuple[KernelManager, Any]:
    """A python3 kernel running in ``cwd`` with ``env``, and a client whose channels are ready.
    Stop it with ``client.stop_channels()`` and ``manager.shutdown_kernel(now=True)``."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client
