"""`JobCard`: one job in the panel — live status, progress and ETA, then the player; its actions.

One card per job, and it turns into its player: while the job runs the card shows its facts, its
prompt and id (once each), a progress bar and a line saying why it waits ("waiting for a free
slot …", "queued by the provider"); once the video is on disk the status gives way to the player,
which carries the prompt as its title, the facts and id as its caption, and the download link.

The card follows its job through a job listener (on the jobs layer's listener thread), so a change
made anywhere — the Runner, the magic's ``%sora delete``, another panel — shows here. Every action
goes through the jobs layer; what the card needs from the panel it asks through `CardHost`.
"""

from __future__ import annotations

import concurrent.futures
import html
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as w

from .. import jobs
from .._units import human_bytes, shorten
from ..api import ValidationError
from ..display import format_cost, format_elapsed, format_eta, relative_path
from ..status import JobStatus
from ._widgets import button, close_descendants, describe, note, wrapping_row
from ._workers import done, spawn

if TYPE_CHECKING:
    from PIL import Image

    from ..reference import Reference

__all__ = ["CardHost", "JobCard"]


class CardHost(Protocol):
    """What a card asks of the panel that holds it (`SoraPanel` is one)."""

    def say(self, text: str, kind: str = "info") -> None:
        """Show a line in the panel's message area (``kind`` "info" or "error")."""

    def add_job(self, job: jobs.Job) -> JobCard:
        """Show ``job`` in a new card, first in the list; returns it."""

    def remix_job(self, job: jobs.Job, prompt: str | None = None) -> JobCard | None:
        """Enter remix mode for ``job``; with ``prompt``, submit the remix and return its card."""

    def copy_prompt(self, prompt: str) -> None:
        """Put ``prompt`` into the prompt box for a new video."""

    def use_frame(
        self, frame: concurrent.futures.Future[Image.Image], name: str
    ) -> concurrent.futures.Future[Reference | None]:
        """Make the picture ``frame`` gives the reference; a Future of the fitted reference."""

    def remove_card(self, card: JobCard) -> None:
        """Take ``card`` out of the panel and close it."""

    def history_changed(self) -> None:
        """Reload the history gallery (blocking; call it on a worker thread)."""


def _download_link(path: Path) -> str:
    rel = urllib.parse.quote(relative_path(path), safe="/:")
    try:
        size = f" ({human_bytes(path.stat().st_size)})"
    except OSError:
        size = ""
    return (
        f'<a href="{html.escape(rel, quote=True)}" download="{html.escape(path.name, quote=True)}"'
        f' target="_blank" rel="noopener">⬇ {html.escape(path.name)}</a>{html.escape(size)}'
    )


def _created(job: jobs.Job) -> bool:
    return bool(job.id) and not str(job.id).startswith("pending:")


PROMPT_CHARS = 300
"""A running card shows this much of the prompt (the player's title shows it once finished)."""

_RUNNING = (
    JobStatus.WAITING,
    JobStatus.SUBMITTING,
    JobStatus.QUEUED,
    JobStatus.IN_PROGRESS,
    JobStatus.DOWNLOADING,
)
_KIND = {
    JobStatus.IN_PROGRESS: "active",
    JobStatus.DOWNLOADING: "active",
    JobStatus.COMPLETED: "done",
    JobStatus.FAILED: "bad",
    JobStatus.ERROR: "bad",
    JobStatus.LOST: "bad",
    JobStatus.STUCK: "warn",
    JobStatus.EXPIRED: "warn",
}
"""The colour of a status (a class in panel.css); grey for the rest (waiting, queued …)."""


def state_text(job: jobs.Job) -> str:
    """Where the job stands and why, in words: ``waiting for a free slot (…)`` while the Runner
    holds it at the running limit, ``queued by the provider`` once created, ``in progress``,
    ``failed: …`` (the Runner's own message when it has one)."""
    status = job.status
    message = job.message if job.message and job.message != status.value else ""
    extra = f" ({message})" if message else ""
    if status == JobStatus.WAITING:
        return message or "waiting for a free slot"
    if status == JobStatus.SUBMITTING:
        return message or "sending the request to the provider"
    if status == JobStatus.QUEUED:
        return f"queued by the provider{extra}"
    if status == JobStatus.IN_PROGRESS:
        return f"in progress{extra}"
    if status == JobStatus.DOWNLOADING:
        return f"finished: saving the video{extra}"
    if status == JobStatus.COMPLETED:
        return f"completed{extra}"
    if status == JobStatus.DELETED:
        return "deleted on the provider (local files are kept)"
    reason = message or (describe(job.error) if job.error is not None else "")
    return f"{status.value}: {reason}" if reason else status.value


