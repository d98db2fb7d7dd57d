"""Planning and submitting generations: every local check first, then (only then) the creates.

`plan()` checks everything that can be checked without sending (the prompt, model, size, length
and extra fields against the profile; the count; the reference, prepared and fitted; ``max_spend``
for the whole count) and returns a `GenerationPlan`. A dry run shows a plan; `submit` is the one
call that sends creates. `generate` is the two in one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import FileReference, PreparedReference, Resolved, ValidationError
from ..config import Settings, resolve_settings, take_emulator_notice
from ..ledger import Ledger, LedgerRow
from ._job import GenerationRequest, Job, Listener
from ._runner import Runner

__all__ = [
    "MAX_VARIANTS",
    "GenerationPlan",
    "check_budget",
    "generate",
    "generate_many",
    "ledger_for",
    "parse_extra",
    "parse_extra_value",
    "plan",
    "plan_remix",
    "spent",
    "submit",
]

logger = logging.getLogger("sora_widgets.jobs")

MAX_VARIANTS = 10
"""The most videos one submission makes from one prompt (the magic's ``-n``, the panel's
Variants)."""


def ledger_for(settings: Settings) -> Ledger:
    """The process's one connection to the ledger file of ``settings`` (closed at exit; do not
    close it yourself)."""
    return Ledger.shared(settings.ledger_path)


@dataclass(frozen=True)
class GenerationPlan:
    """What a submission would send: ``count`` creates (or one remix) of ``request``."""

    request: GenerationRequest
    settings: Settings
    count: int
    model: str
    size: str
    seconds: str
    unit_cost: float | None
    """Estimated dollars per video (None: the profile knows no price)."""
    cost_source: str = "estimate"
    """``estimate`` (the kit's price table) or ``gateway`` (the gateway's own price list)."""
    price_note: str = ""
    """Where the price comes from, for the cost line: ``OpenAI's price list, 2025-10-06``,
    ``the gateway's price``; empty when the price is unknown."""

    @property
    def total_cost(self) -> float | None:
        """Estimated dollars for the whole plan (None: price unknown)."""
        return None if self.unit_cost is None else self.unit_cost * self.count

    @property
    def simulated(self) -> bool:
        """True on the emulator: costs are simulated, nothing is billed."""
        return self.settings.profile.billing == "simulated"

    @property
    def reference(self) -> Any:
        """The prepared reference (a `Reference`, a URL…) or None."""
        return self.request.input_reference

    @property
    def endpoint(self) -> str:
        """``POST /videos`` or ``POST /videos/{id}/remix``."""
        if self.request.remix_of:
            return f"POST /videos/{self.request.remix_of}/remix"
        return "POST /videos"

    def fields(self) -> dict[str, str]:
        """The fields that would be sent, as text (the reference summarised, never its bytes)."""
        request = self.request
        if request.remix_of:
            return {"prompt": request.prompt}
        fields = {
            "prompt": request.prompt,
            "model": self.model,
            "size": self.size,
            "seconds": self.seconds,
        }
        for key, value in request.extra.items():
            fields[key] = repr(value)
        ref = request.input_reference
        if ref is not None:
            if isinstance(ref, PreparedReference):
                dims = getattr(ref, "size", None)
                shape = f", {dims[0]}x{dims[1]}" if dims else ""
                fields["input_reference"] = (
                    f"{ref.filename} ({ref.mime_type}, {len(ref.data):,} bytes{shape})"
                )
            else:
                fields["input_reference"] = str(ref)[:200]
        return fields


def parse_extra_value(text: str) -> Any:
    """An extra field's value from text: ``true``/``false`` as booleans, whole numbers as ints,
    anything else as the stripped text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"-?\d+", lowered):
        return int(lowered)
    return text.strip()


def parse_extra(pairs: Iterable[str]) -> dict[str, Any]:
    """Extra fields from ``KEY=VALUE`` texts; raises `ValidationError` naming a malformed pair."""
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                f"extra field {pair!r} must look like KEY=VALUE, e.g. watermark=false",
                param="extra",
            )
        extra[key.strip()] = parse_extra_value(value)
    return extra


def _resolved(**overrides: Any) -> Settings:
    """`resolve_settings`, and the embedded emulator's notice printed once (as a plain line on
    the calling thread's output, the cell that asked) when this call started it."""
    settings = resolve_settings(**overrides)
    notice = take_emulator_notice()
    if notice is not None:
        if threading.current_thread() is threading.main_thread():
            print(notice)
        else:
            logger.info(notice)
    return settings


def _fit_size(resolved: Resolved) -> str:
    """The size a reference is fitted to: the size sent (a nominal one for a ratio or tier an
    unknown model gets as asked), or ``auto``: the picture keeps its own shape."""
    pixels = resolved.pixels
    if pixels is None:
        return "auto"
    width, height = pixels
    return f"{width}x{height}"


def _check_reference_taken(resolved: Resolved) -> None:
    spec = resolved.spec
    if spec is not None and spec.reference == "none":
        raise ValidationError(
            f"{spec.name} takes no reference image (leave it out, or choose a model that takes "
            "one; to send it anyway, pass validate=False or %sora --no-validate)",
            param="reference",
        )


