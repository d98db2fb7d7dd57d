"""Subcommands that read what is known here and send nothing: list, cost, config."""

from __future__ import annotations

import argparse
import html
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from IPython.core.error import UsageError

from ._options import Command, CommandParser, add_dry_run, add_settings

if TYPE_CHECKING:
    from ..api import GatewayPrice, ModelSpec
    from ..ledger import Ledger
    from ._context import Context

__all__ = ["INFO_COMMANDS"]


def _local_options(parser: CommandParser) -> None:
    add_dry_run(parser, "accepted; this command never sends anything")
    add_settings(parser, out=False)


def _list_options(parser: CommandParser) -> None:
    parser.add_argument("count", nargs="?", metavar="N", help=argparse.SUPPRESS)
    parser.add_argument(
        "-l", "--long", action="store_true", help="full ids and whole prompts (not shortened)"
    )
    _local_options(parser)


_ID_FLOOR = 8
"""A short id keeps at least this many characters after its kind (``video_``), so it stays
unique as more jobs come."""
_KIND = re.compile(r"[A-Za-z]{1,10}[_:-]")
_LINE_WIDTH = 120
"""The width `%sora list` aims at in text: the prompt takes what the other columns leave."""
_PROMPT_WIDTH = (36, 72)
_CELL = "text-align:left;vertical-align:top;padding:2px 10px 2px 0;white-space:nowrap"
_TABLE = "table-layout:auto;width:100%;max-width:90em;margin:0 0 4px 0"
_LONG_TABLE = "table-layout:auto;width:auto;max-width:100%;margin:0 0 4px 0"
_PROMPT_CELL = "width:100%;max-width:0;white-space:normal"
"""The prompt's column takes the width the others leave (``max-width:0`` lets it shrink)."""
_PROMPT_BOX = "max-width:48em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap"
_LONG_PROMPT_CELL = "white-space:normal"
_LONG_PROMPT_BOX = "min-width:14em;max-width:60em;white-space:pre-wrap;overflow-wrap:anywhere"
_LONG_ID = "white-space:normal;word-break:break-all;min-width:16em"
"""A gateway's 280-character id wraps in its cell (an OpenAI id, 54 characters, stays whole)."""


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class _Entry:
    """One row of ``%sora list``: a job, or a storyboard (its shots in one row)."""

    id: str
    status: str
    model: str
    size: str
    seconds: str
    cost: float | None
    created_at: float
    prompt: str


def _entries(ledger: Ledger, provider: str, count: int) -> list[_Entry]:
    """The newest ``count`` jobs and boards, newest first; a board's shots are in its row."""
    entries = [
        _Entry(
            row.id,
            row.status if row.finished else f"{row.status} {row.progress}%",
            row.model or "",
            row.size or "",
            row.seconds or "",
            row.cost,
            row.created_at,
            row.prompt or "",
        )
        for row in ledger.recent(count, provider=provider, standalone=True)
    ]
    for board in ledger.recent_boards(count, provider=provider):
        shots = board.shots
        made = ledger.board_jobs(board.id)
        done = {r.shot for r in made if r.status == "completed"}
        status = board.status
        if status == "making":
            status = f"making {len(done)}/{len(shots)}"
        costs = [r.cost for r in made if not r.pending]
        spent = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
        lengths = [str(s.get("seconds") or "") for s in shots]  # each shot's, as planned
        total = sum(int(x) for x in lengths if x.isdigit())
        lines = [str(s.get("prompt", "")).splitlines()[0] for s in shots if s.get("prompt")]
        entries.append(
            _Entry(
                board.id,
                status,
                board.model or "",
                board.size or "",
                str(total) if total else "",
                spent if made else board.cost,
                board.created_at,
                f"storyboard, {len(shots)} shots: " + " / ".join(lines),
            )
        )
    entries.sort(key=lambda e: e.created_at, reverse=True)
    return entries[:count]


def _short_ids(ids: list[str], find: Callable[[str], _HasId | None]) -> dict[str, str]:
    """The shortest prefix of each id that ``find`` (the ledger's lookup, which ``%sora status``
    uses) resolves to that very job, and no shorter than its kind plus `_ID_FLOOR` characters.

    The ledger matches prefixes without regard to case, so the first guess is one character past
    the longest prefix (case folded) shared with another listed id; ``find`` settles it.
    """
    folded = sorted((i.lower(), i) for i in ids)
    shared: dict[str, int] = dict.fromkeys(ids, 0)
    for (a, ida), (b, idb) in itertools.pairwise(folded):
        common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        common = min(len(a), len(b)) if common is None else common
        shared[ida] = max(shared[ida], common)
        shared[idb] = max(shared[idb], common)
    short = {}
    for video_id in ids:
        kind = _KIND.match(video_id)
        floor = (kind.end() if kind else 0) + _ID_FLOOR
        low = min(len(video_id), max(floor, shared[video_id] + 1))

        def resolves(n: int, video_id: str = video_id) -> bool:
            row = find(video_id[:n])
            return row is not None and row.id == video_id

        high = len(video_id)  # the whole id always resolves (exact match)
        if resolves(low):
            high = low
        else:  # longer prefixes only match fewer jobs: the shortest that resolves, by halving
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (low, middle) if resolves(middle) else (middle, high)
        short[video_id] = video_id[:high]
    return short


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _when(created_at: float, *, long: bool = False) -> str:
    """When a job was made: ``14:05`` today, ``12-01 14:05`` this year, else the date; with
    ``long`` always ``2026-12-01 14:05``."""
    moment, now = time.localtime(created_at), time.localtime()
    if long:
        form = "%Y-%m-%d %H:%M"
    elif moment[:3] == now[:3]:
        form = "%H:%M"
    else:
        form = "%m-%d %H:%M" if moment.tm_year == now.tm_year else "%Y-%m-%d"
    return time.strftime(form, moment)


