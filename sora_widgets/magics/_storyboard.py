"""``%%sora --storyboard``: the cell holds shots separated by lines of ``---``; every shot is
priced and checked first (a dry run shows them all and the total), then the board is made and its
card follows it, shot by shot, until the joined video plays."""

from __future__ import annotations

import argparse
import html
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from ..jobs import Storyboard
    from ._context import Context

__all__ = ["LiveBoards", "board_card", "handle_storyboard"]

_CHAINS = {
    "frame": "each from the last frame of the one before",
    "extend": "each extends the one before (POST /videos/extensions)",
    "independent": "independent",
}


def board_card(board: Storyboard) -> Any:
    """The board's live card: a line a shot (its status), then the joined video once it is."""
    from ..display import Bundle, format_cost

    simulated = board.settings.profile.billing == "simulated"
    rows = []
    for number, (shot, job) in enumerate(zip(board.shots, board.jobs, strict=True), 1):
        tries = len(board.attempts[number - 1])
        state = "waiting" if job is None else str(job.status)
        if job is None and tries:
            state = str(board.attempts[number - 1][-1].status)
        again = f" (try {tries})" if tries > 1 else ""
        first_line = shot.prompt.splitlines()[0]
        rows.append(
            f"<li><b>shot {number}</b> · {html.escape(state)}{again} · "
            f"{html.escape(first_line[:100])}</li>"
        )
    total = format_cost(board.total_cost, simulated=simulated)
    name = f"storyboard {board.id}" if board.id else "storyboard"
    head = f"{name} of {len(board.shots)} shots ({board.seconds} s), estimated {total}"
    if board.error is not None:
        head += f" · stopped: {board.error}"
    elif board.video is not None:
        head += f" · joined ({board.join_method}), {len(board.chapters)} chapters"
    notes = [board.note] if board.note else []
    if board.error is not None and board.id:
        notes.append("%sora resume finishes it: finished shots are kept, only the rest are made")
    note = "".join(f"<div class='sora-board-note'>{html.escape(n)}</div>" for n in notes)
    body = (
        f"<div class='sora-board'><div><b>{html.escape(head)}</b></div>{note}"
        f"<ul>{''.join(rows)}</ul>"
    )
    text = [
        head,
        *notes,
        *(f"shot {n}: {s.prompt.splitlines()[0]}" for n, s in enumerate(board.shots, 1)),
    ]
    if board.video is not None:
        body += board_player(board)
        text.append(str(board.video))
    return Bundle({"text/html": body + "</div>", "text/plain": "\n".join(text)}, {})


def board_player(board: Storyboard) -> str:
    """The joined video as plain HTML, with its strip (one thumbnail a shot): a click on a shot
    jumps there (an inline script, run where the notebook is trusted)."""
    from ..display import relative_path, small_poster

    assert board.video is not None
    src = html.escape(relative_path(board.video), quote=True)
    ident = f"sora-board-{abs(hash((str(board.video), id(board)))):x}"
    tiles = []
    for (start, _end, title), job in zip(board.chapters, board.jobs, strict=False):
        thumb = job.paths.get("thumbnail") if job is not None else None
        image = small_poster(thumb, 160) if thumb is not None and thumb.exists() else ""
        picture = f'<img src="{image}" alt="" style="width:120px;display:block">' if image else ""
        tiles.append(
            f'<button type="button" class="sora-board-shot" data-start="{start:.3f}" '
            f'title="{html.escape(title, quote=True)}" style="padding:2px;margin:0 4px 4px 0">'
            f"{picture}<span style='font-size:11px'>{html.escape(title[:40])}</span></button>"
        )
    # The script finds its own player from where it runs: the same card can be on the page
    # twice with one id (a second view of the notebook or of the output, the board shown again),
    # and by id alone the second strip would drive the first video. Failing that (a front end
    # that runs it elsewhere), the first player of this id not yet bound.
    script = (
        "<script>(() => { const me = document.currentScript;"
        " const root = (me && me.closest('.sora-board-player')) || Array.from("
        f"document.querySelectorAll('[id=\"{ident}\"]')).find((r) => !r.dataset.soraStrip);"
        " if (!root || root.dataset.soraStrip) return; root.dataset.soraStrip = '1';"
        " const video = root.querySelector('video');"
        " root.querySelectorAll('.sora-board-shot').forEach((b) => b.addEventListener('click',"
        " () => { video.currentTime = Number(b.dataset.start) + 0.01;"
        " const playing = video.play(); if (playing) playing.catch(() => {}); })); })();"
        "</script>"
    )
    name = html.escape(board.video.name, quote=True)
    return (
        f'<div class="sora-player sora-board-player" id="{ident}" style="max-width:720px">'
        f'<video controls playsinline preload="metadata" src="{src}" '
        'style="display:block;max-width:100%;max-height:480px;background:#000">'
        f'<a href="{src}">{name}</a></video>'
        f'<div class="sora-board-strip" style="display:flex;flex-wrap:wrap;margin-top:4px">'
        f"{''.join(tiles)}</div>"
        f'<a class="sora-player-download" href="{src}" download="{name}">download</a>'
        f"{script}</div>"
    )


