"""The emulator's settings and the service profiles it can play.

`EmulatorSettings` is a plain dataclass: every field has a default that suits an interactive session,
tests shorten ``job_seconds``. `service_profile` turns a profile name into the `Profile` the server
validates against: ``openai`` (the official contract, strict), ``relay`` (a gateway: ``watermark``,
URL-string references, more lengths, integer ``seconds``, open model names) and ``extended`` (every
model of the catalogue, Sora with the 2026 guide's 16 and 20 second clips and 1080p on ``sora-2-pro``,
Veo, Runway and the rest at their own sizes and lengths).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..api._errors import ValidationError
from ..api._profiles import BUILTIN_PROFILES, Profile

if TYPE_CHECKING:
    from ._faults import FaultRule

__all__ = [
    "GATEWAY_BEHAVIOURS",
    "LITELLM_BEHAVIOURS",
    "PROFILE_NAMES",
    "EmulatorSettings",
    "ServiceRules",
    "gateway_behaviours",
    "service_profile",
    "service_rules",
]

PROFILE_NAMES = ("openai", "relay", "extended")
"""The profiles the CLI offers (``emulator`` is accepted too, as the official contract)."""

GATEWAY_BEHAVIOURS: dict[str, str] = {
    "no-list": "GET /videos answers 400 'LLM Provider NOT provided' in LiteLLM's error shape",
    "no-delete": "DELETE /videos/{id} answers 405 Method Not Allowed (no such route)",
    "no-extensions": "POST /videos/extensions answers 405 Method Not Allowed (no such route)",
    "ignore-variants": "content ignores ?variant= and always sends the MP4",
    "ignore-range": "content ignores Range: 200 with the whole body",
    "long-ids": "ids are LiteLLM's: 'video_' + base64 of provider, model, id and deployment",
    "status-words": "'pending' and 'processing' instead of 'queued' and 'in_progress', progress null",
    "litellm-headers": "x-litellm-response-cost (the job's estimated price) and x-litellm-model-id",
}
"""The gateway-like behaviours the emulator can put on (``--gateway``), each with what it does.
``litellm`` names all of them but ``no-extensions`` at once (what LiteLLM's proxy 1.108.7 shows;
it routes extensions), ``all`` every one."""

LITELLM_BEHAVIOURS = tuple(w for w in GATEWAY_BEHAVIOURS if w != "no-extensions")
"""What LiteLLM's proxy 1.108.7 does: every behaviour but ``no-extensions``."""


def gateway_behaviours(words: str | Sequence[str]) -> tuple[str, ...]:
    """The behaviours named by ``words`` (a comma-separated string or a sequence), in a fixed
    order; ``litellm`` expands to `LITELLM_BEHAVIOURS`, ``all`` to every one. Raises
    `ValidationError` for an unknown word."""
    items = (
        words.split(",")
        if isinstance(words, str)
        else [w for item in words for w in item.split(",")]
    )
    chosen: set[str] = set()
    for item in items:
        word = item.strip().lower()
        if not word:
            continue
        if word == "all":
            chosen.update(GATEWAY_BEHAVIOURS)
        elif word == "litellm":
            chosen.update(LITELLM_BEHAVIOURS)
        elif word in GATEWAY_BEHAVIOURS:
            chosen.add(word)
        else:
            raise ValidationError(
                f"gateway behaviour {item.strip()!r} is unknown (choose from "
                f"{', '.join(GATEWAY_BEHAVIOURS)}, litellm for what LiteLLM's proxy does, or all)",
                param="gateway",
            )
    return tuple(w for w in GATEWAY_BEHAVIOURS if w in chosen)


DEFAULT_BLOCKED_WORDS = ("nsfw", "gore", "moderation_blocked")
"""Prompts containing one of these words (case-insensitive) fail with ``moderation_blocked``."""


def _extended() -> Profile:
    return BUILTIN_PROFILES["openai"].with_(
        name="extended",
        offers=("*",),
        overrides={},
        description=(
            "every model of the catalogue (sora_widgets.api.catalogue_names()) at its own sizes "
            "and lengths, with the extra fields it takes"
        ),
    )


def service_profile(profile: str | Profile) -> Profile:
    """The `Profile` the emulator validates against; raises `ValidationError` for an unknown name."""
    if isinstance(profile, Profile):
        return profile
    name = profile.strip().lower()
    if name == "extended":
        return _extended()
    if name in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name]
    raise ValidationError(
        f"emulator profile {profile!r} is unknown (choose {', '.join(PROFILE_NAMES)})",
        param="profile",
    )