def _progress_words(job: jobs.Job) -> str:
    """``42% · about 5 s left`` while the provider works on it; ``running for 12 s`` when it
    sends no percentage; empty before it is created and once it stopped."""
    status = job.status
    if status not in (JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.DOWNLOADING):
        return ""
    if status != JobStatus.DOWNLOADING and job.video is not None and job.video.progress is None:
        return format_elapsed(time.time() - job.created)  # a gateway that sends no percentage
    if status == JobStatus.QUEUED and job.progress <= 0:
        return ""  # "queued by the provider" says it; "0%" would say nothing more
    progress = 100 if status == JobStatus.DOWNLOADING else max(0, min(100, job.progress))
    eta = format_eta(job.eta) if status == JobStatus.IN_PROGRESS else ""
    return " · ".join(x for x in (f"{progress}%", eta) if x)


def _facts(job: jobs.Job) -> str:
    """``sora-2 · 1280x720 · 4 s · $0.40 simulated`` (escaped)."""
    cost = format_cost(job.cost, simulated=job.settings.profile.billing == "simulated")
    if job.cost_source == "gateway":
        cost += " from the gateway"
    return " · ".join(html.escape(x) for x in (job.model, job.size, f"{job.seconds} s", cost))


def status_html(job: jobs.Job) -> str:
    """The card's status before its player: facts and id, the prompt, a progress bar while it
    runs, and where it stands and why. Every server and user text is escaped."""
    status = job.status
    kind = _KIND.get(status, "wait")
    shown_id = job.id if job.id and _created(job) else ""
    ident = f' <code class="sora-card-id">{html.escape(shown_id)}</code>' if shown_id else ""
    prompt = shorten(job.request.prompt, PROMPT_CHARS)
    bar = ""
    if status in _RUNNING:
        progress = 100 if status == JobStatus.DOWNLOADING else max(0, min(100, job.progress))
        bar = (
            f'<div class="sora-card-bar" role="progressbar" aria-valuemin="0" '
            f'aria-valuemax="100" aria-valuenow="{progress}" aria-label="generation progress">'
            f'<div style="width:{progress}%"></div></div>'
        )
    words = " · ".join(x for x in (state_text(job), _progress_words(job)) if x)
    role = "alert" if kind == "bad" else "status"
    return (
        f'<div class="sora-card-status sora-kind-{kind}">'
        f'<div class="sora-card-facts">{_facts(job)}{ident}</div>'
        f'<div class="sora-card-prompt">{html.escape(prompt)}</div>'
        f"{bar}"
        f'<div class="sora-card-state" role="{role}">{html.escape(words)}</div>'
        "</div>"
    )


