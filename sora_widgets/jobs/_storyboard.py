"""Storyboards: a scene of shots, each its own prompt, made in order and joined into one MP4.

Continuity (``continuity``):

- ``frame`` (the default): each shot after the first starts from the previous shot's last frame,
  fitted as its reference;
- ``extend``: each shot after the first extends the previous one (``POST /videos/extensions``),
  where the provider and model have extensions; the last shot's video is the whole scene;
- ``independent``: the shots are made at once, each from the board's own reference.

The whole board is priced and checked against ``max_spend`` before anything is sent, and recorded
in the ledger (a board row, its shots tagged with its id) before its first shot is. A failed shot
is retried alone (the others are never made twice); the finished shots are joined with PyAV, one
chapter a shot (`sora_widgets.joining`). `resume_boards` picks unfinished boards up after a kernel
restart: finished shots are kept, running ones followed, missing ones made.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import UnsupportedError, ValidationError
from ..config import Settings, resolve_settings
from ..ledger import BoardRow
from ..status import JobStatus
from ._job import Job
from ._plan import GenerationPlan, check_budget, ledger_for, plan, submit
from ._plan import _resolved as resolved_settings

__all__ = [
    "CONTINUITIES",
    "MAX_SHOTS",
    "Shot",
    "Storyboard",
    "board_from_row",
    "find_board",
    "get_board",
    "parse_storyboard",
    "plan_storyboard",
    "resume_boards",
    "storyboard",
]

CONTINUITIES = ("frame", "extend", "independent")
"""How a board's shots follow one another (see the module's docstring)."""

MAX_SHOTS = 12
"""The most shots one board may hold (each is a billed video)."""

_SEPARATOR = re.compile(r"^\s*-{3,}\s*$")
_SECONDS_LINE = re.compile(r"^\s*(?:seconds|length|-t)\s*[:=]?\s*(\d{1,3})\s*s?\s*$", re.I)


@dataclass(frozen=True)
class Shot:
    """One shot of a board: its prompt and, optionally, its own length."""

    prompt: str
    seconds: str | None = None


def parse_storyboard(text: str) -> list[Shot]:
    """Shots from a cell: blocks separated by lines of ``---``; a block's first line may be
    ``seconds: 8`` (or ``-t 8``) for that shot's own length. Raises `ValidationError` for a board
    with no shot, an empty shot or more than `MAX_SHOTS`."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if _SEPARATOR.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line)
    shots = []
    for number, lines in enumerate(blocks, 1):
        body = [line for line in lines if line.strip()]
        seconds = None
        if body and (match := _SECONDS_LINE.match(body[0])):
            seconds, body = match.group(1), body[1:]
        prompt = "\n".join(body).strip()
        if not prompt:
            if len(blocks) == 1 and not lines:
                break
            raise ValidationError(
                f"shot {number} of the storyboard is empty (write its prompt between the lines "
                "of ---)",
                param="storyboard",
            )
        shots.append(Shot(prompt, seconds))
    if not shots:
        raise ValidationError(
            "the storyboard has no shot (write one prompt per shot, separated by lines of ---)",
            param="storyboard",
        )
    if len(shots) > MAX_SHOTS:
        raise ValidationError(
            f"the storyboard has {len(shots)} shots; the limit is {MAX_SHOTS} (each is a billed "
            "video): split it into two boards",
            param="storyboard",
        )
    return shots