@dataclass(frozen=True)
class ServiceRules:
    """How lenient the emulated service is beyond its model table."""

    url_string_references: bool
    """``input_reference`` may be a plain http(s) or data URL string."""
    integer_seconds: bool
    """``seconds`` may be a JSON integer."""
    open_models: bool
    """Unknown model names are accepted (checked against every size and length the profile knows)."""


def service_rules(profile: Profile) -> ServiceRules:
    """Relay-like profiles (references as URLs) are lenient; the others are strict."""
    relay_like = profile.reference_form == "url"
    return ServiceRules(
        url_string_references=relay_like, integer_seconds=relay_like, open_models=relay_like
    )


def default_data_dir() -> Path:
    """A per-user folder under the system temporary folder, shared by emulators as a render cache."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"sora-emulator-{uid}"


@dataclass(frozen=True)
class EmulatorSettings:
    """How an emulator behaves. Times are in seconds unless a name says otherwise."""

    profile: str | Profile = "openai"
    """``openai``, ``relay``, ``extended`` (or any `Profile`)."""
    job_seconds: float = 10.0
    """How long a job takes from create to completed (rendering may make it a little longer)."""
    api_key: str | None = None
    """If set, only ``Authorization: Bearer <api_key>`` passes; otherwise any non-empty bearer."""
    max_running: int | None = None
    """Unfinished jobs allowed per key; beyond it create answers 429 ``Too many running tasks``."""
    faults: Sequence[str | FaultRule] = ()
    """Fault rules, as spec strings (see `sora_widgets.emulator._faults`) or `FaultRule` objects."""
    fault_seed: int = 0
    """Seed of the fault dice: the same seed and requests give the same faults."""
    data_dir: str | Path | None = None
    """Where renders are cached and uploads kept; default `default_data_dir()`."""
    state_dir: str | Path | None = None
    """Where the jobs live across restarts (``jobs.json`` and the references they were made
    from); None keeps them in memory only. The embedded emulator keeps them under
    ``$SORA_WIDGETS_HOME/emulator``."""
    blocked_words: Sequence[str] = DEFAULT_BLOCKED_WORDS
    content_ttl: float = 3600.0
    """Seconds from completion until ``expires_at``; content is refused after it."""
    poll_after_ms: int | None = None
    """``openai-poll-after-ms`` sent on unfinished retrieves; default a tenth of ``job_seconds``,
    100–1000 ms (1000 ms is what the official SDK assumes when the header is absent)."""
    max_body_bytes: int = 64 * 1024 * 1024
    """Larger request bodies are answered with 413."""
    clock: Callable[[], float] | None = None
    """Wall clock in unix seconds (default `time.time`); inject one to drive jobs in tests."""
    render_mode: Literal["process", "thread", "inline"] = "process"
    """``process``: a worker process renders (the API never waits on the GIL); ``thread``: a
    thread pool; ``inline``: render synchronously at create (only for debugging)."""
    render_workers: int = 1
    fetch_timeout: float = 5.0
    """Time limit for fetching a URL reference (relay profile)."""
    fetch_max_bytes: int = 20 * 1024 * 1024
    """Size limit of a fetched or data-URL reference."""
    gateway: Sequence[str] = ()
    """Gateway-like behaviours to put on, e.g. ``("no-list", "long-ids")``; see
    `GATEWAY_BEHAVIOURS` (``litellm`` names LiteLLM's, ``all`` every one). Empty: the official
    contract."""
    access_log: bool = True
    """Log one line per request to the ``sora_widgets.emulator.access`` logger."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form settings for experiments; ignored by the emulator itself."""

    def with_(self, **changes: Any) -> EmulatorSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def resolved_data_dir(self) -> Path:
        """``data_dir``, or when None a per-user folder in the temporary folder (`default_data_dir`)."""
        return Path(self.data_dir) if self.data_dir is not None else default_data_dir()

    @property
    def resolved_poll_after_ms(self) -> int:
        """The poll hint in ms: ``poll_after_ms``, else a tenth of a job within 100–1000."""
        if self.poll_after_ms is not None:
            return self.poll_after_ms
        return int(min(1000, max(100, self.job_seconds * 100)))
