"""When to retry a request, and how long to wait first."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), or None.

    Only delta-seconds are understood; an HTTP date or garbage gives None.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    seconds = lowered.get("retry-after")
    if seconds is not None:
        try:
            value = float(seconds)
        except ValueError:
            return None
        if value >= 0:
            return value
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the server's Retry-After up to a cap.

    ``max_retries`` counts retries, not attempts: 2 means at most 3 attempts.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    """Seconds before the first retry."""
    max_backoff: float = 8.0
    """Cap on the computed backoff, in seconds."""
    jitter: float = 0.25
    """Up to this fraction of the backoff is taken off at random."""
    max_retry_after: float = 60.0
    """A server's Retry-After longer than this (seconds) is not waited for: the error is raised."""
    retry_statuses: frozenset[int] = RETRYABLE_STATUS
    """HTTP statuses worth another attempt."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def should_retry(self, attempt: int, status_code: int | None) -> bool:
        """Whether attempt number ``attempt`` (0-based) may be followed by another.

        ``status_code`` is None for a connection error or timeout.
        """
        if attempt >= self.max_retries:
            return False
        return status_code is None or status_code in self.retry_statuses

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry ``attempt + 1``; None when Retry-After exceeds the cap."""
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after
        backoff = min(self.initial_backoff * (2.0**attempt), self.max_backoff)
        return backoff * (1.0 - self.jitter * self.rng.random())