@dataclass
class Storyboard:
    """A board being made: its shots' plans, their jobs as they come, and the joined video."""

    shots: list[Shot]
    plans: list[GenerationPlan]
    settings: Settings
    continuity: str = "frame"
    id: str | None = None
    """The ledger's id for the board (``board_…``), once recorded."""
    jobs: list[Job | None] = field(default_factory=list)
    attempts: list[list[Job]] = field(default_factory=list)
    """Every job made for each shot (a retried shot has two)."""
    video: Path | None = None
    """The joined MP4, once every shot is done."""
    chapters: list[tuple[float, float, str]] = field(default_factory=list)
    join_method: str = ""
    """``copy`` (stream copy) or ``reencode``, once joined."""
    error: BaseException | None = None
    note: str = ""
    """What the kit did differently from what was asked (a refused extension, say)."""
    created: float = field(default_factory=time.time)
    _future: concurrent.futures.Future[Storyboard] = field(
        default_factory=concurrent.futures.Future, repr=False
    )
    _listeners: list[Callable[[Storyboard], object]] = field(default_factory=list, repr=False)

    @property
    def independent(self) -> bool:
        """True when the shots are made at once, none from another."""
        return self.continuity == "independent"

    def on_change(self, callback: Callable[[Storyboard], object]) -> None:
        """Call ``callback(board)`` on the board's thread after every shot and at the end."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            with contextlib.suppress(Exception):  # a listener's error never stops the board
                callback(self)

    @property
    def total_cost(self) -> float | None:
        """Estimated dollars for every shot (None when a shot has no known price)."""
        costs = [p.unit_cost for p in self.plans]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    @property
    def spent(self) -> float | None:
        """Estimated dollars of every job made for the board so far, retries included."""
        costs = [job.cost for tries in self.attempts for job in tries]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    @property
    def seconds(self) -> int:
        """The scene's planned length: the sum of its shots'."""
        return sum(int(p.seconds) for p in self.plans if str(p.seconds).isdigit())

    @property
    def status(self) -> str:
        """``making``, ``joined`` or ``failed`` (as the ledger has it)."""
        if self.video is not None:
            return "joined"
        return "failed" if self.error is not None else "making"

    @property
    def done(self) -> bool:
        """True once the board is joined, or has failed."""
        return self._future.done()

    def wait(self, timeout: float | None = None) -> Storyboard:
        """Block until the board is joined; raises what stopped it (a shot that failed twice)."""
        return self._future.result(timeout)

    def __repr__(self) -> str:
        done = sum(1 for job in self.jobs if job is not None and job.status.final)
        return (
            f"<Storyboard {self.id or '(unrecorded)'} {self.status}: {done}/{len(self.shots)} "
            f"shots, {self.continuity}>"
        )


def _shot_seconds(shot: Shot, seconds: str | int | None) -> str | int | None:
    return shot.seconds if shot.seconds is not None else seconds


def _continuity(continuity: str | None, independent: bool, extend: bool) -> str:
    if independent and extend:
        raise ValidationError(
            "a storyboard's shots are either independent or extensions, not both: leave out "
            "one of independent and extend",
            param="storyboard",
        )
    chosen = continuity or ("independent" if independent else "extend" if extend else "frame")
    if chosen not in CONTINUITIES:
        raise ValidationError(
            f"continuity {chosen!r} is not one of {', '.join(CONTINUITIES)}", param="continuity"
        )
    return chosen


def _check_extensions(settings: Settings, model: str) -> None:
    """Refuse ``extend`` before anything is sent where the provider or model lacks extensions."""
    from ._capabilities import capability, capability_reason

    if capability(settings, "extend") is False:
        why = capability_reason(settings, "extend") or "it has no POST /videos/extensions"
        raise ValidationError(
            f"{settings.provider} does not extend videos ({why}): leave out --extend, and each "
            "shot starts from the last frame of the one before",
            param="extend",
        )
    spec = settings.profile.model_spec(model)
    if spec is not None and spec.extend is False:
        raise ValidationError(
            f"model {model!r} does not extend videos (its catalogue entry says so): leave out "
            "--extend, and each shot starts from the last frame of the one before",
            param="extend",
        )


def plan_storyboard(
    shots: Sequence[Shot | str],
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    validate: bool = True,
    continuity: str = "frame",
    settings: Settings | None = None,
    **setting_overrides: Any,
) -> list[GenerationPlan]:
    """Check and price every shot (sends nothing); raises `ValidationError` naming the shot for
    anything the provider would refuse, and when the whole board would pass ``max_spend``.

    The first shot takes ``reference``; the others take their previous shot's last frame once it
    exists, or extend it (``continuity="extend"``: then their ``seconds`` is what they add)."""
    settings = settings or resolved_settings(**setting_overrides)
    continuity = _continuity(continuity, False, False)
    board = [Shot(s) if isinstance(s, str) else s for s in shots]
    if not board:
        raise ValidationError("the storyboard has no shot", param="storyboard")
    each = dataclasses.replace(settings, max_spend=None)  # the board's total is checked below
    plans = []
    for number, shot in enumerate(board, 1):
        try:
            plans.append(
                plan(
                    shot.prompt,
                    model=model,
                    size=size,
                    seconds=_shot_seconds(shot, seconds),
                    reference=reference if number == 1 or continuity == "independent" else None,
                    validate=validate,
                    settings=each,
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"shot {number}: {exc}", param=exc.param) from None
    if continuity == "extend" and len(plans) > 1 and validate:
        _check_extensions(settings, plans[0].model)
    costs = [p.unit_cost for p in plans]
    total = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
    check_budget(settings, total, what=f"this storyboard of {len(plans)} shots")
    return [dataclasses.replace(p, settings=settings) for p in plans]


def storyboard(
    shots: Sequence[Shot | str],
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    independent: bool = False,
    extend: bool = False,
    continuity: str | None = None,
    out: str | Path | None = None,
    validate: bool = True,
    retries: int = 1,
    on_change: Callable[[Storyboard], object] | None = None,
    wait: bool = False,
    settings: Settings | None = None,
    **setting_overrides: Any,
) -> Storyboard:
    """Make a storyboard: every shot priced and checked first, the board recorded in the ledger,
    then the shots made (in order, each from the previous one's last frame; each extending the
    previous one with ``extend``; all at once with ``independent``), a failed shot retried alone
    up to ``retries`` times, and the shots joined into ``out`` (default
    ``<output_dir>/storyboard-<board id>.mp4``) with a chapter a shot.

    Returns at once (``wait=True`` blocks until it is joined); ``on_change(board)`` is called on a
    worker thread after every shot and at the end. After a kernel restart, `resume_boards` (or
    ``%sora resume``) finishes it without making any finished shot again."""
    settings = settings or resolved_settings(**setting_overrides)
    chosen = _continuity(continuity, independent, extend)
    board_shots = [Shot(s) if isinstance(s, str) else s for s in shots]
    plans = plan_storyboard(
        board_shots,
        model=model,
        size=size,
        seconds=seconds,
        reference=reference,
        validate=validate,
        continuity=chosen,
        settings=settings,
    )
    board = Storyboard(board_shots, plans, settings, continuity=chosen)
    board.jobs = [None] * len(plans)
    board.attempts = [[] for _ in plans]
    board.id = ledger_for(settings).record_board(
        provider=settings.provider,
        profile=settings.profile.name,
        model=plans[0].model,
        size=plans[0].size,
        continuity=chosen,
        shots=[
            {
                "prompt": shot.prompt,
                "seconds": shot_plan.seconds,
                "extra": shot_plan.request.extra,
                "validate": validate,
            }
            for shot, shot_plan in zip(board_shots, plans, strict=True)
        ],
        reference_sha256=plans[0].request.reference_sha256,
        cost=board.total_cost,
    )
    _start(board, out=out, validate=validate, retries=retries, on_change=on_change)
    if wait:
        board.wait()
    return board


def _start(
    board: Storyboard,
    *,
    out: str | Path | None,
    validate: bool,
    retries: int,
    on_change: Callable[[Storyboard], object] | None,
) -> None:
    """Make (or finish making) the board on its own thread, then join it."""
    if on_change is not None:
        board.on_change(on_change)
    changed = board._changed
    _remember(board)

    def run() -> None:
        try:
            _make(board, validate, retries, changed)
            _join(board, out)
        except BaseException as exc:
            board.error = exc
            _record(board, status="failed", error_message=str(exc))
            changed()  # listeners hear the end before any waiter wakes
            board._future.set_exception(exc)
        else:
            _record(
                board,
                status="joined",
                video_path=str(board.video),
                chapters_json=board.chapters,
                join_method=board.join_method,
                error_message=board.note or None,
            )
            changed()
            board._future.set_result(board)

    threading.Thread(target=run, name="sora-storyboard", daemon=True).start()


_live: dict[str, Storyboard] = {}
"""The boards this process is making or made, by id (so a board is never made twice at once)."""
_live_lock = threading.Lock()


def _remember(board: Storyboard) -> None:
    if board.id is not None:
        with _live_lock:
            _live[board.id] = board


def _record(board: Storyboard, **values: Any) -> None:
    if board.id is None:
        return
    with contextlib.suppress(Exception):  # the ledger is a record; it never stops a board
        ledger_for(board.settings).update_board(board.id, cost=board.spent, **values)


def _tagged(board: Storyboard, index: int, shot_plan: GenerationPlan) -> GenerationPlan:
    """The plan with its request marked as shot ``index + 1`` of the board (for the ledger)."""
    request = dataclasses.replace(shot_plan.request, board=board.id, shot=index + 1)
    return dataclasses.replace(shot_plan, request=request)


def _send(board: Storyboard, index: int, shot_plan: GenerationPlan) -> Job:
    board.plans[index] = shot_plan
    job = submit(_tagged(board, index, shot_plan))[0]
    board.attempts[index].append(job)
    return job


def _make(board: Storyboard, validate: bool, retries: int, changed: Callable[[], None]) -> None:
    """Make every shot the board lacks; a shot with a job already (a resumed board) is followed,
    never made again."""
    if board.independent:
        started = [
            job if job is not None else _send(board, index, board.plans[index])
            for index, job in enumerate(board.jobs)
        ]
        for index, made in enumerate(started):
            board.jobs[index] = _finish(board, index, made, retries, changed)
        return
    previous: Job | None = None
    for index in range(len(board.plans)):
        job = board.jobs[index]
        if job is None:
            job = _send(board, index, _next_plan(board, index, previous, validate))
        try:
            previous = _finish(board, index, job, retries, changed)
        except _ExtensionRefused as refused:
            board.continuity = "frame"
            board.note = (
                f"{board.settings.provider} refused extensions ({refused.reason}): shots "
                f"{index + 1} to {len(board.plans)} start from the last frame of the one before"
            )
            changed()
            job = _send(board, index, _next_plan(board, index, refused.source, validate))
            previous = _finish(board, index, job, retries, changed)
        board.jobs[index] = previous


def _next_plan(
    board: Storyboard, index: int, previous: Job | None, validate: bool
) -> GenerationPlan:
    """Shot ``index``'s plan: as planned for the first shot (and a shot with no previous one);
    else an extension of the previous shot, or a new video from its last frame."""
    planned = board.plans[index]
    if previous is None:
        return planned
    if board.continuity == "extend":
        assert previous.id is not None
        request = dataclasses.replace(planned.request, extend_of=previous.id)
        return dataclasses.replace(planned, request=request)
    frame = _last_frame(previous)  # continuity: start from the previous shot's last frame
    return dataclasses.replace(
        plan(
            board.shots[index].prompt,
            model=planned.model,
            size=planned.size,
            seconds=planned.seconds,
            reference=frame,
            extra=planned.request.extra or None,
            validate=validate,
            allow_unpriced=True,
            settings=board.settings,
        ),
        settings=board.settings,
    )


class _ExtensionRefused(Exception):
    """The provider refused ``POST /videos/extensions`` for a shot: make it from a frame."""

    def __init__(self, reason: str, source: Job | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source


def _finish(
    board: Storyboard, index: int, job: Job, retries: int, changed: Callable[[], None]
) -> Job:
    """Wait for one shot; retry it alone (same request) while it fails and retries are left."""
    from ._actions import retry

    for attempt in range(retries + 1):
        try:
            _settle(job)
        except UnsupportedError as exc:
            if job.request.extend_of is None:
                raise
            from ._capabilities import learn
            from ._runner import Runner

            learn(Runner.get(), board.settings, exc)
            source = board.jobs[index - 1] if index else None
            raise _ExtensionRefused(exc.message, source) from exc
        except Exception as exc:
            if attempt >= retries:
                raise ValidationError(
                    f"shot {index + 1} failed {attempt + 1} time(s): {exc}; the other shots are "
                    "kept (%sora resume makes only the missing shots)",
                    param="storyboard",
                ) from exc
            changed()
            job = retry(job)
            board.attempts[index].append(job)
            continue
        break
    if "video" not in job.paths:  # a resumed shot finished while no kernel was following it
        from ._actions import download

        download(job, "video").result()
    changed()
    return job


def _settle(job: Job) -> None:
    """Wait for the job to end (raising its error); a job the ledger knows as ended, which no
    one follows in this process, is taken as it stands."""
    if job.status.final and not job._future.done():
        if job.status is not JobStatus.COMPLETED:
            raise job.error or ValidationError(f"job {job.id} is {job.status}", param="id")
        return
    job.wait()


def _last_frame(job: Job) -> Any:
    from ..media import last_frame

    video = job.paths.get("video")
    if video is None:
        raise ValidationError(f"shot {job.id} has no video on disk to continue from")
    return last_frame(video)


def _join(board: Storyboard, out: str | Path | None) -> None:
    from ..joining import chapter_clip, join_clips

    shots = [job for job in board.jobs if job is not None]
    assert len(shots) == len(board.shots) and board.id is not None
    target = (
        Path(out)
        if out is not None
        else board.settings.output_dir / f"storyboard-{board.id.removeprefix('board_')[:12]}.mp4"
    )
    titles = [f"{n}. {shot.prompt.splitlines()[0][:60]}" for n, shot in enumerate(board.shots, 1)]
    extended = [job.request.extend_of is not None for job in shots[1:]]
    if extended and all(extended):  # the last shot's video is the whole scene
        ends, total = [], 0
        for job in shots:
            total += int(job.seconds)
            ends.append(float(total))
        result = chapter_clip(shots[-1].paths["video"], target, ends=ends, titles=titles)
    else:
        result = join_clips([job.paths["video"] for job in shots], target, titles=titles)
    board.video = Path(result.path).absolute()
    board.chapters = list(result.chapters)
    board.join_method = result.method


# -- after a restart ------------------------------------------------------------------------------


def find_board(ident: str, settings: Settings | None = None) -> BoardRow:
    """The ledger's board with this id (or unique id prefix) for this provider; raises
    `ValidationError` when there is none."""
    settings = settings or resolve_settings()
    row = ledger_for(settings).find_board(ident)
    if row is None or row.provider != settings.provider:
        raise ValidationError(
            f"no storyboard {ident!r} in the ledger for {settings.provider} (see %sora list)",
            param="id",
        )
    return row


def get_board(ident: str, settings: Settings | None = None) -> Storyboard:
    """The storyboard with this id (or unique id prefix): the one this process is making, else
    one rebuilt from the ledger. Raises `ValidationError` when there is none."""
    settings = settings or resolve_settings()
    row = find_board(ident, settings)
    with _live_lock:
        live = _live.get(row.id)
    if live is not None and live.settings.api_key == settings.api_key:
        return live
    return board_from_row(row, settings)


def board_from_row(row: BoardRow, settings: Settings) -> Storyboard:
    """A `Storyboard` rebuilt from the ledger: its shots, and for each the latest job made."""
    from ._actions import find_job
    from ._plan import _planned

    written = row.shots
    shots = [Shot(str(s.get("prompt", "")), s.get("seconds")) for s in written]
    rows = ledger_for(settings).board_jobs(row.id)
    attempts: list[list[Job]] = [[] for _ in shots]
    for job_row in rows:
        if job_row.shot is not None and 1 <= job_row.shot <= len(shots) and not job_row.pending:
            attempts[job_row.shot - 1].append(find_job(job_row.id, settings))
    plans = []
    for index, shot in enumerate(shots):
        made = attempts[index][-1] if attempts[index] else None
        if made is not None:
            plans.append(_planned(made.request, settings, 1))
        else:
            plans.append(
                plan(
                    shot.prompt,
                    model=row.model,
                    size=row.size,
                    seconds=shot.seconds,
                    extra=written[index].get("extra") or None,
                    validate=bool(written[index].get("validate", True)),
                    allow_unpriced=True,
                    settings=settings,
                )
            )
    board = Storyboard(shots, plans, settings, continuity=row.continuity, id=row.id)
    board.created = row.created_at
    board.attempts = attempts
    board.jobs = [tries[-1] if tries else None for tries in attempts]
    if row.status == "joined" and row.video_path:
        board.video = Path(row.video_path)
        board.chapters = row.chapters
        board.join_method = row.join_method or ""
        board._future.set_result(board)
    return board


def resume_boards(
    board: str | None = None,
    *,
    settings: Settings | None = None,
    retries: int = 1,
    wait: bool = False,
    **setting_overrides: Any,
) -> list[Storyboard]:
    """Finish every storyboard of this provider that a restart (or a failed shot) left unfinished:
    finished shots are kept, running ones followed, failed and missing ones made; then joined.

    ``board`` (an id or unique prefix) finishes that one board only, even one that stopped on a
    shot that failed every try. Unfinished shots are followed first (`resume`)."""
    from ._actions import resume

    settings = settings or resolve_settings(**setting_overrides)
    if board is not None:
        rows = [find_board(board, settings)]
        if rows[0].status == "joined":
            return [get_board(rows[0].id, settings)]
    else:
        rows = ledger_for(settings).unfinished_boards(provider=settings.provider)
    if rows:
        resume(settings=settings)  # every unfinished shot followed before a board waits on it
    boards = []
    for row in rows:
        with _live_lock:
            live = _live.get(row.id)
        if live is not None and not live.done:
            boards.append(live)  # already being made in this process
            continue
        rebuilt = board_from_row(row, settings)
        for index, job in enumerate(rebuilt.jobs):
            if job is not None and job.status in (JobStatus.LOST,):
                rebuilt.jobs[index] = None  # never created: made again
        _start(rebuilt, out=None, validate=True, retries=retries, on_change=None)
        boards.append(rebuilt)
    if wait:
        for each in boards:
            with contextlib.suppress(Exception):
                each.wait()
    return boards