def handle_storyboard(ctx: Context, args: argparse.Namespace, reference: Any) -> object:
    """Plan every shot (a dry run shows them and the total), then make the board and follow it."""
    from .. import jobs
    from ..display import format_cost
    from ._generate import interpolate
    from ._output import dry_run_view

    if ctx.cell is None:
        raise UsageError(
            "--storyboard needs the cell form: %%sora --storyboard, then one prompt per shot, "
            "separated by lines of ---"
        )
    if args.variants != 1:
        raise UsageError("--storyboard makes one video a shot: leave out -n/--variants")
    text = ctx.cell if args.no_interpolate else interpolate(ctx.cell, ctx.namespace)
    shots = jobs.parse_storyboard(text)
    settings = ctx.settings(args)
    common: dict[str, Any] = {
        "model": args.model or ctx.defaults.model or None,
        "size": args.size or ctx.defaults.size or None,
        "seconds": args.seconds or ctx.defaults.seconds or None,
        "validate": not args.no_validate,
        "settings": settings,
    }
    continuity = "independent" if args.independent else "extend" if args.extend else "frame"
    if args.dry_run:
        plans = jobs.plan_storyboard(shots, reference=reference, continuity=continuity, **common)
        costs = [p.unit_cost for p in plans]
        total = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
        simulated = settings.profile.billing == "simulated"
        where = "the local emulator" if settings.emulated else settings.provider
        sends = (
            f"POST /videos on {where}, then POST /videos/extensions × {len(plans) - 1}"
            if continuity == "extend" and len(plans) > 1
            else f"POST /videos on {where} × {len(plans)}"
        )
        head = (
            f"dry run: storyboard of {len(plans)} shots, {sends}, "
            f"estimated {format_cost(total, simulated=simulated)} in all; nothing was sent"
        )
        chain = _CHAINS[continuity]
        fields = {"shots": chain}
        for number, shot_plan in enumerate(plans, 1):
            route = "POST /videos/extensions" if number > 1 and continuity == "extend" else ""
            added = " added" if route else ""
            fields[f"shot {number}"] = (
                f"{route + ' · ' if route else ''}{shot_plan.model} · {shot_plan.size} · "
                f"{shot_plan.seconds} s{added} · "
                f"{format_cost(shot_plan.unit_cost, simulated=simulated)} · "
                f"{shot_plan.request.prompt}"
            )
        return dry_run_view(head, fields)
    board = jobs.storyboard(shots, reference=reference, continuity=continuity, **common)
    ctx.bind(ctx.check_name(args), board)
    return _LiveBoard(board, wait=args.wait)


class _LiveBoard:
    """The board's card, updated in place from the board's thread; ``wait`` blocks the cell."""

    def __init__(self, board: Storyboard, *, wait: bool) -> None:
        self.board = board
        self.wait = wait

    def _ipython_display_(self) -> None:
        from IPython.display import display

        handle = display(board_card(self.board), display_id=True)

        def changed(board: Storyboard) -> None:
            if handle is not None:
                handle.update(board_card(board))

        self.board.on_change(changed)
        if self.wait:
            try:
                self.board.wait()
            except KeyboardInterrupt:
                print("Stopped waiting; the storyboard goes on in the background.")
            except Exception:  # the card says what stopped it
                pass
            if handle is not None:
                handle.update(board_card(self.board))


class LiveBoards:
    """Several boards' live cards (``%sora resume``); ``wait`` blocks until all are done."""

    def __init__(self, boards: list[Storyboard], *, wait: bool) -> None:
        self.boards = boards
        self.wait = wait

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for board in self.boards:
            display(_LiveBoard(board, wait=False))
        if self.wait:
            for board in self.boards:
                try:
                    board.wait()
                except KeyboardInterrupt:
                    print("Stopped waiting; the storyboards go on in the background.")
                    return
                except Exception:  # each card says what stopped its board
                    pass