def _list_text(
    head: tuple[str, ...], table: list[tuple[str, ...]], prompts: list[str]
) -> list[str]:
    """Aligned columns, the prompt last and left-aligned (its later lines under its first)."""
    widths = [max(len(h), *(len(cells[i]) for cells in table)) for i, h in enumerate(head)]

    def line(cells: tuple[str, ...], prompt: str) -> str:
        left = "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)) + "  "
        first, *more = prompt.splitlines() or [""]
        return "\n".join([left + first, *(" " * len(left) + m for m in more)]).rstrip()

    return [line(head, "prompt"), *(line(c, p) for c, p in zip(table, prompts, strict=True))]


def _list_html(
    head: tuple[str, ...],
    table: list[tuple[str, ...]],
    rows: list[_Entry],
    *,
    long: bool,
) -> str:
    """A left-aligned table that keeps its own layout in Jupyter (whose tables are fixed-layout,
    centred and right-aligned): one line a cell; the prompt in the room left, cut with an ellipsis
    by CSS (whole in its title); with ``long`` whole ids and prompts, wrapped."""
    code = ";font-family:var(--jp-code-font-family,monospace)"
    cell, box = (_LONG_PROMPT_CELL, _LONG_PROMPT_BOX) if long else (_PROMPT_CELL, _PROMPT_BOX)
    body = []
    for row, cells in zip(rows, table, strict=True):
        id_style = _CELL + code + (";" + _LONG_ID if long and len(row.id) > 64 else "")
        prompt = row.prompt or ""
        tds = [f"<td style='{id_style}' title='{html.escape(row.id)}'>{html.escape(cells[0])}</td>"]
        tds += [f"<td style='{_CELL}'>{html.escape(c)}</td>" for c in cells[1:]]
        tds.append(
            f"<td style='{_CELL};{cell}' title='{html.escape(prompt)}'>"
            f"<div class='sora-prompt' style='{box}'>"
            f"{html.escape(prompt if long else _one_line(prompt))}</div></td>"
        )
        body.append("<tr>" + "".join(tds) + "</tr>")
    ths = "".join(f"<th style='{_CELL}'>{html.escape(h)}</th>" for h in (*head, "prompt"))
    return (
        f"<table class='sora-list' style='{_LONG_TABLE if long else _TABLE}'>"
        f"<thead><tr>{ths}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _note(text: str) -> str:
    return f"<div class='sora-note' style='opacity:.75'>{html.escape(text)}</div>"


def handle_list(ctx: Context, args: argparse.Namespace) -> object:
    """The N (default 20) most recent jobs of this provider, from the ledger.

    Compact by default: each id cut to the shortest prefix that ``%sora status/show/…`` still
    resolve to that job, the prompt on one line and cut to fit; ``--long`` shows both whole.
    """
    from ..display import Bundle
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
    ledger = ledger_for(settings)
    rows = _entries(ledger, settings.provider, count)
    if not rows:
        return Lines(f"No jobs yet for {settings.provider}.")
    long = bool(args.long)

    def find(prefix: str) -> _HasId | None:
        return ledger.find(prefix) or ledger.find_board(prefix)

    ids = {r.id: r.id for r in rows} if long else _short_ids([r.id for r in rows], find)
    simulated = settings.profile.billing == "simulated"
    cost_head = "simulated cost" if simulated else "cost"
    head = ("id", "status", "model", "size", "s", cost_head, "created")
    table: list[tuple[str, ...]] = []
    for row in rows:
        cost = "unknown" if row.cost is None else f"${row.cost:,.2f}"
        table.append(
            (
                ids[row.id],
                row.status,
                row.model,
                row.size,
                row.seconds,
                cost,
                _when(row.created_at, long=long),
            )
        )
    prompts = [row.prompt or "" for row in rows]
    if not long:  # the prompt takes the room the other columns leave, within limits
        used = sum(max(len(h), *(len(c[i]) for c in table)) + 2 for i, h in enumerate(head))
        width = min(_PROMPT_WIDTH[1], max(_PROMPT_WIDTH[0], _LINE_WIDTH - used))
        prompts = [_cut(_one_line(p), width) for p in prompts]
    text = _list_text(head, table, prompts)
    markup = _list_html(head, table, rows, long=long)
    if capability(settings, "list") is False:  # say where the rows come from
        where = (
            f"{capability_reason(settings, 'list')}: these are the jobs this machine's ledger "
            "knows (resume follows them all without a list)"
        )
        text.insert(0, where)
        markup = _note(where) + markup
    if any(ids[r.id] != r.id for r in rows):
        hint = "ids are shortened: each works as shown (%sora show ID); --long shows them whole"
    elif any(p != (r.prompt or "") for r, p in zip(rows, prompts, strict=True)):
        hint = "prompts are shortened; %sora list --long shows them whole"
    else:
        hint = ""
    if hint:
        text.append(hint)
        markup += _note(hint)
    return Bundle({"text/html": markup, "text/plain": "\n".join(text)}, {})


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
        "%sora list [N] [--long]",
        "the N (default 20) most recent jobs of this provider (ids shortened; --long: whole)",
        _list_options,
        handle_list,
        examples=("%sora list\n%sora list 50 --long",),
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
