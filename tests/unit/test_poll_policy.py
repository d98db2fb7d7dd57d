"""PollTracker on a fake clock: few polls, small lag, hint honoured, backoff on stalls, deadline."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from sora_widgets.api import PollPolicy, PollTracker


def simulate(
    duration: float,
    *,
    stall: tuple[float, float] | None = None,
    hint_ms: float | None = None,
    policy: PollPolicy | None = None,
) -> tuple[int, float]:
    """Poll a job that completes at ``duration`` s with linear progress; (polls, detection lag)."""

    def progress(t: float) -> int:
        if stall and stall[0] <= t < stall[1]:
            t = stall[0]
        return min(100, int(100 * t / duration)) if t < duration else 100

    tracker = PollTracker(policy=policy or PollPolicy(), started=0.0)
    now = tracker.next_delay(0.0)
    polls = 0
    while True:
        polls += 1
        p = progress(now)
        tracker.observe(now, p, hint_ms)
        if now >= duration:
            return polls, now - duration
        now += tracker.next_delay(now)


@pytest.mark.parametrize("duration", [10.0, 30.0, 60.0, 180.0])
def test_few_polls_and_small_lag(duration: float) -> None:
    polls, lag = simulate(duration)
    if duration >= 60:
        assert polls <= duration / 5  # the official SDK polls every second
    else:
        assert polls <= 10
    assert lag <= 1.5


def uneven(duration: float, seed: int) -> tuple[int, float]:
    """A job whose progress comes in bursts and stalls (random segment rates), 1 s hints."""
    rng = random.Random(seed)
    cuts = sorted(rng.uniform(0.1, 0.9) for _ in range(4))
    bounds = [0.0, *cuts, 1.0]
    rates = [rng.uniform(0.05, 1.0) ** 2 for _ in range(5)]
    levels = [0.0]
    for k, rate in enumerate(rates):
        levels.append(levels[-1] + rate * (bounds[k + 1] - bounds[k]))

    def progress(t: float) -> int:
        f = t / duration
        for k in range(5):
            if f <= bounds[k + 1]:
                value = levels[k] + rates[k] * (f - bounds[k])
                return min(99, int(99 * value / levels[-1]))
        return 100

    tracker = PollTracker(started=0.0)
    now, polls = tracker.next_delay(0.0), 0
    while True:
        polls += 1
        tracker.observe(now, 100 if now >= duration else progress(now), "1000")
        if now >= duration:
            return polls, now - duration
        now += tracker.next_delay(now)


def test_uneven_60s_jobs_goal() -> None:
    results = [uneven(60.0, seed) for seed in range(100)]
    assert statistics.median(p for p, _ in results) <= 12  # 1/5 of the SDK's 60
    assert statistics.median(lag for _, lag in results) <= 1.5


def test_median_lag_over_many_durations() -> None:
    lags = [simulate(d)[1] for d in range(20, 120, 7)]
    assert statistics.median(lags) <= 1.5


def test_server_hint_is_a_floor() -> None:
    tracker = PollTracker(started=0.0)
    tracker.observe(10.0, 90, "7000")
    assert tracker.next_delay(10.0) >= 7.0


def test_stalled_progress_backs_off() -> None:
    tracker = PollTracker(started=0.0)
    tracker.observe(5.0, 0)
    first = tracker.next_delay(5.0)
    tracker.observe(5.0 + first, 0)
    second = tracker.next_delay(5.0 + first)
    tracker.observe(5.0 + first + second, 0)
    third = tracker.next_delay(5.0 + first + second)
    assert first < second < third <= PollPolicy().max_interval


def test_eta_from_trend() -> None:
    tracker = PollTracker(started=0.0)
    tracker.observe(10.0, 25)
    assert tracker.eta(10.0) == pytest.approx(30.0)


def test_deadline_is_reported_and_never_overshot() -> None:
    policy = PollPolicy(deadline=100.0)
    tracker = PollTracker(policy=policy, started=0.0)
    now = 0.0
    while not tracker.expired(now):
        tracker.observe(now, 1)
        now += tracker.next_delay(now)
    assert 100.0 <= now <= 100.0 + 1e-6


def test_garbage_hints_are_ignored() -> None:
    tracker = PollTracker(started=0.0)
    for hint in ("soon", "-5", "nan"):
        tracker.observe(1.0, 10, hint)
        assert tracker.hint is None


def test_a_gateway_that_never_says_its_progress_is_polled_ever_more_slowly() -> None:
    policy = PollPolicy()
    tracker = PollTracker(policy=policy, started=0.0)
    now, delays = 0.0, []
    for _ in range(40):
        tracker.observe(now, None)
        delay = tracker.next_delay(now)
        delays.append(delay)
        now += delay
    assert tracker.eta(now) is None  # no trend to follow
    later = delays[1:]  # the first poll is the policy's first delay; then it only grows
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(later))
    assert min(delays) >= policy.min_interval and delays[-1] == policy.max_interval
    assert now < policy.deadline
