"""`RequestPlanner`: the panel's request as the jobs layer sees it — its problem, its cost, its plan.

Reads the parts (connection, form, reference input) through their public faces; every check is
the jobs layer's (`jobs.plan`, `jobs.plan_remix`), so the panel refuses exactly what a submission
would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import jobs
from ..api import ValidationError
from ..display import format_cost

if TYPE_CHECKING:
    from ..config import Settings
    from ._connection import ProviderConnection
    from ._form import FormValues, RequestForm
    from ._reference_input import ReferenceInput

__all__ = ["RequestPlanner"]


class RequestPlanner:
    """Checks and plans what the form, the reference and the connection say; sends nothing.

    ``remixing`` (given to each call) is the job being remixed, or None for a new video.
    """

    def __init__(
        self,
        connection: ProviderConnection,
        form: RequestForm,
        reference: ReferenceInput,
        allow_unpriced: Callable[[], bool] = lambda: False,
        validate: Callable[[], bool] = lambda: True,
    ) -> None:
        self._connection = connection
        self._form = form
        self._reference = reference
        self._allow_unpriced = allow_unpriced
        self._validate = validate

    def problem(self, remixing: jobs.Job | None) -> str:
        """Why the request cannot be submitted as it stands (``""`` when it can). Quick: the
        reference is not fitted again (its last error counts); before the settings are resolved
        only the profile's checks run."""
        if self._connection.error:
            return self._connection.error
        values = self._form.values()
        settings = self._connection.ready
        try:
            if remixing is not None:
                if settings is None:
                    self._form.profile.check(prompt=values.prompt)
                else:
                    jobs.plan_remix(remixing, values.prompt, settings=settings)
                return ""
            if settings is None:
                self._form.profile.check(prompt=values.prompt)
                if self._validate():
                    self._form.profile.check(
                        model=values.model,
                        size=values.size,
                        seconds=values.seconds,
                        extra=values.extra,
                    )
            else:
                self._plan(values, settings, reference=None)
            spec = self._form.profile.model_spec(values.model)
            takes_none = spec is not None and spec.reference == "none"
            if takes_none and self._reference.has_source and self._validate():
                return (
                    f"{values.model} takes no reference image (remove it, or choose a model "
                    "that takes one; tick Skip model checks to send it anyway)"
                )
        except ValidationError as exc:
            return str(exc)
        return self._reference.error or ""

    def cost_text(self, remixing: jobs.Job | None) -> str:
        """The estimated cost of the request as it stands, and the budget left of ``max_spend``."""
        profile, values = self._form.profile, self._form.values()
        if remixing is not None:
            model, size, seconds = remixing.model, remixing.size, remixing.seconds
        else:
            model, size, seconds = values.model, values.size, values.seconds
        try:
            resolved = profile.resolve(model=model, size=size, seconds=seconds)
            model, size, seconds = resolved.model, resolved.size, resolved.seconds
        except ValidationError:
            pass  # the problem line says why; price what was asked
        settings = self._connection.ready
        if settings is not None:
            unit, _, note = jobs.price_for(settings, model, size, str(seconds))
        else:
            spec = profile.model_spec(model)
            unit = None if spec is None else spec.cost(size, seconds)
            note = spec.price_origin if spec is not None and unit is not None else ""
        if unit is None:
            text = f"Estimated cost: price unknown for {model} at {size}"
        else:
            simulated = profile.billing == "simulated"
            text = f"Estimated cost: {format_cost(unit * values.count, simulated=simulated)}"
            if values.count > 1:
                text += f" ({values.count} × {format_cost(unit)})"
            if note:
                text += f" ({note})"
        if settings is not None and settings.max_spend is not None:
            left = max(0.0, settings.max_spend - jobs.spent(settings))
            text += f" · budget: {format_cost(left)} left of {format_cost(settings.max_spend)}"
        return text

    def plan(self, remixing: jobs.Job | None) -> jobs.GenerationPlan:
        """The request as it stands, checked and prepared (the reference fitted, waiting for a
        fitting under way); sends nothing. Raises `ValidationError` (or another `SoraError`,
        e.g. when the settings cannot be resolved) saying what is wrong."""
        settings, values = self._connection.settings, self._form.values()
        if remixing is not None:
            return jobs.plan_remix(remixing, values.prompt, settings=settings)
        reference = self._reference.reference
        if self._reference.has_source and reference is None:
            raise ValidationError(
                self._reference.error or "the reference image could not be prepared",
                param="reference",
            )
        return self._plan(values, settings, reference)

    def _plan(self, values: FormValues, settings: Settings, reference: Any) -> jobs.GenerationPlan:
        return jobs.plan(
            values.prompt,
            model=values.model,
            size=values.size,
            seconds=values.seconds,
            reference=reference,
            extra=values.extra or None,
            count=values.count,
            allow_unpriced=self._allow_unpriced(),
            validate=self._validate(),
            settings=settings,
        )

    def __repr__(self) -> str:
        return "RequestPlanner()"