def _prepare_reference(reference: Any, size: str, fit: str) -> Any:
    if reference is None or isinstance(reference, PreparedReference):
        return reference
    if isinstance(reference, (dict, tuple)) or (
        isinstance(reference, str) and reference.startswith(("data:",))
    ):
        return reference
    from ..reference import prepare_reference

    return prepare_reference(reference, size, fit=fit)  # type: ignore[arg-type]


def spent(settings: Settings) -> float:
    """Estimated dollars spent on this provider: the ledger's total plus creates in flight."""
    total = ledger_for(settings).total_spent(provider=settings.provider)
    in_flight = sum(
        job.cost or 0.0
        for job in Runner.get().active
        if job.id is None and job.settings.provider == settings.provider
    )
    return total + in_flight


def check_budget(
    settings: Settings, cost: float | None, count: int = 1, *, what: str = "this video"
) -> None:
    """Raise `ValidationError` if ``count`` jobs of ``cost`` dollars would pass ``max_spend``, or
    if the price is unknown (None) under a ``max_spend`` and ``settings.allow_unpriced`` is off."""
    if settings.max_spend is None:
        return
    if cost is None:
        if settings.allow_unpriced:
            return
        raise ValidationError(
            f"the price of {what} is unknown here, so max_spend ${settings.max_spend:.2f} cannot "
            "be kept; allow unpriced jobs to send it anyway (allow_unpriced=True, "
            "%sora --allow-unpriced, or the panel's 'Allow unpriced jobs')",
            param="max_spend",
        )
    already = spent(settings)
    if already + cost * count > settings.max_spend + 1e-9:
        if what.startswith("this storyboard"):
            subject = f"{what} costs"
        else:
            subject = "this job costs" if count == 1 else f"these {count} jobs cost"
        raise ValidationError(
            f"{subject} about ${cost * count:.2f}; with ${already:.2f} already spent on "
            f"this provider that passes max_spend ${settings.max_spend:.2f} (raise max_spend, or "
            "choose a shorter or smaller video)",
            param="max_spend",
        )


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_VARIANTS:
        raise ValidationError(
            f"variants {count!r} must be a whole number from 1 to {MAX_VARIANTS} (each variant is "
            "a separate, billed video)",
            param="variants",
        )


def plan(
    prompt: str,
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    fit: str = "cover",
    extra: dict[str, Any] | None = None,
    count: int = 1,
    validate: bool = True,
    allow_unpriced: bool | None = None,
    settings: Settings | None = None,
    **setting_overrides: Any,
) -> GenerationPlan:
    """Check a generation of ``count`` videos and prepare it; sends nothing.

    ``reference`` is any picture `prepare_reference` takes (fitted to ``size`` with ``fit``), a
    prepared `Reference`, or a URL. Raises `ValidationError` naming the value and the fix for
    anything the provider would refuse, and when the whole count would pass ``max_spend`` (or has
    no known price under it, unless ``allow_unpriced``).
    """
    settings = settings or _resolved(**setting_overrides)
    if allow_unpriced is not None:
        settings = dataclasses.replace(settings, allow_unpriced=allow_unpriced)
    profile = settings.profile
    _check_count(count)
    if validate:
        profile.check(prompt=prompt)
    resolved = profile.resolve(
        model=model, size=size, seconds=seconds, extra=extra, validate=validate
    )
    if validate and reference is not None:
        _check_reference_taken(resolved)
    request = GenerationRequest(
        prompt=prompt,
        model=resolved.model,
        size=resolved.size,
        seconds=resolved.seconds,
        input_reference=_prepare_reference(reference, _fit_size(resolved), fit),
        extra=dict(extra or {}),
        validate=validate,
    )
    return _planned(request, settings, count)


def plan_remix(
    source: Job | LedgerRow, prompt: str, *, settings: Settings | None = None
) -> GenerationPlan:
    """Check a remix of ``source`` (a job, or its ledger row) with a new prompt; sends nothing.

    The remix keeps the source's model, size and length, as the API does.
    """
    if source.id is None or source.id.startswith("pending:"):
        raise ValidationError(
            "this job has no video id yet, so it cannot be remixed; wait until it is submitted"
        )
    settings = settings or (source.settings if isinstance(source, Job) else resolve_settings())
    settings.profile.check(prompt=prompt)
    request = GenerationRequest(
        prompt=prompt,
        model=source.model,
        size=source.size,
        seconds=source.seconds,
        remix_of=source.id,
    )
    return _planned(request, settings, 1)


def price_for(
    settings: Settings, model: str, size: str, seconds: str
) -> tuple[float | None, str, str]:
    """Dollars for one video, its source (``estimate``/``gateway``) and a note saying where the
    figure comes from (the catalogue's price list and date, or the gateway); None when unknown."""
    spec = settings.profile.model_spec(model)
    runner = Runner.get()
    if spec is not None and spec.origin == "gateway":  # the gateway's name: its price first
        unit = runner.gateway_price(settings, model, size, seconds)
        if unit is not None:
            return unit, "gateway", "the gateway's price"
    unit = None if spec is None else spec.cost(size, seconds)
    if unit is not None and spec is not None:
        return unit, "estimate", spec.price_origin
    unit = runner.gateway_price(settings, model, size, seconds)
    return unit, "gateway", "the gateway's price" if unit is not None else ""


