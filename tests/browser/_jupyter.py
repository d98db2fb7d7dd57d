"""A real JupyterLab server and a Playwright page driving it (used through ``conftest.py``).

`start_jupyter_server` starts ``jupyter lab`` on 127.0.0.1 with isolated config, data, runtime and
workspace folders and test settings; `LabPage` opens notebooks in Lab or Notebook 7, runs them,
saves them and collects what went wrong in the page.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]

TEST_SETTINGS: dict[str, dict[str, Any]] = {
    # The "Jupyter news" toast covers part of the page.
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    # Every cell stays in the DOM, however long the notebook.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # Widget state goes into the notebook on save, as a user who wants it kept would set it.
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
}
"""Lab settings every test server starts with (written to its ``overrides.json``)."""

KNOWN_NOISE = (
    # Notebook 7.6 throws this on every page load, with or without any extension or setting.
    "Cannot read properties of undefined (reading 'schema')",
    "Command 'filebrowser:open-path' not registered",
)
"""Console errors the frontends make on their own (Notebook 7), ignored by `unexpected_errors`."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class JupyterServer:
    """A running ``jupyter lab``; ``root`` is the folder it serves (notebooks go there)."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    home: Path
    """The folder holding its config, data, runtime and workspace folders, and its log."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, path: str) -> str:
        """JupyterLab on the notebook ``path`` (relative to ``root``), skipping any saved workspace."""
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"

    def notebook_url(self, path: str) -> str:
        """Notebook 7 on the notebook ``path`` (relative to ``root``)."""
        return f"{self.url}/notebooks/{path}?token={self.token}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API (``path`` like ``/api/sessions``); returns the parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Shut down (kernels too) through the API, then make sure the process is gone."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.kill(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=5)


def start_jupyter_server(
    root: Path,
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 60.0,
) -> JupyterServer:
    """Start ``jupyter lab`` serving ``root``, with its own folders under ``home``; returns when
    ``/api/status`` answers. ``env`` is added to the server's environment (kernels inherit it);
    ``settings`` is merged over `TEST_SETTINGS`."""
    home.mkdir(parents=True, exist_ok=True)
    folders = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    app_settings = home / "app-settings"
    app_settings.mkdir(exist_ok=True)
    merged = {name: dict(values) for name, values in TEST_SETTINGS.items()}
    for name, values in (settings or {}).items():
        merged.setdefault(name, {}).update(values)
    (app_settings / "overrides.json").write_text(json.dumps(merged, indent=2))

    port = free_port()
    token = secrets.token_hex(16)
    process_env = {**os.environ, **{k: str(v) for k, v in folders.items()}, **(env or {})}
    process_env.pop("JUPYTER_TOKEN", None)
    log_path = home / "jupyter.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={app_settings}",
        f"--JupyterNotebookApp.app_settings_dir={app_settings}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=process_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = JupyterServer(root, port, token, process, log_path, home)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log()}")
        try:
            server.api("GET", "/api/status")
            return server
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"jupyter lab did not answer within {timeout} s:\n{server.log()}"
                ) from None
            time.sleep(0.2)