class JobCard(w.VBox):  # type: ignore[misc]
    """A job's card: ``status`` (HTML) until the video is on disk, then ``player`` in its place;
    the buttons Remix, Retry, Download (until the player, which has its own link), Delete, Copy
    prompt, Use as reference, Close; ``download_link`` only when there is no player to hold it.

    Made by the panel (`SoraPanel.add_job`); ``host`` is the panel. Closing the card stops it
    following the job (the job itself goes on).
    """

    def __init__(self, job: jobs.Job, host: CardHost) -> None:
        self.job = job
        """The `Job` this card follows."""
        self._host = host
        self._lock = threading.Lock()
        self._closed = False
        self._last: tuple[Any, ...] | None = None
        self._player_made = False
        self._was_running = not job.status.stopped
        self._confirm_delete = False
        self.status = w.HTML()
        """Where the job stands (HTML, every server or user text escaped); empty once the player
        shows the video (or a line when the video was deleted on the provider)."""
        self.player_box = w.Box(layout=w.Layout(width="100%", max_width="100%"))
        self.download_link = w.HTML()
        """A link to the MP4 on disk, relative to the notebook's folder (after Download, when there
        is no player: the player has its own link)."""
        self.note = w.HTML()
        self.remix_button = button(
            "Remix", "random", "Change this video with a new prompt (prefills the prompt box)"
        )
        self.retry_button = button("Retry", "redo", "Submit the same request again")
        self.download_button = button(
            "Download", "download", "A link to the MP4 on disk (downloaded first if needed)"
        )
        self.delete_button = button(
            "Delete", "trash", "Delete the video on the provider (local files are kept)"
        )
        self.copy_button = button(
            "Copy prompt", "copy", "Put this job's prompt into the prompt box"
        )
        self.reference_button = button(
            "Use as reference",
            "image",
            "Use the video's last frame as the reference image, fitted to the current size",
        )
        self.close_button = button(
            "Close", "times", "Remove this card from the panel (the job and its files are kept)"
        )
        actions = {
            self.remix_button: self.remix,
            self.retry_button: self.retry,
            self.download_button: self.download,
            self.delete_button: self._delete_clicked,
            self.copy_button: self.copy_prompt,
            self.reference_button: self.use_as_reference,
            self.close_button: lambda: host.remove_card(self),
        }
        for widget, action in actions.items():
            widget.on_click(lambda _b, action=action: self._guard(action))
        super().__init__(
            [
                self.status,
                self.player_box,
                wrapping_row(actions),
                self.download_link,
                self.note,
            ],
            layout=w.Layout(width="100%"),
        )
        self.add_class("sora-job-card")
        self._listener = job.on_change(lambda _job: self.refresh())
        self.refresh()

    # -- following -----------------------------------------------------------------------------

    @property
    def root(self) -> JobCard:
        """The card itself (it is a widget)."""
        return self

    @property
    def player(self) -> Any:
        """The `VideoPlayer` once the video is on disk, else None."""
        children = self.player_box.children
        return children[0] if children else None

    @property
    def deleted(self) -> bool:
        """True once the video is deleted on the provider (here or anywhere else)."""
        return self.job.status == JobStatus.DELETED

    @property
    def closed(self) -> bool:
        """True once the card is closed (it no longer follows its job)."""
        return self._closed

    def _video(self) -> Path | None:
        path = self.job.paths.get("video")
        return path if path is not None and path.exists() else None

    def refresh(self) -> None:
        """Bring the card up to date with its job (the job's listener calls this on every
        change; safe from any thread; does nothing once the card is closed)."""
        job = self.job
        key = (job.status, job.progress, job.message, round(job.eta or -1.0))
        with self._lock:
            if self._closed:
                return
            changed, self._last = key != self._last, key
            made = (
                job.status == JobStatus.COMPLETED
                and not self._player_made
                and self._video() is not None
            )
            self._player_made = self._player_made or made
            if made:
                self._show_player()
            if changed or made:
                self.status.value = self._status_html()
            self._update_buttons()
            new_in_history = (made and self._was_running) or (changed and self.deleted)
        if new_in_history:  # a new video, or one gone: the gallery follows
            spawn(self._host.history_changed)

    def _status_html(self) -> str:
        if self.player is None:
            return status_html(self.job)
        # the player holds the prompt, the facts, the id and the link: no finished card above it
        return note(state_text(self.job)) if self.deleted else ""

    def _show_player(self) -> None:
        try:
            from ..player import VideoPlayer

            player = VideoPlayer.from_job(self.job)
        except Exception as exc:  # widgets missing or the file vanished: the link still works
            self.note.value = note(f"cannot show the player: {describe(exc)}", "error")
            return
        self.player_box.children = (player,)
        self.download_link.value = ""  # the player has its own link

    def _update_buttons(self) -> None:
        job = self.job
        completed = job.status == JobStatus.COMPLETED and _created(job)
        on_disk = self._video() is not None
        self.remix_button.disabled = not completed
        self.retry_button.disabled = not job.done
        self.download_button.disabled = not (on_disk or completed)
        # the player has its own download link: one download control per card
        self.download_button.layout.display = "none" if self.player is not None else None
        self.reference_button.disabled = not (on_disk or completed)
        self.delete_button.disabled = not (
            _created(job)
            and job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED)
        )
        if self.deleted:
            self.delete_button.description = "Deleted"
            self.delete_button.button_style = ""
        # a provider without delete (a gateway) gets no Delete button: it could not work
        no_delete = jobs.capability(job.settings, "delete") is False
        self.delete_button.layout.display = "none" if no_delete else None

    # -- actions -------------------------------------------------------------------------------

    def remix(self, prompt: str | None = None) -> JobCard | None:
        """Prefill the panel's prompt with this job's prompt for a remix of its video; with
        ``prompt``, submit that remix at once and return its card.

        Raises `ValidationError` unless the video is completed and still on the provider."""
        job = self.job
        if job.status != JobStatus.COMPLETED or not _created(job):
            raise ValidationError(
                f"job {job.id or '(not yet created)'} is {job.status}: "
                "only a completed video on the provider can be remixed"
            )
        return self._host.remix_job(job, prompt)

    def retry(self) -> JobCard:
        """Submit the same request again (a new job, billed again); returns its card.

        Raises `ValidationError` when the job's reference image is no longer held."""
        new = jobs.retry(self.job)
        self._host.say(f"submitted again: {shorten(self.job.request.prompt, 60)}")
        return self._host.add_job(new)

    def download(self) -> concurrent.futures.Future[Path]:
        """Download the MP4 (and its thumbnail and spritesheet) if it is not on disk; the card
        then shows the player, whose link downloads it (or, with no player, a link of its own).
        The Future gives the video's path (or the download's error, also shown on the card)."""
        video = self._video()
        if video is not None:
            self.refresh()
            if self.player is None:
                self.download_link.value = _download_link(video)
            return done(video)
        fetched = jobs.download(self.job)  # raises ValidationError for a job not yet created
        self.note.value = note("downloading…")

        def work() -> Path:
            try:
                paths = fetched.result()
            except Exception as exc:
                self._say_here(f"download failed: {describe(exc)}", "error")
                raise
            path = paths.get("video") or self.job.paths["video"]
            self.refresh()  # the player, once the job is completed
            with self._lock:
                if not self._closed:
                    self.note.value = ""
                    if self.player is None:
                        self.download_link.value = _download_link(path)
            return path

        return spawn(work)

    def catch_up(self) -> None:
        """Bring the job to where the card can show it (a card opened from the ledger): download
        a completed video that is not on disk, follow an unfinished job (`jobs.resume`); both on
        other threads, their errors shown in the panel."""
        job = self.job
        if job.status == JobStatus.COMPLETED and self._video() is None:
            self.download()
        elif not job.status.final and _created(job):
            settings = job.settings
            spawn(lambda: jobs.resume(settings=settings), lambda t: self._host.say(t, "error"))

    def _delete_clicked(self) -> None:
        if not self._confirm_delete:
            self._confirm_delete = True
            self.delete_button.description = "Confirm delete"
            self.delete_button.button_style = "danger"
            self.note.value = note(
                "Click again to delete this video on the provider (local files are kept)."
            )
            return
        self.delete()

    def delete(self) -> concurrent.futures.Future[None]:
        """Delete the video on the provider; the ledger marks it deleted, local files are kept.

        The Future ends once the card and the gallery show it (or with the error, also shown)."""
        deleting = jobs.delete(self.job)  # raises ValidationError for a job not yet created
        self.delete_button.disabled = True

        def work() -> None:
            try:
                deleting.result()
            except Exception as exc:
                self._confirm_delete = False
                with self._lock:
                    if not self._closed:
                        self.delete_button.description = "Delete"
                        self.delete_button.button_style = ""
                self._say_here(f"delete failed: {describe(exc)}", "error")
                self.refresh()
                raise
            self._say_here("")
            self.refresh()
            self._host.history_changed()

        return spawn(work)

    def copy_prompt(self) -> None:
        """Put this job's prompt into the panel's prompt box (for a new video)."""
        self._host.copy_prompt(self.job.request.prompt)

    def use_as_reference(self) -> concurrent.futures.Future[Reference | None]:
        """Make the video's last frame the panel's reference, fitted to the current size
        (downloading the video first if needed); the Future gives the fitted `Reference`."""
        job = self.job
        if self._video() is None and not (job.status == JobStatus.COMPLETED and _created(job)):
            raise ValidationError(f"job {job.id or '(not yet created)'} has no video yet")
        return self._host.use_frame(jobs.last_frame(job), f"last frame of {job.id}")

    # -- plumbing ------------------------------------------------------------------------------

    def _say_here(self, text: str, kind: str = "info") -> None:
        with self._lock:
            if not self._closed:
                self.note.value = note(text, kind)

    def _guard(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:
            self._host.say(describe(exc), "error")

    def close(self) -> None:
        """Stop following the job and close every widget of the card (the job goes on)."""
        self.job.remove_listener(self._listener)
        with self._lock:
            self._closed = True
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return f"JobCard({self.job!r})"
