"""What handlers return: small display objects that know how to show themselves.

`Lines` is plain text; `Outputs` shows several objects in order; `dry_run_view` is the one look of
every dry run (what would be sent, to where, for how much; ``nothing was sent``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings
    from ..display import Bundle
    from ..jobs import GenerationPlan

__all__ = ["Lines", "Outputs", "dry_run_view", "plan_view", "request_view"]


@dataclass(frozen=True)
class Lines:
    """Plain text output (one or more lines), shown as the cell's output."""

    text: str

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"text/plain": self.text}, {}

    def __str__(self) -> str:
        return self.text


class Outputs:
    """Several display objects shown one after another (None items are skipped)."""

    def __init__(self, *items: object) -> None:
        self.items = [item for item in items if item is not None]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for item in self.items:
            display(item)


def _where(settings: Settings) -> str:
    """Where requests go, named after them (``POST /videos on the local emulator``): the
    emulator, or the provider's base URL."""
    return "the local emulator" if settings.emulated else settings.provider


def dry_run_view(head: str, fields: Mapping[str, str]) -> Bundle:
    """A dry run's output: ``head`` in bold (it ends in "nothing was sent"), then the fields."""
    from ..display import Bundle

    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>"
        f"<td style='white-space:pre-wrap'>{html.escape(v)}</td></tr>"
        for k, v in fields.items()
    )
    text = "\n".join([head, *(f"{k}: {v}" for k, v in fields.items())])
    body = (
        f"<div class='sora-dry-run'><div><b>{html.escape(head)}</b></div>"
        f"<table>{rows}</table></div>"
    )
    return Bundle({"text/html": body, "text/plain": text}, {"sora_widgets": {"dry_run": True}})


def plan_view(plan: GenerationPlan) -> Bundle:
    """The dry run of a generation or remix plan: endpoint × count, profile, cost, fields."""
    from ..display import format_cost

    cost = format_cost(plan.total_cost, simulated=plan.simulated)
    if plan.total_cost is not None and plan.price_note:
        cost += f" ({plan.price_note})"
    elif plan.total_cost is None:
        cost = "price unknown"
    head = (
        f"dry run: {plan.endpoint} on {_where(plan.settings)} × {plan.count} with profile "
        f"{plan.settings.profile.name}, estimated {cost}; nothing was sent"
    )
    return dry_run_view(head, plan.fields())


def request_view(
    settings: Settings, requests: list[str], fields: Mapping[str, str] | None = None
) -> Bundle:
    """The dry run of an action: each request it would send (``"DELETE /videos/ID"``), no cost."""
    if not requests:
        head = "dry run: no request needed; nothing was sent"
    else:
        sent = ", then ".join(requests)  # all to one place, named once
        head = f"dry run: {sent} on {_where(settings)} (no charge); nothing was sent"
    return dry_run_view(head, dict(fields or {}))
