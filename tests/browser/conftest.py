"""Browser fixtures: headless Chromium (Playwright) on a real JupyterLab 4 server.

Mark tests ``@pytest.mark.browser``. Without ``/usr/bin/chromium`` they are skipped, or fail when
``SORA_REQUIRE_BROWSER=1`` (CI). ``playwright install`` is never needed: the system Chromium is used.

Fixtures
--------
- ``chromium`` (session): a Playwright ``Browser`` on ``/usr/bin/chromium`` with the flags from
  TESTING.md (no sandbox, no background networking, autoplay without a gesture).
- ``jupyter_root`` (module): the folder the server serves, a fresh temporary folder; write notebooks
  and files there. Override it in a test module to serve another folder.
- ``jupyter_env`` (module): extra environment variables for the server, which its kernels inherit
  (e.g. ``SORA_BASE_URL``); ``{}`` unless a module overrides it.
- ``jupyter_server`` (module): a started `JupyterServer` (``tests/browser/_jupyter.py``) serving
  ``jupyter_root``: ``.url``, ``.token``, ``.root``, ``.lab_url(path)``, ``.notebook_url(path)``,
  ``.api(method, path, body)``, ``.log()``. JupyterLab runs on 127.0.0.1 on a free port with a
  token, its config/data/runtime/workspace folders in a temporary folder, and ``overrides.json``
  settings: no news toast, windowing mode "none" (every cell in the DOM), widget state saved with
  the notebook (``saveState``). ``window.jupyterapp`` is exposed in Lab and Notebook 7. The server
  is shut down (kernels too) through its API, then by its pid.
- ``lab`` (function): a `LabPage` in a fresh browser context on ``jupyter_server``; the context
  closes afterwards. Use it like this::

      write_notebook(jupyter_server.root / "demo.ipynb", ["x = 1", "print(x)"])
      lab.open("demo.ipynb")             # Lab; ui="notebook" for Notebook 7; waits for an idle kernel
      lab.run_all()                      # Run All; waits until every cell ran and the kernel is idle
      lab.outputs(1)                     # a Playwright locator for cell 1's output area
      lab.page                           # the Playwright Page
      lab.save(); lab.shutdown_kernel(); lab.reload()
      assert lab.unexpected_errors() == [] and lab.dialogs == []   # console_errors: all of them

  ``lab.command(name, args)`` executes any Lab command; ``lab.console_errors`` holds every
  ``console.error`` and uncaught exception, ``lab.unexpected_errors()`` the same without
  Notebook 7's own noise (`_jupyter.KNOWN_NOISE`); ``lab.dialogs`` every alert/confirm/prompt
  (dismissed). For a second page or other context options, use ``_jupyter.lab_page(chromium,
  jupyter_server, **context_args)`` as a context manager.
- Server settings or extra arguments: call ``_jupyter.start_jupyter_server(root, home, env=...,
  settings={plugin_id: {...}}, extra_args=[...])`` directly (returns a `JupyterServer`; call
  ``.stop()``).
- ``write_notebook`` (function): `_jupyter.write_notebook(path, cells, markdown=())`, which writes
  a python3 notebook of code cells (the indexes in ``markdown`` become Markdown cells).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterServer,
    LabPage,
    lab_page,
    start_jupyter_server,
)
from ._jupyter import (
    write_notebook as _write_notebook,
)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("SORA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def jupyter_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter-root")


@pytest.fixture(scope="module")
def jupyter_env() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def jupyter_server(
    jupyter_root: Path, jupyter_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    home = tmp_path_factory.mktemp("jupyter-home")
    server = start_jupyter_server(jupyter_root, home, env=jupyter_env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lab(chromium: Any, jupyter_server: JupyterServer) -> Iterator[LabPage]:
    with lab_page(chromium, jupyter_server) as page:
        yield page


@pytest.fixture
def write_notebook() -> Callable[..., Path]:
    return _write_notebook


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups, whichever conftest loads first
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test on one xdist worker (``--dist loadgroup``): one Chromium and one Jupyter
    server per module, rather than one per worker that happens to draw a test of it."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))
