"""The live part of the magic: one output area per job that moves in place, card → player.

`LiveDisplay` belongs to one `SoraMagics`: it keeps the display handle of every job it shows (for
the final update after ``--wait``) and makes each job's finished output once (a second player would
double the notebook). `LiveJobs` is what a handler returns to show jobs live.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..jobs import Job

__all__ = ["LiveDisplay", "LiveJobs"]


class LiveDisplay:
    """The display handles and finished outputs of the jobs one magic has shown."""

    def __init__(self) -> None:
        self._handles: dict[int, tuple[Job, Any, bool]] = {}
        """Display handle (and embed choice) of each job shown, for the final update after --wait."""
        self._done: dict[int, tuple[Job, Any]] = {}
        """The finished output (player or embedded video) of each job, made once."""

    def show(self, job: Job, *, embed: bool) -> None:
        """Display the job's status card and keep it current until the job completes."""
        from IPython.display import display

        from ..display import status_card

        handle = display(status_card(job), display_id=True)
        last: list[tuple[str, int, str]] = []
        finished = threading.Event()
        lock = threading.Lock()

        def changed(job: Job) -> None:
            key = (str(job.status), job.progress, job.message)
            with lock:
                if finished.is_set() or (last and last[-1] == key):
                    return
                last[:] = [key]
                if job.status == "completed":
                    finished.set()
            if handle is None:
                return
            if job.status == "completed":
                handle.update(self.finished(job, embed=embed))
            else:
                handle.update(status_card(job))

        job.on_change(changed)
        self._handles[id(job)] = (job, handle, embed)
        changed(job)  # a job may have moved on between the card and the listener

    def finished(self, job: Job, *, embed: bool) -> Any:
        """The finished output of a job: under a Jupyter server the static player (plain HTML that
        plays without a kernel), elsewhere a `VideoPlayer` (its bytes come over the kernel's
        comm: VS Code), or the inlined video with ``embed`` (Colab)."""
        cached = self._done.get(id(job))
        if cached is not None and cached[0] is job:
            return cached[1]
        from ..display import Bundle, provenance, served_by_jupyter, static_player, video_fallback

        output: Any
        static = static_player(job) if not embed and served_by_jupyter() else None
        if embed:
            output = Bundle(video_fallback(job, embed=True), provenance(job))
        elif static is not None:
            # JupyterLab / Notebook 7: plain HTML plays the same with the kernel, after a restart
            # and in a saved notebook reopened without one, widget state saved or not
            output = Bundle(static, provenance(job))
        else:
            try:
                from ..player import VideoPlayer
            except ImportError:  # pragma: no cover - widgets missing
                output = Bundle(video_fallback(job), provenance(job))
            else:
                output = VideoPlayer.from_job(job)
        self._done[id(job)] = (job, output)
        return output

    def wait(self, jobs: Sequence[Job]) -> None:
        """Block until every job is done; an interrupt stops the waiting, never the jobs."""
        from ..display import status_card

        try:
            for job in jobs:
                with contextlib.suppress(Exception):  # the card shows the error
                    job.wait()
        except KeyboardInterrupt:
            ids = ", ".join(j.id or "(not created yet)" for j in jobs if not j.done)
            print(
                f"Stopped waiting; the job(s) keep running: {ids}. "
                "Check with %sora status ID, or after a restart run %sora resume.",
                file=sys.stderr,
            )
            return
        # a final update from the kernel thread, so headless runs (nbclient) record the end state
        for job in jobs:
            _, handle, embed = self._handles.pop(id(job), (job, None, False))
            if handle is None:
                continue
            if job.status == "completed":
                handle.update(self.finished(job, embed=embed))
            else:
                handle.update(status_card(job))


class LiveJobs:
    """Jobs shown live: an optional preview, one card per job, then (with ``wait``) the waiting.

    Displaying it shows the cards and, with ``wait``, blocks until the jobs are done (interruptible).
    """

    def __init__(
        self,
        live: LiveDisplay,
        jobs: Sequence[Job],
        *,
        embed: bool,
        wait: bool = False,
        preview: object = None,
        notice: str = "",
    ) -> None:
        self.live = live
        self.jobs = list(jobs)
        self.embed = embed
        self.wait = wait
        self.preview = preview
        self.notice = notice
        """A quiet line shown once the cards are (e.g. the estimated cost)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.preview is not None:
            display(self.preview)
        for job in self.jobs:
            self.live.show(job, embed=self.embed)
        if self.notice:  # a quiet line, not stderr's pink
            from ..display import info_line

            display(info_line(self.notice))
        if self.wait:
            self.live.wait(self.jobs)
