"""What this provider can do, as far as the kit knows: the profile's facts, then what was learned.

A gateway may lack list, delete, the thumbnail and spritesheet variants, Range, remix, edit or
extend. The profile says what it knows; what a provider refuses at run time (an `UnsupportedError`
from the client, a Range answered with 200) is written to the ledger once and remembered across
kernels, and every feature above asks here before it relies on one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api import UnsupportedError

if TYPE_CHECKING:
    from ..api import AsyncSoraClient
    from ..config import Settings
    from ._runner import Runner

__all__ = ["capability", "capability_reason", "learn", "learn_from_client"]


def capability(settings: Settings, name: str) -> bool | None:
    """True or False when known for this provider (learned first, then the profile), else None
    (unknown: try it)."""
    from ._plan import ledger_for

    learned = ledger_for(settings).capabilities(settings.provider)
    if name in learned:
        return learned[name][0]
    return settings.profile.capabilities.get(name)


def capability_reason(settings: Settings, name: str) -> str:
    """Why the kit believes this provider lacks ``name``, as one line for a person."""
    from ._plan import ledger_for

    learned = ledger_for(settings).capabilities(settings.provider)
    if name in learned and learned[name][1]:
        return str(learned[name][1])
    return f"the {settings.profile.name} profile says this provider has no {name}"


def learn(runner: Runner, settings: Settings, error: UnsupportedError) -> None:
    """Remember that this provider lacks ``error.capability`` (queued on the ledger writer)."""
    from ._plan import ledger_for

    runner.write(
        ledger_for(settings), "learn", settings.provider, error.capability, False, error.message
    )


def learn_from_client(runner: Runner, settings: Settings, client: AsyncSoraClient) -> None:
    """Write what the client learned on its own (a Range answered with 200) to the ledger."""
    from ._plan import ledger_for

    learned = getattr(client, "learned", {})
    known = ledger_for(settings).capabilities(settings.provider)
    for name, supported in learned.items():
        if known.get(name, (None, None))[0] != supported:
            runner.write(ledger_for(settings), "learn", settings.provider, name, supported, None)