def write_notebook(path: Path, cells: Sequence[str], *, markdown: Sequence[int] = ()) -> Path:
    """Write a notebook of code cells (indexes in ``markdown`` become Markdown cells)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_markdown_cell(source)
        if i in markdown
        else nbformat.v4.new_code_cell(source)
        for i, source in enumerate(cells)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


# JavaScript run in the page. `window.jupyterapp` is there because the server runs with
# expose_app_in_browser; `__soraPanel(path)` finds the open notebook panel of `path`.
_INIT_SCRIPT = """
window.__soraPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content && widget.sessionContext) {
      return widget;
    }
  }
  return null;
};
"""

_KERNEL_IDLE = """(path) => {
  const panel = window.__soraPanel(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!(panel && panel.sessionContext.isReady && kernel && kernel.status === 'idle');
}"""

_ALL_RUN = """(path) => {
  const panel = window.__soraPanel(path);
  if (!panel) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle' || panel.sessionContext.pendingInput) return false;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (cell.model.executionCount === null) return false;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (prompt && prompt.textContent.includes('*')) return false;
  }
  return true;
}"""


@dataclass
class LabPage:
    """One browser page on a `JupyterServer`, with what went wrong in it.

    ``console_errors`` holds ``console.error`` texts and uncaught exceptions; ``dialogs`` the
    messages of ``alert``/``confirm``/``prompt`` dialogs (dismissed at once).
    """

    page: Any
    """The Playwright ``Page``."""
    server: JupyterServer
    path: str = ""
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.add_init_script(_INIT_SCRIPT)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("dialog", self._on_dialog)

    def unexpected_errors(self, noise: Sequence[str] = KNOWN_NOISE) -> list[str]:
        """``console_errors`` without the frontends' own `KNOWN_NOISE`."""
        return [e for e in self.console_errors if not any(n in e for n in noise)]

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"{message.text} ({location.get('url', '')})")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: str, *, ui: str = "lab", timeout: float = 60.0) -> None:
        """Open the notebook ``path`` (relative to the server root) in ``ui`` ("lab" or
        "notebook") and wait until its kernel is idle."""
        self.path = path
        url = self.server.lab_url(path) if ui == "lab" else self.server.notebook_url(path)
        self.page.goto(url)
        self.wait_kernel_idle(timeout=timeout)

    def reload(self, *, timeout: float = 90.0) -> None:
        """Load the page again (a fresh front end; the notebook is read from disk).

        Returns once the page's new kernel is idle: the widget manager restores saved widgets
        only after the session is ready, and a kernel can take many seconds to start on a busy
        machine."""
        self.page.reload()
        self.page.wait_for_function(
            "(path) => !!window.__soraPanel(path) && window.__soraPanel(path).context.isReady",
            arg=self.path,
            timeout=timeout * 1000,
        )
        self.wait_kernel_idle(timeout=timeout)

    def command(self, name: str, args: Mapping[str, Any] | None = None) -> Any:
        """Execute a Lab command (``notebook:run-all-cells``, ``docmanager:save`` …)."""
        return self.page.evaluate(
            "([name, args]) => window.jupyterapp.commands.execute(name, args)",
            [name, dict(args or {})],
        )

    def wait_kernel_idle(self, *, timeout: float = 60.0) -> None:
        self.page.wait_for_function(_KERNEL_IDLE, arg=self.path, timeout=timeout * 1000)

    def run_all(self, *, timeout: float = 60.0) -> None:
        """Run every cell and wait until each has run and the kernel is idle."""
        self.page.evaluate(
            "(path) => { const p = window.__soraPanel(path); p.content.activate(); "
            "window.jupyterapp.shell.activateById(p.id); }",
            self.path,
        )
        self.command("notebook:run-all-cells")
        self.page.wait_for_function(_ALL_RUN, arg=self.path, timeout=timeout * 1000)

    def save(self, *, timeout: float = 30.0) -> None:
        """Save the notebook (with widget state, per `TEST_SETTINGS`) and wait until it is clean."""
        self.page.evaluate("(path) => window.__soraPanel(path).context.save()", self.path)
        self.page.wait_for_function(
            "(path) => !window.__soraPanel(path).context.model.dirty",
            arg=self.path,
            timeout=timeout * 1000,
        )

    def shutdown_kernel(self, *, timeout: float = 30.0) -> None:
        """Shut the notebook's kernel down and wait until it has no kernel."""
        self.page.evaluate(
            "(path) => window.__soraPanel(path).sessionContext.shutdown()", self.path
        )
        self.page.wait_for_function(
            "(path) => !window.__soraPanel(path).sessionContext.session",
            arg=self.path,
            timeout=timeout * 1000,
        )

    def outputs(self, cell: int) -> Any:
        """A locator for the output area of code or markdown cell number ``cell``."""
        return self.page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea")


@contextlib.contextmanager
def lab_page(browser: Any, server: JupyterServer, **context_args: Any) -> Iterator[LabPage]:
    """A `LabPage` in a fresh browser context (own cookies and storage), closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_args)
    try:
        yield LabPage(context.new_page(), server)
    finally:
        context.close()
