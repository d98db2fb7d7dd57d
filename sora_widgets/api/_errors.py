"""Every error the kit raises.

The hierarchy::

    SoraError                        anything this kit raises on purpose
    ├── APIError                     the server answered with an error envelope
    │   ├── BadRequestError          400 (and 422): the request was refused as invalid
    │   ├── AuthenticationError      401, or a gateway's refusal of the key in any other status
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── RateLimitError           429 (``retry_after`` in seconds, when the server said)
    │   ├── ServerError              500 and above
    │   ├── UnsupportedError         this provider lacks a capability (``capability`` names it)
    │   └── ContentFailedError       a completed job whose content the gateway cannot produce
    ├── APIConnectionError           no usable answer: refused, reset, dropped, malformed
    │   └── APITimeoutError          the request timed out
    ├── ValidationError              a check made before sending (nothing was sent)
    ├── VideoFailedError             the job ended ``failed`` (``video`` holds it)
    └── ReferenceImageError          a reference picture could not be prepared

No message ever holds an API key: messages are built from the server's text, the request's method
and path, and the values a user passed, and ``redact`` scrubs anything that looks like a key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Video

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ContentFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReferenceImageError",
    "ServerError",
    "SoraError",
    "UnsupportedError",
    "ValidationError",
    "VideoFailedError",
    "redact",
    "scrub",
]

_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+\S+)")


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with the given secrets and anything shaped like a key replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def scrub(exc: BaseException, *secrets: str | None) -> None:
    """Remove secrets from an exception's message and fields in place (a server may echo a key)."""
    if isinstance(exc, APIError):
        exc.message = redact(exc.message, *secrets)
        exc.args = (exc.message,)
        if exc.body is not None and any(s and s in repr(exc.body) for s in secrets):
            exc.body = None
    elif exc.args and isinstance(exc.args[0], str):
        exc.args = (redact(exc.args[0], *secrets), *exc.args[1:])


class SoraError(Exception):
    """Base class of every error this kit raises on purpose."""


class APIError(SoraError):
    """The server answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"Error {self.status_code}"]
        if self.code:
            parts.append(f"({self.code})")
        text = " ".join(parts) + f": {self.message}"
        if self.param:
            text += f" [param: {self.param}]"
        if self.request_id:
            text += f" [request id: {self.request_id}]"
        return text


class BadRequestError(APIError):
    """400 or 422: the server refused the request as invalid."""


class AuthenticationError(APIError):
    """The key is missing or wrong: a 401, or a gateway's refusal in another status.

    LiteLLM's proxy, for one, answers a missing key with a plain-text 500 and a key it cannot
    check with 400 ``No connected db.``. Nothing was done with the request: a create that failed
    this way made no job.
    """


class PermissionDeniedError(APIError):
    """403: the key may not do this."""


class NotFoundError(APIError):
    """404: no such video, variant or route."""


class ConflictError(APIError):
    """409: the resource is in a state that forbids this (e.g. deleting an unfinished video)."""


class RateLimitError(APIError):
    """429: too many requests or too many running jobs; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """500 or above: the provider failed."""


class UnsupportedError(APIError):
    """This provider evidently lacks a capability (one of `CAPABILITIES`, named by ``capability``).

    Raised when a route is missing (405 on any route; 404 or LiteLLM's 400 "LLM Provider NOT
    provided" on list), or a content variant came back as bytes of another kind (then nothing
    is saved). The message says what the kit does instead or what the user can do.
    """

    def __init__(self, message: str, *, capability: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.capability = capability
        """The missing capability: one of `CAPABILITIES`."""


class ContentFailedError(APIError):
    """A job reported completed has no content: the provider's job failed upstream.

    LiteLLM answers a download of such a Veo job with 500 "No response data in completed
    operation". Treat the job as failed (``message`` holds the gateway's words); retrying the
    download cannot help, creating the video again can.
    """


class APIConnectionError(SoraError):
    """No usable answer: the connection was refused, reset or dropped, or the body was malformed.

    ``request_sent`` is True when the request may have reached the server (so a create may have
    happened), False when it certainly did not.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ValidationError(SoraError, ValueError):
    """A request was checked before sending and found invalid; nothing was sent."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class VideoFailedError(SoraError):
    """The job ended in ``failed``; ``video`` is the failed Video, ``code`` the server's code."""

    def __init__(self, video: Video, hint: str | None = None) -> None:
        self.video = video
        self.code = video.error.code if video.error else None
        self.server_message = video.error.message if video.error else "the job failed"
        self.hint = hint
        text = f"Video {video.id} failed"
        if self.code:
            text += f" ({self.code})"
        text += f": {self.server_message}"
        if hint:
            text += f" {hint}"
        super().__init__(text)


class ReferenceImageError(SoraError, ValueError):
    """A reference image could not be read or prepared (names the file and the reason)."""
