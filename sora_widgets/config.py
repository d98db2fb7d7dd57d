"""Settings resolution, and the embedded emulator when nothing is configured.

Order: explicit arguments (the magic's ``%config`` values and the panel's arguments arrive here as
explicit arguments), then the environment (``SORA_API_KEY`` / ``OPENAI_API_KEY``,
``SORA_BASE_URL`` / ``OPENAI_BASE_URL``, ``SORA_PROFILE``, ``SORA_OUTPUT_DIR``, ``SORA_MAX_SPEND``),
otherwise the embedded emulator, started once per process on 127.0.0.1 and announced in one line.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import Profile, ValidationError, get_profile
from .api import first_env as _env
from .ledger import default_ledger_path, provider_key

__all__ = [
    "Settings",
    "embedded_emulator_url",
    "emulator_home",
    "load_user_models",
    "resolve_settings",
    "stop_embedded_emulator",
    "take_emulator_notice",
    "user_models_path",
]

DEFAULT_OUTPUT_DIR = "sora_videos"
EMULATOR_KEY = "sk-emulator-local"
EMULATOR_PROVIDER = "emulator"
"""The embedded emulator's name in the ledger: one identity across kernel restarts."""

_emulator_lock = threading.Lock()
_emulator: Any = None


@dataclass(frozen=True)
class Settings:
    """Where to send requests and what to allow; the key is held but never shown."""

    base_url: str
    profile: Profile
    api_key: str | None = field(default=None, repr=False)
    output_dir: Path = Path(DEFAULT_OUTPUT_DIR)
    max_spend: float | None = None
    """Refuse a submission that would take the estimated total spent past this many dollars."""
    max_running: int | None = None
    """Running jobs per provider (None: the profile's limit)."""
    ledger_path: Path = field(default_factory=default_ledger_path)
    timeout: float | None = None
    """Seconds before a request times out (None: 60 s reads, 5 s connects)."""
    emulated: bool = False
    """True when this is the embedded emulator (videos are synthetic, nothing is billed)."""
    allow_unpriced: bool = False
    """Under ``max_spend``, send a job whose price is unknown (otherwise it is refused)."""
    profile_chosen: bool = True
    """False when nobody chose the profile: the client then takes the one its server names
    (LiteLLM's proxy identifies itself by its ``x-litellm-*`` headers)."""

    @property
    def provider(self) -> str:
        """How the ledger names this provider: the base URL without credentials, or ``emulator``
        for the embedded emulator (whatever port it has after a restart)."""
        return EMULATOR_PROVIDER if self.emulated else provider_key(self.base_url)

    @property
    def running_limit(self) -> int | None:
        """Jobs allowed to run at once on this provider (``max_running``, else the profile's)."""
        return self.max_running if self.max_running is not None else self.profile.max_running

    def client_key(self) -> tuple[str, str | None, str, float | None, bool]:
        """What identifies one connection pool (used by the Runner, never displayed)."""
        return (self.base_url, self.api_key, self.profile.name, self.timeout, self.profile_chosen)

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.provider!r}, profile={self.profile.name!r}, "
            f"api_key={'set' if self.api_key else 'none'}, output_dir={str(self.output_dir)!r}, "
            f"max_spend={self.max_spend!r}, emulated={self.emulated})"
        )


def _float_env(name: str) -> float | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValidationError(
            f"{name}={value!r} is not a number of dollars (e.g. 5 or 2.50)"
        ) from None


