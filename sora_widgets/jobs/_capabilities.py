"""What this provider can do, as far as the kit knows: the profile's facts, then what was learned.

A gateway may lack list, delete, the thumbnail and spritesheet variants, Range, remix, edit or
extend. The profile says what it knows; what a provider refuses at run time (an `UnsupportedError`
from the client, a Range answered with 200) is written to the ledger once and remembered across
kernels, and every feature above asks here before it relies on one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import UnsupportedError

if TYPE_CHECKING:
    from ..api import AsyncSoraClient
    from ..config import Settings
    from ._runner import Runner

__all__ = ["capability", "capability_reason", "known", "learn", "learn_from_client", "preload"]

_lock = threading.Lock()
_learned: dict[tuple[Path, str], dict[str, tuple[bool, str | None]]] = {}
"""What was learned, by (ledger file, provider): read from the ledger once, then kept here, so
the Runner's loop asks memory, never SQLite."""


def _key(settings: Settings) -> tuple[Path, str]:
    return (Path(settings.ledger_path).expanduser().absolute(), settings.provider)


def preload(settings: Settings) -> dict[str, tuple[bool, str | None]]:
    """Read what the ledger learned of this provider (another kernel may have learned it too)
    into memory; a SQLite read, so call it from the caller's thread, never the Runner's loop."""
    from ._plan import ledger_for

    found = ledger_for(settings).capabilities(settings.provider)
    with _lock:
        learned = _learned.setdefault(_key(settings), {})
        learned.update(found)
        return dict(learned)


def known(settings: Settings, name: str) -> bool | None:
    """`capability` from memory only (safe on the Runner's loop): what was learned in this process
    or preloaded, else the profile's fact."""
    with _lock:
        learned = _learned.get(_key(settings), {})
    if name in learned:
        return learned[name][0]
    return settings.profile.capabilities.get(name)


def capability(settings: Settings, name: str) -> bool | None:
    """True or False when known for this provider (learned first, then the profile), else None
    (unknown: try it)."""
    preload(settings)
    return known(settings, name)


def capability_reason(settings: Settings, name: str) -> str:
    """Why the kit believes this provider lacks ``name``, as one line for a person."""
    learned = preload(settings)
    if name in learned and learned[name][1]:
        return str(learned[name][1])
    return f"the {settings.profile.name} profile says this provider has no {name}"


def _remember(
    runner: Runner, settings: Settings, name: str, supported: bool, reason: str | None
) -> None:
    from ._plan import ledger_for

    with _lock:
        learned = _learned.setdefault(_key(settings), {})
        if learned.get(name, (None, None))[0] == supported:
            return
        learned[name] = (supported, reason)
    runner.write(ledger_for(settings), "learn", settings.provider, name, supported, reason)


def learn(runner: Runner, settings: Settings, error: UnsupportedError) -> None:
    """Remember that this provider lacks ``error.capability``: at once in memory, and in the
    ledger (queued on its writer) for later kernels."""
    _remember(runner, settings, error.capability, False, error.message)


def learn_from_client(runner: Runner, settings: Settings, client: AsyncSoraClient) -> None:
    """Remember what the client learned on its own (a Range answered with 200)."""
    for name, supported in getattr(client, "learned", {}).items():
        _remember(runner, settings, name, supported, None)
