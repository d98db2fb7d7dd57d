"""`SoraPanel`: the widget that composes the parts — provider, form, reference, submit bar, job
cards, history — and connects them.

Each part owns its widgets and state; the panel talks to a part through its public methods and
callbacks, and a card talks back through `CardHost`. The panel is a `VBox`, so it nests in any
layout (``HBox([panel, player])``), and `close` closes every widget it made and stops listening
to jobs.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import jobs
from ..api import Profile, SoraError, ValidationError
from ..config import Settings
from ..display import format_cost
from ._card_list import CardList
from ._connection import ProviderConnection
from ._form import RequestForm
from ._history import HistoryGallery, HistoryItem
from ._job_card import JobCard
from ._planner import RequestPlanner
from ._reference_input import ReferenceInput
from ._submit_bar import SubmitBar
from ._widgets import close_descendants, describe, note
from ._workers import spawn

logger = logging.getLogger("sora_widgets")

if TYPE_CHECKING:
    from PIL import Image

    from ..reference import Reference

__all__ = ["SoraPanel"]

_CSS = Path(__file__).resolve().parent.parent / "static" / "panel.css"


class SoraPanel(w.VBox):  # type: ignore[misc]
    """A widget panel for video generation: prompt and options, reference preview, cost, Submit
    (or a dry run), live job cards with the player, and a gallery of this provider's past jobs.

    Keyword arguments set the starting values (``prompt``, ``model``, ``size``, ``seconds``,
    ``variants``, ``fit``, ``focus``) and the settings (``profile``, ``base_url``, ``output_dir``,
    ``max_spend``, or a ready ``settings``). Settings are resolved on a worker thread, so making
    the panel is quick; the key comes from the environment or from the panel's password field,
    and is never kept in a widget. Raises `ValidationError` for a bad ``fit`` or ``variants``.
    """

    def __init__(
        self,
        *,
        prompt: str = "",
        model: str | None = None,
        size: str | None = None,
        seconds: str | int | None = None,
        variants: int = 1,
        profile: str | Profile | None = None,
        base_url: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        max_spend: float | None = None,
        fit: str = "cover",
        focus: tuple[float, float] = (0.5, 0.5),
        settings: Settings | None = None,
        history_size: int = 12,
    ) -> None:
        if not 1 <= variants <= jobs.MAX_VARIANTS:
            raise ValidationError(
                f"variants {variants} must be from 1 to {jobs.MAX_VARIANTS}", param="variants"
            )
        self._closed = False
        self._remixing: jobs.Job | None = None
        overrides = {
            "base_url": base_url,
            "profile": profile,
            "output_dir": output_dir,
            "max_spend": max_spend,
        }
        self.connection = ProviderConnection(
            settings=settings, overrides=overrides, on_key_change=self._restart
        )
        self.form = RequestForm(
            self.connection.profile,
            prompt=prompt,
            model=model,
            size=size,
            seconds=None if seconds is None else str(seconds),
            variants=variants,
            max_variants=jobs.MAX_VARIANTS,
            on_change=self._check,
            cancel_remix=lambda: self._guard(self.leave_remix),
        )
        self.reference_input = ReferenceInput(
            size=str(self.form.size.value),
            fit=fit,
            focus=focus,
            on_change=self._check,
            say=self.say,
        )
        self.submit_bar = SubmitBar(on_submit=lambda: self._guard(self.submit))
        self.message = w.HTML()
        """The panel's last message (what Submit did, or an error)."""
        self.card_list = CardList()
        self._planner = RequestPlanner(
            self.connection,
            self.form,
            self.reference_input,
            allow_unpriced=lambda: bool(self.submit_bar.allow_unpriced.value),
            validate=lambda: not self.submit_bar.skip_checks.value,
        )
        self.history = HistoryGallery(
            history_size,
            settings=lambda: self.settings,
            open_job=self.open_job,
            say=self.say,
        )
        self._alias_controls()
        super().__init__(
            [
                w.HTML(f"<style>{_CSS.read_text(encoding='utf-8')}</style>"),
                self.connection,
                self.form,
                self.reference_input,
                self.submit_bar,
                self.message,
                self.card_list,
                self.history,
            ],
            layout=w.Layout(width="100%", max_width="1000px", min_width="0"),
        )
        self.add_class("sora-panel")
        self.form.size.observe(self._size_changed, names="value")
        self.submit_bar.allow_unpriced.observe(lambda _c: self._check(), names="value")
        self.submit_bar.skip_checks.observe(lambda _c: self._check(), names="value")
        self._check()
        self._started = spawn(self._start, lambda text: self.say(text, "error"))

    def _alias_controls(self) -> None:
        """The parts' controls as the panel's own attributes (``panel.prompt`` …), as before
        the panel had parts; the parts own them."""
        form, ref, bar, conn = self.form, self.reference_input, self.submit_bar, self.connection
        self.prompt, self.prompt_count, self.model = form.prompt, form.prompt_count, form.model
        self.size, self.seconds, self.variants = form.size, form.seconds, form.variants
        self.extras, self.remix_note = form.extras, form.remix_note
        self.upload, self.clear_reference, self.fit = ref.upload, ref.clear_reference, ref.fit
        self.focus_x, self.focus_y = ref.focus_x, ref.focus_y
        self.reference_preview = ref.reference_preview
        self.reference_caption = ref.reference_caption
        self.cost, self.submit_button, self.reason = bar.cost, bar.submit_button, bar.reason
        self.dry_run, self.allow_unpriced = bar.dry_run, bar.allow_unpriced
        self.skip_checks, self.model_note = bar.skip_checks, form.model_note
        self.provider_line, self.api_key = conn.provider_line, conn.api_key
        self.forget_key = conn.forget_key

    # -- settings ------------------------------------------------------------------------------

    @property
    def root(self) -> SoraPanel:
        """The panel itself (it is a widget; kept for code written before it was one)."""
        return self

    @property
    def settings(self) -> Settings:
        """The settings this panel submits with (resolved on first use; raises `SoraError`)."""
        return self.connection.settings

    def _start(self) -> None:
        """Resolve the settings, then offer what the provider offers and show its history."""
        settings = self.connection.resolve()
        if settings is not None and not self._closed and settings.profile is not self.form.profile:
            self.form.apply_profile(settings.profile)
        self._check()
        if settings is not None:
            self.history_changed()
            self._learn_models(settings)

    def _learn_models(self, settings: Settings) -> None:
        """Offer the provider's own video models (its /v1/models, a gateway's /model/info)."""
        try:
            found = jobs.provider_models(settings)
        except Exception as exc:  # a list is a nicety: the catalogue's names stay
            logger.info("could not list the models of %s: %s", settings.provider, exc)
            return
        if not self._closed and found.rows:
            self.form.set_models(found.names)

    def _restart(self) -> None:
        self._started = spawn(self._start, lambda text: self.say(text, "error"))

    def _size_changed(self, change: dict[str, Any]) -> None:
        self.reference_input.size = str(change["new"])  # "auto": the picture keeps its shape

    # -- checking and planning -----------------------------------------------------------------

    def problem(self) -> str:
        """Why the request cannot be submitted as it stands (``""`` when it can)."""
        return self._planner.problem(self._remixing)

    def _check(self) -> str:
        """Check the request, show the result beside Submit and the cost; the problem or ``""``."""
        if self._closed:
            return ""
        problem = self._planner.problem(self._remixing)
        cost = self._planner.cost_text(self._remixing)
        self.submit_bar.show_check(problem, cost, self.form.values().count)
        return problem

    def plan(self) -> jobs.GenerationPlan:
        """The request as it stands, checked and prepared (the reference fitted); sends nothing.

        Raises `ValidationError` (or another `SoraError`) saying what is wrong."""
        return self._planner.plan(self._remixing)

    def submit(self) -> list[JobCard]:
        """What Submit does: every check, then the job(s), with their cards (newest first).

        Returns ``[]`` when the request is invalid (the reason is then in ``reason`` and
        ``message``) and on a dry run (``dry_run`` ticked: what would be sent is shown, nothing
        is sent)."""
        problem = self._check()
        if problem:
            self.say(problem, "error")
            return []
        try:
            plan = self.plan()
            if self.dry_run.value:
                self.submit_bar.show_plan(plan)
                self.say("dry run: nothing was sent")
                return []
            self.submit_bar.show_plan(None)
            submitted = jobs.submit(plan)
        except SoraError as exc:
            self.say(str(exc), "error")
            self._check()
            return []
        cards = [self.add_job(job) for job in submitted]
        cards.reverse()
        if self._remixing is not None:
            self.leave_remix()
        count = len(submitted)
        priced = (
            ""
            if plan.total_cost is None
            else f", estimated {format_cost(plan.total_cost, simulated=plan.simulated)}"
        )
        self.say(f"submitted {count} job{'s' if count > 1 else ''}{priced}")
        self._check()
        return cards

    # -- remix mode ----------------------------------------------------------------------------

    def remix_job(self, job: jobs.Job, prompt: str | None = None) -> JobCard | None:
        """Remix mode for ``job``: the prompt box gets its prompt, Submit makes a remix of its
        video. With ``prompt``, submit that remix at once and return its card (None on a dry run
        or when the remix is refused: see ``message``)."""
        self._show_remix(job)
        if prompt is None:
            return None
        self.prompt.value = prompt
        cards = self.submit()
        return cards[0] if cards else None

    def leave_remix(self) -> None:
        """Back from remixing a video to making a new one."""
        if self._remixing is not None:
            self._show_remix(None)

    def _show_remix(self, job: jobs.Job | None) -> None:
        self._remixing = job
        self.form.show_remix(job)
        self.reference_input.lock(job is not None)
        self.submit_bar.set_remixing(job is not None)
        self._check()

    @property
    def remixing(self) -> jobs.Job | None:
        """The job being remixed (after a card's Remix), or None."""
        return self._remixing

    # -- the reference -------------------------------------------------------------------------

    def set_reference(self, source: Any, name: str | None = None) -> concurrent.futures.Future[Any]:
        """Use ``source`` (anything `prepare_reference` reads) as the reference; returns a Future
        of the fitted `Reference` (or None when it could not be read: see ``reason``)."""
        return self.reference_input.set_reference(source, name)

    def remove_reference(self) -> None:
        """Send no reference image."""
        self.reference_input.remove_reference()

    @property
    def reference(self) -> Reference | None:
        """The reference image as it will be sent (fitted to the current size), or None; waits
        for a fitting under way."""
        return self.reference_input.reference

    def use_frame(
        self, frame: concurrent.futures.Future[Image.Image], name: str
    ) -> concurrent.futures.Future[Reference | None]:
        """Leave remix mode and make the picture ``frame`` gives the reference (a card's Use as
        reference); the Future gives the fitted `Reference`."""
        self.leave_remix()
        return self.reference_input.use_frame(frame, name)

    def copy_prompt(self, prompt: str) -> None:
        """Put ``prompt`` into the prompt box for a new video."""
        self.leave_remix()
        self.prompt.value = prompt
        self.say("prompt copied into the prompt box")

    # -- cards and history ---------------------------------------------------------------------

    @property
    def cards(self) -> list[JobCard]:
        """Cards of the jobs shown in this panel, newest first."""
        return self.card_list.cards

    def add_job(self, job: jobs.Job) -> JobCard:
        """Show ``job`` (from this panel, the magic, `generate` …) in a new card, first in the
        list; returns the card. The card follows the job until it is closed."""
        card = self.card_list.add(JobCard(job, self))
        self._check()  # what is in flight counts against max_spend
        return card

    def remove_card(self, card: JobCard) -> None:
        """Take ``card`` out of the panel and close it (the job and its files are kept)."""
        self.card_list.remove(card)

    def open_job(self, video_id: str) -> JobCard:
        """Show a job of the ledger in a card (the player once its video is on disk).

        Downloads a completed video that is not on disk and follows an unfinished one, both on
        other threads. Raises `ValidationError` when the ledger has no such job."""
        shown = self.card_list.find(video_id)
        if shown is not None:
            return shown
        job = jobs.find_job(video_id, self.settings)
        shown = self.card_list.find(job)
        if shown is not None:
            return shown
        card = self.add_job(job)
        card.catch_up()
        return card

    def refresh_history(self) -> concurrent.futures.Future[list[HistoryItem]]:
        """Reload the gallery of past jobs from the ledger (on a worker thread)."""
        return self.history.load_later()

    def history_changed(self) -> None:
        """Reload the gallery now (blocking: a card calls it on a worker thread)."""
        if not self._closed:
            self.history.load()

    # -- plumbing ------------------------------------------------------------------------------

    def say(self, text: str, kind: str = "info") -> None:
        """Show ``text`` in the panel's message line (``kind`` "error" as an alert)."""
        if not self._closed:
            self.message.value = note(text, kind)

    def _guard(self, action: Any) -> None:
        """Run a button's action; show a mistake in the panel rather than in the log."""
        try:
            action()
        except Exception as exc:
            self.say(describe(exc), "error")

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the settings, the history and the reference fitting under way (tests,
        scripts); raises the settings' error."""
        self._started.result(timeout)
        self.reference_input.wait_idle(timeout)

    def close(self) -> None:
        """Stop following jobs and close every widget of the panel (jobs go on; their files and
        the ledger are kept). A closed panel cannot be shown again."""
        self._closed = True
        parts = (self.card_list, self.history, self.connection, self.form, self.reference_input)
        for part in (*parts, self.submit_bar):
            part.close()
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return (
            f"SoraPanel(model={self.model.value!r}, size={self.size.value!r}, "
            f"seconds={self.seconds.value!r}, cards={len(self.cards)})"
        )
