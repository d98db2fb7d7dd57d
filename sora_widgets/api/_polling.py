"""How often to ask about a running job: few requests, little delay, an overall deadline.

`PollPolicy` is configuration; `PollTracker` follows one job. The tracker honours the server's
``openai-poll-after-ms`` hint as a floor, estimates the end from the progress trend and polls just
after it, backs off while progress stalls, and says when the overall deadline has passed.
All times are in seconds on whatever clock the caller uses (a fake one in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PollPolicy", "PollTracker"]


@dataclass(frozen=True)
class PollPolicy:
    """Pacing for polling one job."""

    first_delay: float = 2.0
    """Wait before the first retrieve after a create."""
    min_interval: float = 0.2
    """Never poll more often than this (the server's hint may ask for longer)."""
    max_interval: float = 15.0
    """Never wait longer than this between polls."""
    tail_interval: float = 1.0
    """Longest interval once the predicted end is near or passed without completion."""
    tail_fraction: float = 0.05
    """Near the end, poll every this fraction of the job's age (short jobs poll sooner)."""
    age_fraction: float = 0.75
    """Never wait longer than this fraction of the job's age (progress can mislead early on)."""
    expected_lead: float = 0.9
    """With a typical duration known, the first poll comes at this fraction of it."""
    trust_progress: int = 30
    """Below this progress the trend is too young to trust, and ``age_fraction`` applies."""
    lead: float = 0.75
    """Fraction of the predicted remaining time to wait (re-predict before the end)."""
    stall_factor: float = 1.6
    """Growth of the interval while progress does not move."""
    deadline: float = 3 * 3600.0
    """After this long the job is reported stuck (it stays resumable)."""


@dataclass
class PollTracker:
    """Follows one job's progress and proposes the next delay."""

    policy: PollPolicy = field(default_factory=PollPolicy)
    started: float | None = None
    """When the job was submitted (defaults to the first observation)."""
    samples: list[tuple[float, int]] = field(default_factory=list)
    last_delay: float = 0.0
    hint: float | None = None
    expected: float | None = None
    """Typical duration of similar jobs (seconds), if known: the first poll aims just before it."""

    def observe(self, now: float, progress: int | None, hint_ms: str | float | None = None) -> None:
        """Record one retrieve: its time, the progress, and the server's poll-after hint (ms).

        ``progress`` None (a gateway that does not say) counts as no movement: there is no trend
        to follow, so the delay grows with the job's age, as while a job is queued.
        """
        if self.started is None:
            self.started = now
        self.samples.append((now, 0 if progress is None else max(0, min(100, int(progress)))))
        self.hint = _parse_hint(hint_ms)

    def expired(self, now: float) -> bool:
        """True once the overall deadline has passed."""
        return self.started is not None and now - self.started >= self.policy.deadline

    def eta(self, now: float) -> float | None:
        """Predicted seconds until completion from the progress trend, or None if unknown."""
        rate = self._rate()
        if rate is None:
            return None
        t, p = self.samples[-1]
        return max(0.0, (100 - p) / rate - (now - t))

    def _rate(self) -> float | None:
        moving = [(t, p) for t, p in self.samples if p > 0]
        if not moving:
            return None
        t_last, p_last = self.samples[-1]
        # Progress since the job was submitted (progress 0 at `started`) gives a stable average rate.
        elapsed = t_last - (self.started if self.started is not None else t_last)
        if p_last <= 0 or elapsed <= 0:
            return None
        return p_last / elapsed

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next retrieve."""
        policy = self.policy
        age = now - (self.started if self.started is not None else now)
        tail = min(max(policy.tail_fraction * age, policy.min_interval), policy.tail_interval)
        if not self.samples:
            delay = policy.first_delay
            if self.expected is not None:
                delay = max(policy.min_interval, self.expected * policy.expected_lead - age)
        else:
            progress = self.samples[-1][1]
            stalled = len(self.samples) >= 2 and progress == self.samples[-2][1]
            remaining = self.eta(now)
            if remaining is None:  # still queued: wait, backing off while nothing moves
                delay = max(policy.first_delay, self.last_delay)
                if stalled:
                    delay = self.last_delay * policy.stall_factor
            elif remaining <= tail:
                delay = tail
            else:
                delay = remaining * policy.lead
                if stalled and progress < 90:  # a stall mid-job: back off
                    delay = max(delay, self.last_delay * policy.stall_factor)
        if self.samples and age > 0 and self.samples[-1][1] < policy.trust_progress:
            delay = min(delay, max(age * policy.age_fraction, tail))
        delay = min(max(delay, policy.min_interval), policy.max_interval)
        if self.hint is not None:
            delay = max(delay, self.hint)
        left = policy.deadline - (now - (self.started if self.started is not None else now))
        if self.samples and left > 0:
            delay = min(delay, left)
        self.last_delay = delay
        return delay


def _parse_hint(value: str | float | None) -> float | None:
    if value is None:
        return None
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return None
    if ms < 0 or ms != ms:
        return None
    return min(ms / 1000.0, 600.0)