def _planned(request: GenerationRequest, settings: Settings, count: int) -> GenerationPlan:
    profile = settings.profile
    model = request.model or profile.default_model
    default_size, default_seconds = profile.defaults_for(model)
    size = request.size or default_size
    seconds = str(request.seconds or default_seconds)
    unit, source, note = price_for(settings, model, size, seconds)
    check_budget(settings, unit, count, what=f"{model} at {size}, {seconds} s")
    return GenerationPlan(request, settings, count, model, size, seconds, unit, source, note)


def references_folder(settings: Settings) -> Path:
    """Where sent reference images are kept by hash (beside the ledger), so a finished job that
    gave its bytes back can still be retried."""
    return Path(settings.ledger_path).parent / "references"


def keep_reference(request: GenerationRequest, settings: Settings) -> None:
    """Store the request's uploaded reference under its hash (once; a failure is only logged)."""
    ref = request.input_reference
    sha = request.reference_sha256
    if sha is None or not isinstance(ref, PreparedReference):
        return
    folder = references_folder(settings)
    path = folder / f"{sha}{Path(ref.filename).suffix}"
    if path.exists():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(ref.data)
        part.replace(path)
    except OSError as exc:
        logger.warning("could not keep the reference %s for retries: %s", path.name, exc)


def kept_reference(request: GenerationRequest, settings: Settings) -> FileReference | None:
    """The stored reference of a request whose bytes were released, or None."""
    sha = request.reference_sha256
    if sha is None:
        return None
    for path in sorted(references_folder(settings).glob(f"{sha}.*")):
        if path.suffix == ".part":
            continue
        mime = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}.get(
            path.suffix.lower(), "image/webp"
        )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha:
            return FileReference(filename=f"reference{path.suffix}", data=data, mime_type=mime)
    return None


def submit(plan: GenerationPlan, *, on_change: Listener | None = None) -> list[Job]:
    """Send the plan's creates (one job each) and return their handles at once.

    ``max_spend`` is checked once more, against what was spent since the plan was made."""
    check_budget(plan.settings, plan.unit_cost, plan.count, what=f"{plan.model} at {plan.size}")
    keep_reference(plan.request, plan.settings)
    runner = Runner.get()
    jobs: list[Job] = []
    for _ in range(plan.count):
        job = Job(plan.request, plan.settings)
        if job.cost is None and plan.unit_cost is not None:
            job.cost, job.cost_source = plan.unit_cost, plan.cost_source
        if on_change is not None:
            job.on_change(on_change)
        jobs.append(runner.submit(job))
    return jobs


def generate(
    prompt: str,
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: str | int | None = None,
    reference: Any = None,
    fit: str = "cover",
    extra: dict[str, Any] | None = None,
    remix_of: str | None = None,
    validate: bool = True,
    allow_unpriced: bool | None = None,
    wait: bool = False,
    timeout: float | None = None,
    settings: Settings | None = None,
    on_change: Listener | None = None,
    **setting_overrides: Any,
) -> Job:
    """Submit one generation and return its `Job` at once (or when finished, with ``wait=True``).

    ``reference`` is any picture `prepare_reference` takes (fitted to ``size`` with ``fit``) or a
    URL. Settings come from ``settings`` or are resolved from ``setting_overrides`` (``base_url``,
    ``api_key``, ``profile``, ``output_dir``, ``max_spend``, ``max_running``, ``ledger_path``).
    ``remix_of`` remixes that video instead. ``validate=False`` skips the profile's checks;
    ``allow_unpriced`` lets a job with no known price through ``max_spend``.
    Raises `ValidationError` before sending anything the provider would refuse or that would pass
    ``max_spend``. Safe to call from a job listener.
    """
    settings = settings or _resolved(**setting_overrides)
    if allow_unpriced is not None:
        settings = dataclasses.replace(settings, allow_unpriced=allow_unpriced)
    if remix_of is not None:
        seconds_text = None if seconds is None else str(seconds)
        request = GenerationRequest(prompt, model, size, seconds_text, remix_of=remix_of)
        the_plan = _planned(request, settings, 1)
    else:
        the_plan = plan(
            prompt,
            model=model,
            size=size,
            seconds=seconds,
            reference=reference,
            fit=fit,
            extra=extra,
            validate=validate,
            settings=settings,
        )
    job = submit(the_plan, on_change=on_change)[0]
    if wait:
        job.wait(timeout)
    return job


def generate_many(
    prompt: str, *, count: int, on_change: Listener | None = None, **options: Any
) -> list[Job]:
    """Submit ``count`` variants of one prompt after checking them all (``options`` as `plan`)."""
    return submit(plan(prompt, count=count, **options), on_change=on_change)
