"""Storyboards: a scene of shots, each its own prompt, made in order and joined into one MP4.

Continuity: each shot after the first starts from the previous shot's last frame, fitted as its
reference (``independent=True`` makes the shots at once, each from the board's own reference).
The whole board is priced and checked against ``max_spend`` before anything is sent; a failed
shot is retried alone (the others are never made twice); the finished shots are joined with PyAV,
one chapter a shot (`sora_widgets.joining`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import ValidationError
from ..config import Settings
from ._job import Job
from ._plan import GenerationPlan, check_budget, plan, submit
from ._plan import _resolved as resolved_settings

__all__ = ["MAX_SHOTS", "Shot", "Storyboard", "parse_storyboard", "plan_storyboard", "storyboard"]

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
    independent: bool = False
    jobs: list[Job | None] = field(default_factory=list)
    attempts: list[list[Job]] = field(default_factory=list)
    """Every job made for each shot (a retried shot has two)."""
    video: Path | None = None
    """The joined MP4, once every shot is done."""
    chapters: list[tuple[float, float, str]] = field(default_factory=list)
    join_method: str = ""
    """``copy`` (stream copy) or ``reencode``, once joined."""
    error: BaseException | None = None
    _future: concurrent.futures.Future[Storyboard] = field(
        default_factory=concurrent.futures.Future, repr=False
    )
    _listeners: list[Callable[[Storyboard], object]] = field(default_factory=list, repr=False)

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
    def done(self) -> bool:
        """True once the board is joined, or has failed."""
        return self._future.done()

    def wait(self, timeout: float | None = None) -> Storyboard:
        """Block until the board is joined; raises what stopped it (a shot that failed twice)."""
        return self._future.result(timeout)


def _shot_seconds(shot: Shot, seconds: str | int | None) -> str | int | None:
    return shot.seconds if shot.seconds is not None else seconds


def plan_storyboard(
    shots: Sequence[Shot | str],
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    validate: bool = True,
    settings: Settings | None = None,
    **setting_overrides: Any,
) -> list[GenerationPlan]:
    """Check and price every shot (sends nothing); raises `ValidationError` naming the shot for
    anything the provider would refuse, and when the whole board would pass ``max_spend``.

    The first shot takes ``reference``; the others take their previous shot's last frame once it
    exists (their plans here carry none)."""
    settings = settings or resolved_settings(**setting_overrides)
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
                    reference=reference if number == 1 else None,
                    validate=validate,
                    settings=each,
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"shot {number}: {exc}", param=exc.param) from None
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
    out: str | Path | None = None,
    validate: bool = True,
    retries: int = 1,
    on_change: Callable[[Storyboard], object] | None = None,
    wait: bool = False,
    settings: Settings | None = None,
    **setting_overrides: Any,
) -> Storyboard:
    """Make a storyboard: every shot priced and checked first, then made (in order, each from the
    previous one's last frame; or all at once with ``independent``), a failed shot retried alone
    up to ``retries`` times, and the shots joined into ``out`` (default
    ``<output_dir>/storyboard-<first shot's id>.mp4``) with a chapter a shot.

    Returns at once (``wait=True`` blocks until it is joined); ``on_change(board)`` is called on a
    worker thread after every shot and at the end."""
    settings = settings or resolved_settings(**setting_overrides)
    board_shots = [Shot(s) if isinstance(s, str) else s for s in shots]
    plans = plan_storyboard(
        board_shots,
        model=model,
        size=size,
        seconds=seconds,
        reference=reference,
        validate=validate,
        settings=settings,
    )
    board = Storyboard(board_shots, plans, settings, independent=independent)
    board.jobs = [None] * len(plans)
    board.attempts = [[] for _ in plans]
    if on_change is not None:
        board.on_change(on_change)
    changed = board._changed

    def run() -> None:
        try:
            _make(board, model, size, seconds, validate, retries, changed)
            _join(board, out)
        except BaseException as exc:
            board.error = exc
            board._future.set_exception(exc)
        else:
            board._future.set_result(board)
        changed()

    threading.Thread(target=run, name="sora-storyboard", daemon=True).start()
    if wait:
        board.wait()
    return board


def _make(
    board: Storyboard,
    model: str | None,
    size: str | None,
    seconds: str | int | None,
    validate: bool,
    retries: int,
    changed: Callable[[], None],
) -> None:
    if board.independent:
        jobs = [submit(p)[0] for p in board.plans]
        for index, job in enumerate(jobs):
            board.attempts[index].append(job)
            board.jobs[index] = _finish(board, index, job, retries, changed)
        return
    previous: Job | None = None
    for index, shot_plan in enumerate(board.plans):
        if previous is not None:  # continuity: start from the previous shot's last frame
            frame = _last_frame(previous)
            shot = board.shots[index]
            shot_plan = plan(
                shot.prompt,
                model=model,
                size=size,
                seconds=_shot_seconds(shot, seconds),
                reference=frame,
                validate=validate,
                allow_unpriced=True,
                settings=board.settings,
            )
            board.plans[index] = shot_plan
        job = submit(shot_plan)[0]
        board.attempts[index].append(job)
        previous = _finish(board, index, job, retries, changed)
        board.jobs[index] = previous


def _finish(
    board: Storyboard, index: int, job: Job, retries: int, changed: Callable[[], None]
) -> Job:
    """Wait for one shot; retry it alone (same request) while it fails and retries are left."""
    from ._actions import retry

    for attempt in range(retries + 1):
        try:
            job.wait()
        except Exception as exc:
            if attempt >= retries:
                raise ValidationError(
                    f"shot {index + 1} failed {attempt + 1} time(s): {exc}; the other shots are "
                    "kept (retry the board and only the missing shots are made)",
                    param="storyboard",
                ) from exc
            changed()
            job = retry(job)
            board.attempts[index].append(job)
            continue
        break
    changed()
    return job


def _last_frame(job: Job) -> Any:
    from ..media import last_frame

    video = job.paths.get("video")
    if video is None:
        raise ValidationError(f"shot {job.id} has no video on disk to continue from")
    return last_frame(video)


def _join(board: Storyboard, out: str | Path | None) -> None:
    from ..joining import join_clips

    paths = [job.paths["video"] for job in board.jobs if job is not None]
    first = board.jobs[0]
    assert first is not None and first.id is not None
    target = (
        Path(out)
        if out is not None
        else board.settings.output_dir / (f"storyboard-{first.id[-12:]}.mp4")
    )
    titles = [f"{n}. {shot.prompt.splitlines()[0][:60]}" for n, shot in enumerate(board.shots, 1)]
    result = join_clips(paths, target, titles=titles)
    board.video = Path(result.path)
    board.chapters = list(result.chapters)
    board.join_method = result.method
