"""`SubmitBar`: the cost of the request as it stands, Submit (or why not), and a dry run.

With **Dry run** on, Submit shows what would be sent — endpoint, fields, the reference summary,
how many jobs and their estimated total — and sends nothing. The button says how many videos a
click makes ("Submit 3 videos"), so variants left at 3 never surprise anyone.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from ..display import format_cost
from ._widgets import close_descendants, note, wrapping_row

if TYPE_CHECKING:
    from ..jobs import GenerationPlan

__all__ = ["SubmitBar"]


def plan_html(plan: GenerationPlan) -> str:
    """What ``plan`` would send, as an escaped HTML block."""
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in plan.fields().items()
    )
    jobs = f"{plan.count} job{'s' if plan.count > 1 else ''}"
    if plan.unit_cost is None:
        cost = "price unknown"
    else:
        cost = format_cost(plan.total_cost, simulated=plan.simulated)
    return (
        '<div class="sora-plan" role="status">'
        f"<div><b>Dry run</b>: nothing was sent. Would send <code>{html.escape(plan.endpoint)}"
        f"</code> to {html.escape(plan.settings.provider)}, {jobs}, estimated {cost}.</div>"
        f"<table>{rows}</table></div>"
    )


class SubmitBar(w.VBox):  # type: ignore[misc]
    """Cost line, Submit button, Dry run toggle, the reason Submit is disabled, a dry run's plan.

    ``on_submit`` is the Submit button's action (called with no argument).
    """

    def __init__(self, *, on_submit: Callable[[], None]) -> None:
        self._remixing = False
        self._count = 1
        self.cost = w.HTML()
        """The estimated cost of the request as it stands (and the budget left)."""
        self.submit_button = w.Button(
            description="Submit",
            icon="play",
            button_style="primary",
            tooltip="Start generating (the kernel stays free)",
            layout=w.Layout(width="auto"),
        )
        self.dry_run = w.Checkbox(
            value=False,
            description="Dry run",
            tooltip="Submit shows what would be sent, and sends nothing",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.allow_unpriced = w.Checkbox(
            value=False,
            description="Allow unpriced jobs",
            tooltip="Under max_spend, send a model whose price is unknown (it cannot be counted)",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.skip_checks = w.Checkbox(
            value=False,
            description="Skip model checks",
            tooltip=(
                "Send exactly what is asked (validate=False): for a model the catalogue "
                "describes differently from your gateway"
            ),
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.reason = w.HTML()
        """Why Submit is disabled, when it is."""
        self.plan_view = w.HTML()
        """What a dry run would have sent."""
        super().__init__(
            [
                self.cost,
                wrapping_row(
                    [
                        self.submit_button,
                        self.dry_run,
                        self.allow_unpriced,
                        self.skip_checks,
                        self.reason,
                    ],
                    align_items="center",
                ),
                self.plan_view,
            ],
            layout=w.Layout(width="100%"),
        )
        self.submit_button.on_click(lambda _b: on_submit())
        self.dry_run.observe(lambda _c: self._dry_run_changed(), names="value")

    def show_check(self, problem: str, cost: str, count: int = 1) -> None:
        """Enable Submit, or disable it with ``problem`` beside it; show the ``cost`` line. With
        ``count`` videos to make, Submit says so ("Submit 3 videos"), and so does the cost line
        (its ``3 × $0.40``, or ``· 3 videos`` when it does not say)."""
        self._count = max(1, count)
        self._label()
        self.submit_button.disabled = bool(problem)
        self.reason.value = note(problem, "error")
        if self._count > 1 and f"{self._count} ×" not in cost:
            cost = f"{cost} · {self._count} videos"
        self.cost.value = f'<div class="sora-cost" role="status">{html.escape(cost)}</div>'

    def show_plan(self, plan: GenerationPlan | None) -> None:
        """Show what ``plan`` would send (a dry run), or clear it with None."""
        self.plan_view.value = "" if plan is None else plan_html(plan)

    def set_remixing(self, remixing: bool) -> None:
        """Label Submit for a remix, or for new videos."""
        self._remixing = remixing
        self._label()

    def _label(self) -> None:
        if self._remixing:
            self.submit_button.description = "Submit remix"
        elif self._count > 1:
            self.submit_button.description = f"Submit {self._count} videos"
        else:
            self.submit_button.description = "Submit"

    def _dry_run_changed(self) -> None:
        if not self.dry_run.value:
            self.plan_view.value = ""

    def close(self) -> None:
        """Close the bar and every widget in it."""
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return (
            f"SubmitBar(disabled={self.submit_button.disabled!r}, dry_run={self.dry_run.value!r})"
        )
