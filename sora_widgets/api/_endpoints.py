"""Configuration shared by both clients, and every endpoint as a flow.

`ClientCore` resolves the key, base URL and profile, and turns each endpoint call into a flow (see
`_flows`) whose result is already parsed. `SoraClient` and `AsyncSoraClient` only drive them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._capabilities import detect_profile
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    SoraError,
    UnsupportedError,
    ValidationError,
    redact,
)
from ._flows import Action, create_flow, parsed_flow, request_flow, wait_flow
from ._models import Character, DeletedVideo, Video, VideoList
from ._polling import PollPolicy
from ._profiles import Profile, get_profile
from ._references import video_file
from ._requests import (
    CreateParams,
    RequestSpec,
    build_create,
    build_delete,
    build_edit,
    build_extend,
    build_get_character,
    build_list,
    build_make_character,
    build_remix,
    build_retrieve,
    parse_character,
    parse_deleted,
    parse_list,
    parse_video,
    parse_video_with_hint,
)
from ._retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "ClientCore", "capped_timeout", "first_env", "map_transport_error"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
USER_AGENT = "sora-widgets/0.1"


def first_env(*names: str) -> str | None:
    """The value of the first of these environment variables that is set and not empty, or None."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def capped_timeout(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """``timeout`` with each of its parts (connect, read, write, pool) at most ``seconds``.

    httpx applies each part to one operation, so a server that trickles bytes can still take
    longer in all; every answer the emulator's faults give is bounded by it.
    """

    def cap(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def map_transport_error(exc: httpx.HTTPError, spec: RequestSpec, *secrets: str | None) -> Exception:
    """Turn an httpx transport failure into `APIConnectionError` / `APITimeoutError`."""
    name = type(exc).__name__
    not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    detail = redact(str(exc), *secrets)[:200]
    where = spec.describe()
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{where} timed out ({name}); raise timeout= if the provider is slow",
            request_sent=not not_sent,
        )
    if not_sent:
        return APIConnectionError(
            f"{where}: cannot connect ({detail or name}); is the base URL right and the server up?",
            request_sent=False,
        )
    if isinstance(exc, httpx.TransportError):
        return APIConnectionError(
            f"{where}: the connection failed ({name}: {detail})", request_sent=True
        )
    return APIConnectionError(f"{where}: {name}: {detail}", request_sent=True)


class ClientCore:
    """Settings and endpoint flows shared by `SoraClient` and `AsyncSoraClient`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        profile: str | Profile | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> None:
        key = api_key if api_key is not None else first_env("SORA_API_KEY", "OPENAI_API_KEY")
        url = base_url or first_env("SORA_BASE_URL", "OPENAI_BASE_URL")
        if not url:
            raise ValidationError(
                "no base URL: pass base_url='https://…/v1' or set SORA_BASE_URL (OpenAI's own "
                "Videos API shut down on 2026-09-24; use a gateway, or the local emulator: "
                "python -m sora_widgets.emulator)",
                param="base_url",
            )
        if not url.startswith(("http://", "https://")):
            raise ValidationError(
                f"base_url {_strip_credentials(url)!r} must start with http:// or https://",
                param="base_url",
            )
        self._api_key = key or None
        self.base_url = url.rstrip("/")
        chosen = profile if profile is not None else first_env("SORA_PROFILE")
        self.profile = get_profile(chosen)
        self.profile_given = chosen is not None
        """False when the profile is the default: then a server that identifies itself (see
        `detected_profile`) switches the client to its built-in profile."""
        self.detected_profile: str | None = None
        """The built-in profile the server's response headers named (``"litellm"``), once seen."""
        if isinstance(timeout, httpx.Timeout):
            self.timeout = timeout
        elif timeout is not None:
            self.timeout = httpx.Timeout(float(timeout), connect=min(5.0, float(timeout)))
        else:
            self.timeout = DEFAULT_TIMEOUT
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self.poll_policy = poll_policy or PollPolicy()
        self.max_retries = self.retry_policy.max_retries
        self._created_ids: set[str] = set()
        self.learned: dict[str, bool] = {}
        """What this client found the server lacks at run time, by capability (e.g.
        ``{"range": False, "list": False}``); consulted before the profile (see `supports`)."""
        self.clock: Callable[[], float] = time.time
        self.monotonic: Callable[[], float] = time.monotonic

    # -- capabilities --------------------------------------------------------------------------

    def supports(self, capability: str) -> bool | None:
        """Whether the server can do ``capability`` (one of `CAPABILITIES`): what this client
        learned, else what the profile says; None when unknown (try it)."""
        if capability in self.learned:
            return self.learned[capability]
        return self.profile.capabilities.get(capability)

    def _observe(self, response: httpx.Response) -> None:
        """Note who answered: the first response that identifies a gateway sets
        `detected_profile`, and switches the profile when none was chosen."""
        if self.detected_profile is not None:
            return
        name = detect_profile(response.headers)
        if name is None:
            return
        self.detected_profile = name
        if not self.profile_given and self.profile.name != name:
            self.profile = get_profile(name)

    def _learn_from(self, exc: SoraError) -> None:
        """Remember a missing capability, and name the gateway in the message when it is known
        (a 405 from LiteLLM's router carries none of its headers)."""
        if not isinstance(exc, UnsupportedError):
            return
        self.learned[exc.capability] = False
        name = self.detected_profile or (
            self.profile.name if self.profile.name == "litellm" else None
        )
        anonymous = "this server "
        if name and exc.message.startswith(anonymous):
            exc.message = f"this gateway ({name}) " + exc.message[len(anonymous) :]
            exc.args = (exc.message,)

    # -- safety --------------------------------------------------------------------------------

    @property
    def has_api_key(self) -> bool:
        """Whether a key is configured (the key itself is never exposed)."""
        return bool(self._api_key)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return (
            f"{type(self).__name__}(base_url={_strip_credentials(self.base_url)!r}, "
            f"profile={self.profile.name!r}, api_key={key})"
        )

    def _headers(self, spec: RequestSpec) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec, limit: float | None = None
    ) -> httpx.Request:
        """The httpx request for ``spec``; ``limit`` (seconds) caps its timeouts (a flow's deadline)."""
        body, body_headers = spec.encode()
        headers = self._headers(spec)
        headers.update(body_headers)
        return http.build_request(
            spec.method,
            f"{self.base_url}/{spec.path}",
            params=dict(spec.params) if spec.params else None,
            content=body,
            headers=headers,
            timeout=self.timeout if limit is None else capped_timeout(self.timeout, limit),
        )

    def _transport_error(self, exc: httpx.HTTPError, spec: RequestSpec) -> Exception:
        return map_transport_error(exc, spec, self._api_key)

    # -- endpoint flows ------------------------------------------------------------------------

    def _create_flow(
        self,
        *,
        prompt: str,
        model: str | None,
        size: str | None,
        seconds: str | int | None,
        input_reference: Any,
        extra_body: Mapping[str, Any] | None,
        validate: bool,
        retry_policy: RetryPolicy | None = None,
    ) -> Generator[Action, Any, Video]:
        spec, params = build_create(
            self.profile,
            prompt=prompt,
            model=model,
            size=size,
            seconds=seconds,
            input_reference=input_reference,
            extra_body=extra_body,
            validate=validate,
        )
        policy = retry_policy or self.retry_policy
        return self._job_flow(spec, params, policy)

    def _job_flow(
        self, spec: RequestSpec, params: CreateParams, policy: RetryPolicy | None = None
    ) -> Generator[Action, Any, Video]:
        """Any request that starts a billed job: never blindly resent (see `create_flow`)."""
        return create_flow(
            spec,
            params,
            policy or self.retry_policy,
            self._created_ids,
            self.clock,
            can_list=self.supports("list"),
            learned=self.learned,
        )

    def _retrieve_flow(self, video_id: str) -> Generator[Action, Any, Video]:
        return parsed_flow(build_retrieve(video_id), self.retry_policy, parse_video)

    def _retrieve_with_hint_flow(
        self, video_id: str
    ) -> Generator[Action, Any, tuple[Video, str | None]]:
        return parsed_flow(build_retrieve(video_id), self.retry_policy, parse_video_with_hint)

    def _delete_flow(self, video_id: str) -> Generator[Action, Any, DeletedVideo]:
        return parsed_flow(build_delete(video_id), self.retry_policy, parse_deleted)

    def _list_page_flow(
        self, *, limit: int | None, after: str | None, order: str | None
    ) -> Generator[Action, Any, VideoList]:
        spec = build_list(limit=limit, after=after, order=order)
        return parsed_flow(spec, self.retry_policy, parse_list)

    def _remix_flow(self, video_id: str, prompt: str) -> Generator[Action, Any, Video]:
        spec = build_remix(video_id, prompt=prompt)
        return self._job_flow(spec, CreateParams(prompt, None, None, None))

    def _edit_flow(
        self, prompt: str, video: Any, extra_body: Mapping[str, Any] | None
    ) -> Generator[Action, Any, Video]:
        spec = build_edit(prompt=prompt, video=video, extra_body=extra_body)
        return self._job_flow(spec, CreateParams(prompt, None, None, None))

    def _extend_flow(
        self, prompt: str, seconds: str | int, video: Any, extra_body: Mapping[str, Any] | None
    ) -> Generator[Action, Any, Video]:
        spec = build_extend(prompt=prompt, seconds=seconds, video=video, extra_body=extra_body)
        return self._job_flow(spec, CreateParams(prompt, None, None, None))

    def _character_flow(self, name: str, video: Any) -> Generator[Action, Any, Character]:
        spec = build_make_character(name=name, video=video_file(video))
        response = yield from request_flow(spec, self.retry_policy)
        return parse_character(spec, response)

    def _get_character_flow(self, character_id: str) -> Generator[Action, Any, Character]:
        return parsed_flow(build_get_character(character_id), self.retry_policy, parse_character)

    def _wait_flow(
        self,
        video_id: str,
        *,
        timeout: float | None,
        on_update: Callable[[Video], None] | None,
        raise_on_failure: bool,
    ) -> Generator[Action, Any, Video]:
        poll = self.poll_policy
        if timeout is not None:
            poll = replace(poll, deadline=float(timeout))
        return wait_flow(
            video_id, self.retry_policy, poll, self.monotonic, on_update, raise_on_failure
        )
