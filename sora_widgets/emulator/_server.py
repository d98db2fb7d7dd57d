"""Run the emulator under uvicorn: blocking (`serve`) or in a background thread (`serve_in_thread`).

The listening socket is bound before uvicorn starts, so ``port=0`` picks a free port that is known
at once. Binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ._settings import EmulatorSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ._app import EmulatorState
    from ._jobs import Job

__all__ = ["EmulatorHandle", "bind_socket", "serve", "serve_in_thread"]


def _settings(settings: EmulatorSettings | None, overrides: dict[str, Any]) -> EmulatorSettings:
    base = settings or EmulatorSettings()
    known = {f.name for f in fields(EmulatorSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(
            f"unknown emulator setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return base.with_(**overrides) if overrides else base


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it, Nagle + delayed ACK add ~40 ms to every answer
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _QuietDrops(logging.Filter):
    """Hide uvicorn's traceback for connections the ``drop`` fault cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "ConnectionDropped"


_quiet = _QuietDrops()


def _uvicorn_server(app: Starlette, log_level: str) -> Any:
    import uvicorn

    from ._app import with_transport

    logging.getLogger("uvicorn.error").addFilter(_quiet)
    config = uvicorn.Config(
        with_transport(app),
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        ws="none",
    )
    return uvicorn.Server(config)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    settings: EmulatorSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    sock: socket.socket | None = None,
    log_level: str = "warning",
    **overrides: Any,
) -> None:
    """Serve until interrupted (Ctrl-C). ``overrides`` are `EmulatorSettings` fields."""
    from ._app import create_app

    app = create_app(_settings(settings, overrides))
    server = _uvicorn_server(app, log_level)
    sock = sock or bind_socket(host, port)
    server.run(sockets=[sock])


class EmulatorHandle:
    """A running emulator: ``base_url`` (ends in ``/v1``), ``stop()``, and its ``app``/``state``.

    Use it as a context manager to stop the server on exit.
    """

    def __init__(
        self, app: Starlette, server: Any, thread: threading.Thread, host: str, port: int
    ) -> None:
        self.app = app
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port
        self.url = _url(host, port)
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        self.base_url = self.url + "/v1"
        """What clients take as base URL, e.g. ``http://127.0.0.1:54321/v1``."""

    @property
    def state(self) -> EmulatorState:
        """The emulator's state: ``state.store``, ``state.faults``, ``state.access_log``…"""
        state: EmulatorState = self.app.state.emulator
        return state

    @property
    def settings(self) -> EmulatorSettings:
        """The settings it was started with."""
        return self.state.settings

    @property
    def jobs(self) -> list[Job]:
        """Every job not deleted, oldest first."""
        return self.state.jobs

    @property
    def running(self) -> bool:
        """True while the server thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmulatorHandle {self.base_url} {state}>"


def serve_in_thread(
    settings: EmulatorSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    ready_timeout: float = 10.0,
    **overrides: Any,
) -> EmulatorHandle:
    """Start an emulator in a daemon thread and return once it accepts connections.

    ``overrides`` are `EmulatorSettings` fields (``serve_in_thread(job_seconds=1)``). Raises
    `RuntimeError` if it does not start within ``ready_timeout`` seconds.
    """
    from ._app import create_app

    app = create_app(_settings(settings, overrides))
    server = _uvicorn_server(app, log_level)
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"sora-emulator-{bound_port}", daemon=True)
    thread.start()
    started: Callable[[], bool] = lambda: bool(server.started)  # noqa: E731
    deadline = threading.Event()
    waited = 0.0
    while not started() and thread.is_alive() and waited < ready_timeout:
        deadline.wait(0.01)
        waited += 0.01
    if not started():
        server.should_exit = True
        detail = f": {failure[0]!r}" if failure else ""
        raise RuntimeError(f"the emulator did not start on {host}:{bound_port}{detail}")
    return EmulatorHandle(app, server, thread, host, bound_port)
