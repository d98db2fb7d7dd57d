"""Subcommands that read what is known here and send nothing: list, cost, config."""

from __future__ import annotations

import argparse
import html
import time
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ._options import Command, CommandParser, add_dry_run, add_settings

if TYPE_CHECKING:
    from ..api import GatewayPrice, ModelSpec
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


def _models_options(parser: CommandParser) -> None:
    parser.add_argument(
        "--all",
        action="store_true",
        help="every model of the catalogue, not only the provider's",
    )
    parser.add_argument(
        "--refresh", action="store_true", help="ask the provider again (its list is cached)"
    )
    add_dry_run(parser, "accepted; reading the provider's model list is not billed")
    add_settings(parser, out=False)


def _seconds_text(seconds: tuple[str, ...]) -> str:
    numbers = sorted(int(s) for s in seconds if s.isdigit())
    if len(numbers) > 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    return ", ".join(str(n) for n in numbers) or "any"


def _price_text(spec: ModelSpec | None, row_price: GatewayPrice | None) -> tuple[str, str]:
    """(price per second, where it comes from) of a model."""
    offered = [r for size in (spec.sizes if spec else ()) if (r := spec.price(size)) is not None]  # type: ignore[union-attr]
    if spec is not None and spec.origin != "gateway" and offered:
        rates = sorted(set(offered))
        rate = f"${rates[0]:.2f}" + (f"–${rates[-1]:.2f}" if len(rates) > 1 else "")
        return rate, spec.price_origin
    if row_price is not None:
        rates = sorted(
            {*row_price.by_tier.values(), *([row_price.per_second] if row_price.per_second else [])}
        )
        if rates:
            rate = f"${rates[0]:.2f}" + (f"–${rates[-1]:.2f}" if len(rates) > 1 else "")
            return rate, "the gateway's price"
    return "price unknown", ""


def handle_models(ctx: Context, args: argparse.Namespace) -> object:
    """The provider's video models (its /v1/models, a gateway's /model/info) and what the kit
    knows of each: sizes, lengths, price and where it comes from."""
    from ..api import catalogue_names, find_model
    from ..display import Bundle
    from ..jobs import ModelRow, provider_models

    settings = ctx.settings(args)
    if args.all:
        specs = [spec for name in catalogue_names() if (spec := find_model(name)) is not None]
        rows = [ModelRow(spec.name, spec, spec.origin) for spec in specs]
        where = "the kit's catalogue"
        note = ""
    else:
        found = provider_models(settings, refresh=args.refresh)
        rows, where, note = list(found.rows), found.source, found.note
    head = ("model", "maker", "sizes", "seconds", "per second", "price from", "known from")
    cells_of = []
    for row in rows:
        spec = row.spec
        sizes = "any (not catalogued)"
        if spec is not None and spec.sizes:
            sizes = ", ".join(spec.ratios) + " · " + ", ".join(spec.tiers)
            sizes += " · auto" if spec.auto else ""
        rate, source = _price_text(spec, row.gateway_price)
        known = row.known_from + (f" ({row.upstream})" if row.known_from == "gateway" else "")
        cells_of.append(
            (
                row.name,
                spec.provider if spec else "",
                sizes,
                _seconds_text(spec.seconds) if spec else "any",
                rate,
                source,
                known,
            )
        )
    title = f"{len(rows)} video model(s) of {settings.provider}, from {where}"
    if args.all:
        title = f"{len(rows)} model(s) in the kit's catalogue"
    if note:
        title += f" (the provider lists none: {note})"
    hint = (
        "choose one with %%sora -m MODEL; sizes may be given as a ratio (16:9), a tier (720p) or "
        "pixels; add a model with sora_widgets.register_model(...)"
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
        for cells in cells_of
    )
    table = (
        f"<div class='sora-models'><div><b>{html.escape(title)}</b></div>"
        "<table class='sora-list'><thead><tr>"
        + "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
        + f"</tr></thead><tbody>{body}</tbody></table>"
        f"<div class='sora-note'>{html.escape(hint)}</div></div>"
    )
    widths = (
        [max(len(h), *(len(str(c[i])) for c in cells_of)) for i, h in enumerate(head)]
        if cells_of
        else []
    )
    lines = [title]
    if cells_of:
        lines.append("  ".join(h.ljust(widths[i]) for i, h in enumerate(head)).rstrip())
        lines += [
            "  ".join(str(c).ljust(widths[i]) for i, c in enumerate(cells)).rstrip()
            for cells in cells_of
        ]
    lines.append(hint)
    return Bundle({"text/html": table, "text/plain": "\n".join(lines)}, {})


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
        "models",
        "%sora models [--all] [--refresh]",
        "the provider's video models: sizes, lengths, prices",
        _models_options,
        handle_models,
        examples=("%sora models\n%sora models --all",),
    ),
    Command(
        "config",
        "%sora config",
        "the settings in effect (never the key)",
        _config_options,
        handle_config,
    ),
)
