"""A local emulator of the ``/v1/videos`` API: validates like the real service, renders real MP4s.

Start one in a background thread::

    from sora_widgets.emulator import serve_in_thread
    with serve_in_thread(job_seconds=2) as emulator:
        print(emulator.base_url)          # http://127.0.0.1:PORT/v1

or from a shell: ``sora-emulator --port 8000`` (see ``sora-emulator --help``). Importing this package
is cheap: Starlette, uvicorn and PyAV load only when a server is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._faults import FaultAction, FaultRule, parse_fault
from ._settings import (
    GATEWAY_BEHAVIOURS,
    PROFILE_NAMES,
    EmulatorSettings,
    gateway_behaviours,
    service_profile,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ._server import EmulatorHandle

__all__ = [
    "GATEWAY_BEHAVIOURS",
    "PROFILE_NAMES",
    "EmulatorHandle",
    "EmulatorSettings",
    "FaultAction",
    "FaultRule",
    "create_app",
    "gateway_behaviours",
    "parse_fault",
    "serve",
    "serve_in_thread",
    "service_profile",
]


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """The emulator as a Starlette app (``app.state.emulator`` holds its jobs)."""
    from ._app import create_app as _create_app

    return _create_app(settings)


def serve(settings: EmulatorSettings | None = None, **kwargs: Any) -> None:
    """Serve in this thread until interrupted; see `sora_widgets.emulator._server.serve`."""
    from ._server import serve as _serve

    _serve(settings, **kwargs)


def serve_in_thread(
    settings: EmulatorSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **overrides: Any,
) -> EmulatorHandle:
    """Start an emulator in a daemon thread; returns a handle with ``base_url`` and ``stop()``.

    ``overrides`` are `EmulatorSettings` fields, e.g. ``serve_in_thread(job_seconds=1)``.
    """
    from ._server import serve_in_thread as _serve_in_thread

    return _serve_in_thread(settings, host=host, port=port, **overrides)


def __getattr__(name: str) -> Any:
    if name == "EmulatorHandle":
        from ._server import EmulatorHandle

        return EmulatorHandle
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
