"""How often to ask about a running job: few requests, little delay, an overall deadline.

`PollPolicy` is configuration; `PollTracker` follows one job. The tracker honours the server's
``openai-poll-after-ms`` hint as a floor, estimates the end from the progress trend and polls just
after it, backs off while progress stalls, and says when the overall deadline has passed.
`PollTracker.display_eta` is the time left a person sees: shown only once it means something,
blended with the typical duration of similar jobs when one is known, and never growing while
progress moves. All times are in seconds on whatever clock the caller uses (a fake one in tests).
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
    eta_from: int = 20
    """Progress seen moving before the trend alone gives an ETA to show (early rates are wild: an
    8 s job at 1-4 % reads as minutes); a known typical duration gives one from the start."""


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
    joined_late: bool = False
    """The job was already running when following began (a resume): its first observation came
    without a planned wait and showed progress, so its age and early rate are unknown."""
    _shown: tuple[int, int, float] | None = field(default=None, init=False, repr=False)
    """(samples seen, progress, eta) of the last `display_eta` answer."""
    _shown_before: tuple[int, int, float] | None = field(default=None, init=False, repr=False)

    def observe(self, now: float, progress: int | None, hint_ms: str | float | None = None) -> None:
        """Record one retrieve: its time, the progress, and the server's poll-after hint (ms).

        ``progress`` None (a gateway that does not say) counts as no movement: there is no trend
        to follow, so the delay grows with the job's age, as while a job is queued.
        """
        if self.started is None:
            self.started = now
        if not self.samples and self.last_delay == 0.0 and progress:
            self.joined_late = True  # asked at once (no first delay) and already moving
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

    def display_eta(self, now: float) -> float | None:
        """Seconds left to show a person, or None while no estimate would mean anything.

        Call it once after each `observe` (it remembers what it showed), and before the first
        if you like: with a typical duration known it answers from the moment of submission.
        The estimate is:

        - from the trend alone, only once progress has moved `PollPolicy.eta_from` points (a job
          joined late needs half what was left, at most that): the average rate since progress
          began (the last 0 % sample, or the first sample of a job joined late);
        - with a typical duration known, from the start: that duration less the job's age (or
          its share still to do, for a job joined late), blended with the trend once the trend
          counts, by progress (at 60 % the trend weighs 0.6);
        - never more than the last one shown when progress moved since (it may grow only while
          progress stalls), and never negative: 0 once past the predicted end, which
          `sora_widgets.display.format_eta` words as "any moment".
        """
        index = len(self.samples)
        progress = self.samples[-1][1] if self.samples else 0
        if self._shown is not None and self._shown[0] < index:
            self._shown_before = self._shown
        previous = (
            self._shown_before
            if self._shown is not None and self._shown[0] == index
            else self._shown
        )
        left = self._left(now)
        if left is None:
            return None
        if previous is not None and progress > previous[1]:
            left = min(left, previous[2])
        self._shown = (index, progress, left)
        return left

    def _left(self, now: float) -> float | None:
        """The unsmoothed estimate behind `display_eta`."""
        if not self.samples:  # just submitted: only a typical duration can say anything
            started = self.started if self.started is not None else now
            return None if self.expected is None else max(0.0, self.expected - (now - started))
        t, p = self.samples[-1]
        started = self.started if self.started is not None else t
        trend = None
        base_t, base_p = self._trend_base()
        moved = p - base_p
        if moved > 0 and t > base_t and moved >= min(self.policy.eta_from, (100 - base_p) / 2):
            trend = (t - base_t) * (100 - p) / moved - (now - t)
        if self.expected is not None:
            if self.joined_late:
                prior = self.expected * (100 - p) / 100 - (now - t)
            else:
                prior = self.expected - (now - started)
            weight = p / 100
            left = prior if trend is None else (1 - weight) * prior + weight * trend
        elif trend is not None:
            left = trend
        else:
            return None
        return max(0.0, left)

    def _trend_base(self) -> tuple[float, int]:
        """Where the trend starts: (time, progress) when progress began moving, as far as seen."""
        first_t, first_p = self.samples[0]
        if self.joined_late:
            return first_t, first_p
        base = (self.started if self.started is not None else first_t, 0)
        for t, p in self.samples:
            if p > 0:
                break
            base = (t, 0)
        return base

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
