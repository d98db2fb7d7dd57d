"""Subcommands that read what is known here and send nothing: list, cost, config."""

from __future__ import annotations

import argparse
import html
import time
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ._options import Command, CommandParser, add_dry_run, add_settings

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["INFO_COMMANDS"]


def _local_options(parser: CommandParser) -> None:
    add_dry_run(parser, "accepted; this command never sends anything")
    add_settings(parser, out=False)


def _list_options(parser: CommandParser) -> None:
    parser.add_argument("count", nargs="?", metavar="N", help=argparse.SUPPRESS)
    _local_options(parser)


def handle_list(ctx: Context, args: argparse.Namespace) -> object:
    """The N (default 20) most recent jobs of this provider, from the ledger."""
    from ..display import Bundle, format_cost
    from ..jobs import capability, capability_reason, ledger_for
    from ._output import Lines

    count = 20
    if args.count is not None:
        if not args.count.isdigit() or not 1 <= int(args.count) <= 1000:
            raise UsageError(
                f"%sora list N: N must be a whole number from 1 to 1000, not {args.count!r}"
            )
        count = int(args.count)
    settings = ctx.settings(args)
    rows = ledger_for(settings).recent(count, provider=settings.provider)
    if not rows:
        return Lines(f"No jobs yet for {settings.provider}.")
    simulated = settings.profile.billing == "simulated"
    head = ("id", "status", "progress", "model", "size", "s", "cost", "created", "prompt")
    body = []
    text = []
    for row in rows:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
        prompt = (row.prompt or "")[:80]
        cells = (
            row.id,
            row.status,
            f"{row.progress}%",
            row.model or "",
            row.size or "",
            row.seconds or "",
            format_cost(row.cost, simulated=simulated),
            created,
            prompt,
        )
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        text.append("  ".join(str(c) for c in cells[:8]) + f"  {prompt!r}")
    table = (
        "<table class='sora-list'><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    if capability(settings, "list") is False:  # say where the rows come from
        note = (
            f"{capability_reason(settings, 'list')}: these are the jobs this machine's ledger "
            "knows (resume follows them all without a list)"
        )
        table = f"<div class='sora-note'>{html.escape(note)}</div>{table}"
        text.insert(0, note)
    return Bundle({"text/html": table, "text/plain": "\n".join(text)}, {})


def handle_cost(ctx: Context, args: argparse.Namespace) -> object:
    """The estimated spend on this provider (and everywhere), and what max_spend leaves."""
    from ..display import format_cost
    from ..jobs import ledger_for
    from ._output import Lines

    settings = ctx.settings(args)
    ledger = ledger_for(settings)
    simulated = settings.profile.billing == "simulated"
    spent = ledger.total_spent(provider=settings.provider)
    lines = [f"estimated spend on {settings.provider}: {format_cost(spent, simulated=simulated)}"]
    everywhere = ledger.total_spent()
    if abs(everywhere - spent) > 1e-9:
        lines.append(f"on every provider in the ledger: {format_cost(everywhere)}")
    if settings.max_spend is not None:
        left = max(0.0, settings.max_spend - spent)
        lines.append(f"max_spend {format_cost(settings.max_spend)}: {format_cost(left)} left")
    return Lines("\n".join(lines))


def _config_options(parser: CommandParser) -> None:
    add_dry_run(parser, "accepted; this command never sends anything")
    add_settings(parser)


def handle_config(ctx: Context, args: argparse.Namespace) -> object:
    """The settings in effect (never the key itself)."""
    from ._output import Lines

    settings = ctx.settings(args)
    defaults = ctx.defaults
    key = "set (from the environment)" if settings.api_key and not settings.emulated else "none"
    spend = "none" if settings.max_spend is None else f"${settings.max_spend:.2f}"
    embed = "automatic (on in Colab)" if defaults.embed is None else defaults.embed
    lines = [
        f"provider:   {'local emulator ' if settings.emulated else ''}{settings.provider}",
        f"profile:    {settings.profile.name} ({settings.profile.description})",
        f"api key:    {key}",
        f"model:      {defaults.model or settings.profile.default_model}",
        f"size:       {defaults.size or settings.profile.default_size}",
        f"seconds:    {defaults.seconds or settings.profile.default_seconds}",
        f"output_dir: {settings.output_dir}",
        f"max_spend:  {spend}",
        f"embed:      {embed}",
        f"ledger:     {settings.ledger_path}",
    ]
    return Lines("\n".join(lines))


INFO_COMMANDS = (
    Command(
        "list",
        "%sora list [N]",
        "the N (default 20) most recent jobs of this provider",
        _list_options,
        handle_list,
    ),
    Command(
        "cost",
        "%sora cost",
        "estimated spend, and what max_spend leaves",
        _local_options,
        handle_cost,
    ),
    Command(
        "config",
        "%sora config",
        "the settings in effect (never the key)",
        _config_options,
        handle_config,
    ),
)