def resolve_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    profile: str | Profile | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    max_spend: float | None = None,
    max_running: int | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    allow_unpriced: bool | None = None,
) -> Settings:
    """Resolve settings: arguments, then environment, else the embedded emulator.

    ``allow_unpriced`` (or ``SORA_ALLOW_UNPRICED=1``) lets a job with no known price through
    ``max_spend``."""
    load_user_models()
    key = api_key or _env("SORA_API_KEY", "OPENAI_API_KEY")
    url = base_url or _env("SORA_BASE_URL", "OPENAI_BASE_URL")
    profile_value: str | Profile | None = profile or _env("SORA_PROFILE")
    emulated = False
    if not url:
        if key:
            raise ValidationError(
                "an API key is set but no base URL: OpenAI's Videos API shut down on 2026-09-24, "
                "so set SORA_BASE_URL to your gateway's …/v1 URL (or unset the key to use the "
                "local emulator)",
                param="base_url",
            )
        url = embedded_emulator_url()
        key = EMULATOR_KEY
        emulated = True
        profile_value = profile_value or "emulator"
    if max_spend is None:
        max_spend = _float_env("SORA_MAX_SPEND")
    if max_spend is not None and max_spend < 0:
        raise ValidationError(f"max_spend {max_spend!r} must be zero or more dollars")
    out = output_dir or _env("SORA_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR
    return Settings(
        base_url=url.rstrip("/"),
        profile=get_profile(profile_value),
        profile_chosen=profile_value is not None,
        api_key=key,
        output_dir=Path(out),
        max_spend=max_spend,
        max_running=max_running,
        ledger_path=Path(ledger_path) if ledger_path else default_ledger_path(),
        timeout=timeout,
        emulated=emulated,
        allow_unpriced=(
            allow_unpriced
            if allow_unpriced is not None
            else _env("SORA_ALLOW_UNPRICED") in ("1", "true", "yes")
        ),
    )


_models_loaded: dict[Path, float] = {}


def user_models_path() -> Path:
    """``$SORA_WIDGETS_HOME/models.toml`` (beside the ledger): catalogue entries of the user's."""
    return default_ledger_path().parent / "models.toml"


def load_user_models() -> None:
    """Register the entries of `user_models_path` when the file is new or changed since it was
    last read; raises `ValidationError` naming the file and the entry for a malformed one."""
    from .api import load_models_file

    path = user_models_path()
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return
    if _models_loaded.get(path) == stamp:
        return
    load_models_file(path)
    _models_loaded[path] = stamp


def embedded_emulator_url() -> str:
    """Start the embedded emulator once per process (127.0.0.1, a free port); its base URL."""
    global _emulator
    with _emulator_lock:
        if _emulator is None:
            try:
                from .emulator import EmulatorSettings, serve_in_thread
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ValidationError(
                    "no key or base URL is configured and the emulator's dependencies are missing "
                    f"({exc.name}); install them with: pip install 'sora-widgets[emulator]', or "
                    "set SORA_BASE_URL and SORA_API_KEY"
                ) from None
            job_seconds = float(os.environ.get("SORA_EMULATOR_JOB_SECONDS", "8"))
            home = emulator_home()
            _emulator = serve_in_thread(
                EmulatorSettings(
                    profile="extended",
                    job_seconds=job_seconds,
                    access_log=False,
                    data_dir=home,
                    state_dir=home,
                )
            )
            global _notice
            _notice = EMULATOR_NOTICE
        return str(_emulator.base_url)


EMULATOR_NOTICE = (
    "sora-widgets: no key configured, so videos come from the local emulator: they are "
    "synthetic, and nothing is billed (set SORA_BASE_URL and SORA_API_KEY for a real provider)"
)
_notice: str | None = None


def take_emulator_notice() -> str | None:
    """The one-line notice that the embedded emulator was just started, once (then None): the
    caller shows it where the user is looking (the cell that started it)."""
    global _notice
    with _emulator_lock:
        notice, _notice = _notice, None
    return notice


def emulator_home() -> Path:
    """Where the embedded emulator keeps its jobs, references and renders across restarts:
    ``emulator/`` beside the ledger (``$SORA_WIDGETS_HOME``)."""
    return default_ledger_path().parent / "emulator"


def stop_embedded_emulator() -> None:
    """Stop the embedded emulator if it runs (tests, and the interpreter's exit)."""
    global _emulator
    with _emulator_lock:
        if _emulator is not None:
            _emulator.stop()
            _emulator = None
