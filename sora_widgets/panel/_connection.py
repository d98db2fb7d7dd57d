"""`ProviderConnection`: where the panel's requests go, and a key for this panel only.

The key typed into the password field is moved out of the widget the moment it arrives (a saved
notebook holds widget state) and kept in a private attribute; `settings` carries it from there.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ..api import Profile, SoraError, get_profile
from ..config import Settings, resolve_settings, take_emulator_notice
from ._widgets import LABEL_STYLE, button, close_descendants, control, note, wrapping_row

__all__ = ["ProviderConnection"]

_NO_KEY = "optional: otherwise from the environment"


def expected_profile(
    settings: Settings | None, profile: str | Profile | None, base_url: str | None
) -> Profile:
    """The profile `resolve_settings` will choose, known without starting anything."""
    if settings is not None:
        return settings.profile
    chosen = profile or os.environ.get("SORA_PROFILE")
    if chosen:
        return get_profile(chosen)
    configured = base_url or os.environ.get("SORA_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    return get_profile("openai" if configured else "emulator")


class ProviderConnection(w.Accordion):  # type: ignore[misc]
    """A folded section: the provider the panel talks to, and an optional API key field.

    ``settings`` is a ready `Settings`, else ``overrides`` go to `resolve_settings` (which may
    start the embedded emulator, so resolve on a worker thread: `resolve`). ``on_key_change`` is
    called with no argument after a key is entered or forgotten; the settings are then resolved
    anew on next use.
    """

    def __init__(
        self,
        *,
        settings: Settings | None,
        overrides: Mapping[str, Any],
        on_key_change: Callable[[], None],
    ) -> None:
        self._given = settings
        self._overrides = dict(overrides)
        self._on_key_change = on_key_change
        self._api_key: str | None = None
        self._settings: Settings | None = None
        self._error: str | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.profile: Profile = expected_profile(
            settings, overrides.get("profile"), overrides.get("base_url")
        )
        """The profile known so far (before the settings are resolved: the expected one)."""
        self.provider_line = w.HTML(note("resolving the provider…"))
        self.api_key = w.Password(
            description="API key",
            placeholder=_NO_KEY,
            tooltip="A key for this panel only; it is not saved in the notebook",
            continuous_update=False,
            layout=control(),
            style=LABEL_STYLE,
        )
        self.forget_key = button(
            "Forget key", "eraser", "Use the key from the environment again", disabled=True
        )
        super().__init__(
            children=[w.VBox([self.provider_line, wrapping_row([self.api_key, self.forget_key])])],
            titles=("Provider and key",),
            selected_index=None,
            layout=w.Layout(width="100%"),
        )
        self.api_key.observe(self._key_entered, names="value")
        self.forget_key.on_click(lambda _b: self.forget())

    @property
    def settings(self) -> Settings:
        """The settings requests go with, resolved on first use (raises `SoraError`)."""
        with self._lock:
            if self._settings is None:
                try:
                    self._settings = self._make_settings()
                except SoraError as exc:
                    self._error = str(exc)
                    raise
                self._error = None
                self.profile = self._settings.profile
            return self._settings

    @property
    def ready(self) -> Settings | None:
        """The settings if already resolved, else None (never blocks)."""
        return self._settings

    @property
    def error(self) -> str | None:
        """Why the settings could not be resolved, or None."""
        return self._error

    @property
    def has_key(self) -> bool:
        """True when a key was typed into this panel (and not forgotten)."""
        return self._api_key is not None

    def _make_settings(self) -> Settings:
        if self._given is not None:
            if self._api_key:
                return dataclasses.replace(self._given, api_key=self._api_key)
            return self._given
        return resolve_settings(api_key=self._api_key, **self._overrides)

    def resolve(self) -> Settings | None:
        """Resolve the settings and say where requests go (blocking: call on a worker thread);
        None when they cannot be resolved (the reason is shown and in `error`)."""
        try:
            settings = self.settings
        except SoraError as exc:
            self._show(note(str(exc), "error"))
            return None
        take_emulator_notice()  # the provider line below says it, in this panel
        if settings.emulated:
            where = (
                f"the local emulator at {settings.provider} "
                "(its videos are synthetic and nothing is billed)"
            )
        else:
            where = f"{settings.provider} with profile {settings.profile.name}"
        if self._api_key:
            key = "a key from this panel (not saved)"
        elif settings.api_key and not settings.emulated:
            key = "the key from the environment"
        else:
            key = "no key"
        self._show(note(f"Provider: {where}; {key}."))
        return settings

    def _show(self, line: str) -> None:
        with self._lock:
            if not self._closed:
                self.provider_line.value = line

    def forget(self) -> None:
        """Use the key from the environment again."""
        self._api_key = None
        self.api_key.placeholder = _NO_KEY
        self.forget_key.disabled = True
        self._reset()

    def _key_entered(self, change: Mapping[str, Any]) -> None:
        value = str(change["new"] or "")
        if not value:
            return
        self.api_key.value = ""  # the key must never stay in a synced trait
        key = value.strip()
        if not key:
            return
        self._api_key = key
        self.api_key.placeholder = "a key is set for this panel (not saved)"
        self.forget_key.disabled = False
        self._reset()

    def _reset(self) -> None:
        with self._lock:
            self._settings = None
            self._error = None
        self._on_key_change()

    def close(self) -> None:
        """Close this section and every widget in it."""
        with self._lock:
            self._closed = True
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return f"ProviderConnection(profile={self.profile.name!r})"
