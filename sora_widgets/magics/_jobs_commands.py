"""Subcommands that act on one job or on the unfinished ones: status, show, download, delete,
remix, resume.

Every one finds the job with `jobs.find_job` (the live handle when this kernel holds it, so its
listeners hear what is done) and acts through the jobs layer's actions; with ``--dry-run`` it
shows the requests it would send and sends none.
"""

from __future__ import annotations

import argparse
import concurrent.futures
from typing import TYPE_CHECKING, TypeVar

from IPython.core.error import UsageError

from ._options import (
    Command,
    CommandParser,
    add_as,
    add_dry_run,
    add_live,
    add_no_interpolate,
    add_settings,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..jobs import Job
    from ._context import Context

__all__ = ["JOB_COMMANDS"]

T = TypeVar("T")


def _id_argument(parser: CommandParser) -> None:
    parser.add_argument("ident", nargs="?", metavar="ID", help=argparse.SUPPRESS)


def _find(ctx: Context, args: argparse.Namespace, usage: str) -> tuple[Job, Settings]:
    """The job named by the ID word (or unique prefix), and the settings in effect."""
    from .. import jobs

    if not args.ident:
        raise UsageError(f"usage: {usage}; see %sora?")
    settings = ctx.settings(args)
    return jobs.find_job(args.ident, settings), settings


def _created(job: Job) -> bool:
    """Whether the job exists on the provider (it has a real id and was not deleted or lost)."""
    from ..jobs import JobStatus

    return (
        bool(job.id)
        and not (job.id or "").startswith("pending:")
        and job.status not in (JobStatus.DELETED, JobStatus.LOST)
    )


def _outcome(future: concurrent.futures.Future[T], what: str) -> T:
    """The action's result; an interrupt stops the waiting (the action goes on) in one line."""
    try:
        return future.result()
    except KeyboardInterrupt:
        raise UsageError(f"stopped waiting; the {what} goes on in the background") from None


# -- status -----------------------------------------------------------------------------------


def _status_options(parser: CommandParser) -> None:
    _id_argument(parser)
    add_dry_run(parser, "show the request it would send; send nothing")
    add_settings(parser, out=False)


def handle_status(ctx: Context, args: argparse.Namespace) -> object:
    """A job's state, live from the provider (the ledger's when it no longer exists there)."""
    from .. import jobs
    from ..display import status_card

    if _is_board(ctx, args):
        from ._storyboard import board_card

        return board_card(jobs.get_board(args.ident, ctx.settings(args)))
    job, settings = _find(ctx, args, "%sora status ID")
    if args.dry_run:
        requests = [f"GET /videos/{job.id}"] if _created(job) else []
        return _dry_view(settings, requests, job)
    if _created(job):
        _outcome(jobs.refresh(job), "status request")
    return status_card(job)


def _dry_view(settings: Settings, requests: list[str], job: Job, **fields: str) -> object:
    from ._output import request_view

    facts = {"id": job.id or "", "status (as known here)": str(job.status), **fields}
    return request_view(settings, requests, facts)


# -- show and download ------------------------------------------------------------------------


def _show_options(parser: CommandParser) -> None:
    _id_argument(parser)
    parser.add_argument(
        "--embed", action="store_true", default=None, help="inline the MP4 in the notebook"
    )
    add_dry_run(parser, "show the downloads it would need; send nothing")
    add_settings(parser)


def _content_requests(job: Job, variants: tuple[str, ...], force: bool = False) -> list[str]:
    """The content GETs `jobs.download` would send for ``variants`` (none if already on disk)."""
    on_disk = {v for v in variants if (path := job.paths.get(v)) is not None and path.exists()}
    if not force and (on_disk == set(variants) or (len(variants) > 1 and "video" in on_disk)):
        return []
    return [f"GET /videos/{job.id}/content?variant={v}" for v in variants]


def _check_finished(job: Job) -> None:
    """Refuse to show or download a job that has, or will have, nothing to fetch."""
    from ..jobs import JobStatus

    video = job.paths.get("video")
    if video is not None and video.exists():
        return
    if not job.done:
        raise UsageError(
            f"job {job.id} is {job.status} ({job.progress}%): nothing to show yet; "
            f"it appears in place when done (see %sora status {job.id})"
        )
    if job.status in (JobStatus.FAILED, JobStatus.DELETED, JobStatus.EXPIRED, JobStatus.LOST):
        raise UsageError(f"job {job.id} is {job.status}: there is no video to fetch")


def handle_show(ctx: Context, args: argparse.Namespace) -> object:
    """Play a finished job, downloading its files first if they are not on disk."""
    from .. import jobs
    from ..jobs import VARIANT_FILES

    if _is_board(ctx, args):
        from ._storyboard import board_card

        board = jobs.get_board(args.ident, ctx.settings(args))
        if board.video is None:
            raise UsageError(
                f"storyboard {board.id} is not joined yet ({board.status}): %sora status "
                f"{board.id} shows its shots; %sora resume {board.id} finishes it"
            )
        return board_card(board)
    job, settings = _find(ctx, args, "%sora show ID")
    _check_finished(job)
    if args.dry_run:
        requests = _content_requests(job, VARIANT_FILES)
        return _dry_view(settings, requests, job, into=str(job.settings.output_dir))
    _outcome(jobs.download(job), "download")
    return ctx.live.finished(job, embed=ctx.embed(args))


def _compare_options(parser: CommandParser) -> None:
    parser.add_argument("idents", nargs="*", metavar="ID", help=argparse.SUPPRESS)
    parser.add_argument(
        "--labels",
        metavar="A|B|…",
        help="one label a video, separated by | (default: what differs in their prompts)",
    )
    add_dry_run(parser, "show the downloads it would need; send nothing")
    add_settings(parser)


def handle_compare(ctx: Context, args: argparse.Namespace) -> object:
    """2 to 9 finished jobs side by side, playing, seeking and looping together."""
    from .. import jobs
    from ..compare import compare
    from ._output import request_view

    if not 2 <= len(args.idents) <= 9:
        raise UsageError(
            f"%sora compare takes 2 to 9 video ids, got {len(args.idents)}: "
            "%sora compare ID ID [ID …] (ids may be prefixes, see %sora list)"
        )
    settings = ctx.settings(args)
    found = [jobs.find_job(ident, settings) for ident in args.idents]
    for job in found:
        _check_finished(job)
    if args.dry_run:
        requests = [r for job in found for r in _content_requests(job, ("video", "thumbnail"))]
        return request_view(settings, requests)
    for job in found:
        _outcome(jobs.download(job), "download")
    labels = args.labels.split("|") if args.labels else None
    return compare(*found, labels=labels)


def _download_options(parser: CommandParser) -> None:
    _id_argument(parser)
    parser.add_argument(
        "--variant",
        choices=("video", "thumbnail", "spritesheet", "all"),
        default="video",
        metavar="WHICH",
        help="video (default), thumbnail, spritesheet or all",
    )
    parser.add_argument("--force", action="store_true", help="fetch again even if on disk")
    add_dry_run(parser, "show the downloads it would need; send nothing")
    add_settings(parser)


def handle_download(ctx: Context, args: argparse.Namespace) -> object:
    """Save a job's video (or another variant) into the output folder; says where."""
    from .. import jobs
    from ..jobs import VARIANT_FILES
    from ._output import Lines

    job, settings = _find(ctx, args, "%sora download ID [--variant thumbnail]")
    _check_finished(job)
    variant = None if args.variant == "all" else args.variant
    if args.dry_run:
        requests = _content_requests(job, (variant,) if variant else VARIANT_FILES, args.force)
        return _dry_view(settings, requests, job, into=str(job.settings.output_dir))
    paths = _outcome(jobs.download(job, variant, force=args.force), "download")
    return Lines("\n".join(f"saved {path}" for path in paths.values()))


# -- delete -----------------------------------------------------------------------------------


def _delete_options(parser: CommandParser) -> None:
    _id_argument(parser)
    add_dry_run(parser, "show the DELETE it would send; send nothing")
    add_settings(parser, out=False)


def handle_delete(ctx: Context, args: argparse.Namespace) -> object:
    """Delete a job's video on the provider (local files are kept)."""
    from .. import jobs
    from ._output import Lines

    job, settings = _find(ctx, args, "%sora delete ID")
    if not _created(job):
        raise UsageError(
            f"job {job.id} is {job.status}: there is nothing to delete on the provider"
        )
    if args.dry_run:
        return _dry_view(settings, [f"DELETE /videos/{job.id}"], job)
    _outcome(jobs.delete(job), "delete")
    return Lines(f"deleted {job.id} on the provider (local files are kept)")


# -- remix ------------------------------------------------------------------------------------


def _remix_options(parser: CommandParser) -> None:
    _id_argument(parser)
    parser.add_argument("prompt", nargs="*", metavar="PROMPT", help=argparse.SUPPRESS)
    add_live(parser)
    add_dry_run(parser, "show the remix request and its cost; send nothing")
    add_settings(parser)
    add_as(parser, "the new Job")
    add_no_interpolate(parser)


def handle_remix(ctx: Context, args: argparse.Namespace) -> object:
    """A new video from a finished one and a new prompt (same model, size and length)."""
    from .. import jobs
    from ._generate import interpolate

    name = ctx.check_name(args)
    if not args.ident or not args.prompt:
        raise UsageError("usage: %sora remix ID PROMPT; see %sora?")
    prompt = " ".join(args.prompt)
    if not args.no_interpolate:
        prompt = interpolate(prompt, ctx.namespace)
    source, settings = _find(ctx, args, "%sora remix ID PROMPT")
    plan = jobs.plan_remix(source, prompt, settings=settings)
    if args.dry_run:
        from ._output import plan_view

        return plan_view(plan)
    job = jobs.submit(plan)[0]
    ctx.bind(name, job)
    from ._live import LiveJobs

    return LiveJobs(ctx.live, [job], embed=ctx.embed(args), wait=args.wait)


# -- resume -----------------------------------------------------------------------------------


def _resume_options(parser: CommandParser) -> None:
    parser.add_argument("ident", nargs="?", metavar="BOARD", help=argparse.SUPPRESS)
    add_live(parser)
    add_dry_run(parser, "list the jobs it would follow; send nothing")
    add_settings(parser)


def handle_resume(ctx: Context, args: argparse.Namespace) -> object:
    """Follow every unfinished job of this provider to the end, and finish its unfinished
    storyboards (after a restart, say); ``%sora resume BOARD`` finishes that storyboard only."""
    from .. import jobs
    from ._live import LiveJobs
    from ._output import Lines, request_view
    from ._storyboard import LiveBoards

    settings = ctx.settings(args)
    ledger = jobs.ledger_for(settings)
    if args.ident and not _is_board(ctx, args):
        raise UsageError(
            f"%sora resume takes a storyboard's id, and {args.ident!r} is not one of "
            f"{settings.provider}'s (see %sora list); %sora resume alone follows every job"
        )
    if args.dry_run:
        rows = [] if args.ident else ledger.unfinished(provider=settings.provider)
        requests = [f"GET /videos/{row.id}" for row in rows if not row.pending]
        if any(row.pending for row in rows):
            requests.insert(0, "GET /videos?limit=100&order=desc")
        fields = {row.id: f"{row.status} {row.progress}% {row.prompt or ''}"[:120] for row in rows}
        rows_of_boards = (
            [jobs.find_board(args.ident, settings)]
            if args.ident
            else ledger.unfinished_boards(provider=settings.provider)
        )
        for board in rows_of_boards:
            latest = {r.shot: r for r in ledger.board_jobs(board.id) if not r.pending}
            plans = []
            for number in range(1, len(board.shots) + 1):
                shot = latest.get(number)
                if shot is not None and shot.status == "completed":
                    plans.append(f"shot {number} kept")
                elif shot is not None and not shot.finished:
                    plans.append(f"shot {number} followed ({shot.id})")
                else:
                    plans.append(f"shot {number} made")
            fields[board.id] = f"storyboard {board.status}: {', '.join(plans)}, then joined"
        return request_view(settings, requests, fields)
    if args.ident:
        boards = jobs.resume_boards(args.ident, settings=settings)
        return LiveBoards(boards, wait=args.wait)
    followed = jobs.resume(settings=settings)
    boards = jobs.resume_boards(settings=settings)
    on_boards = {b.id for b in boards}
    followed = [job for job in followed if job.request.board not in on_boards]
    if not followed and not boards:
        return Lines(f"Nothing to resume: every job of {settings.provider} is finished.")
    shown: list[object] = []
    if followed:
        shown.append(LiveJobs(ctx.live, followed, embed=ctx.embed(args), wait=args.wait))
    if boards:
        shown.append(LiveBoards(boards, wait=args.wait))
    return shown[0] if len(shown) == 1 else _Both(shown)


class _Both:
    """Several live displays, one after another."""

    def __init__(self, parts: list[object]) -> None:
        self.parts = parts

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for part in self.parts:
            display(part)


def _is_board(ctx: Context, args: argparse.Namespace) -> bool:
    """True when the ID word names a storyboard of this provider (``board_…``)."""
    from .. import jobs
    from ..api import ValidationError

    if not args.ident or not str(args.ident).lower().startswith("b"):
        return False
    try:
        jobs.find_board(args.ident, ctx.settings(args))
    except ValidationError:
        return False
    return True


JOB_COMMANDS = (
    Command(
        "status",
        "%sora status ID",
        "a job's state, live from the provider",
        _status_options,
        handle_status,
    ),
    Command(
        "show",
        "%sora show ID",
        "play a finished job (downloads it if needed)",
        _show_options,
        handle_show,
    ),
    Command(
        "compare",
        "%sora compare ID ID [ID …] [--labels A|B|…]",
        "2 to 9 finished videos side by side, playing and seeking together",
        _compare_options,
        handle_compare,
    ),
    Command(
        "download",
        "%sora download ID",
        "save a job's files into the output folder",
        _download_options,
        handle_download,
    ),
    Command(
        "delete",
        "%sora delete ID",
        "delete a job's video on the provider (local files are kept)",
        _delete_options,
        handle_delete,
        examples=("%sora delete video_68d7 --dry-run",),
    ),
    Command(
        "remix",
        "%sora remix ID PROMPT",
        "a new video from a finished one (same model, size and length)",
        _remix_options,
        handle_remix,
        examples=("%sora remix {clip.id} --wait --as night The same lighthouse at night",),
    ),
    Command(
        "resume",
        "%sora resume",
        "follow every unfinished job of this provider to the end",
        _resume_options,
        handle_resume,
    ),
)
