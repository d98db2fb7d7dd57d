"""Faults injected on request, reproducible with a seed.

A rule is written ``ROUTE:ACTION[:PROBABILITY]`` or ``ROUTE:script=ACTION,ACTION,…``:

- ``ROUTE``: ``create``, ``list``, ``retrieve``, ``delete``, ``content``, ``remix``, ``edits``, ``models``,
  ``extensions``, ``characters``, or ``*`` for every route.
- ``ACTION``:
  ``429`` (rate limited, ``Retry-After: 1``), ``429=3`` (``Retry-After: 3``), ``429=250ms``
  (``retry-after-ms: 250``), ``429bare`` (no Retry-After at all); ``401``, ``404``, ``500``,
  ``502``, ``503`` (in the real envelope); ``html`` (a proxy's 502 HTML page); ``badjson`` (the
  request is served, then the answer is replaced by malformed JSON); ``reset`` (the request is
  served, then the connection is reset before any byte of the answer); ``drop`` (the connection is
  cut after half the body; ``drop=100`` after 100 bytes); ``slow`` (answer 1.5 s late, before serving; ``slow=300`` 300 ms late); ``late`` (serve
  at once, then hold the answer 1.5 s; ``late=300``: a read timeout after the work is done);
  ``fail`` (the job is accepted, then fails); ``moderation`` (the job fails with
  ``moderation_blocked``); ``expire`` (on a job-creating route the content expires at completion,
  on ``content`` the download is refused as expired); ``ok`` (no fault; for scripts).
- ``PROBABILITY``: 0–1, default 1 (every request).
- ``script=`` plays its actions in order, one per request to that route, then no more faults:
  ``create:script=500,500,ok`` fails the first two creates and lets the rest through.

Examples: ``retrieve:429:0.3``, ``content:drop``, ``create:script=503,ok``, ``*:slow=200:0.1``.
Rules are tried in order and the first that fires wins. Each rule rolls its own dice, seeded by the
plan's seed and the rule's position, so a run with the same seed and the same requests per route
gets the same faults whatever other routes do.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ROUTES", "FaultAction", "FaultPlan", "FaultRule", "parse_fault"]

ROUTES = (
    "create",
    "list",
    "retrieve",
    "delete",
    "content",
    "remix",
    "edits",
    "extensions",
    "characters",
    "models",
)
"""Route names a rule may target (``*`` targets all)."""

_KINDS = (
    "429",
    "429bare",
    "401",
    "404",
    "500",
    "502",
    "503",
    "html",
    "badjson",
    "reset",
    "drop",
    "slow",
    "late",
    "fail",
    "moderation",
    "expire",
    "ok",
)
JOB_KINDS = frozenset({"fail", "moderation", "expire"})
"""Actions that change the job instead of the HTTP answer."""


class FaultSpecError(ValueError):
    """A fault spec string could not be parsed (the message shows the accepted syntax)."""


@dataclass(frozen=True)
class FaultAction:
    """One fault: ``kind`` (see the module docstring) and its optional number."""

    kind: str
    value: float | None = None
    """429: seconds (or milliseconds when ``in_ms``); drop: bytes; slow: milliseconds."""
    in_ms: bool = False

    def __str__(self) -> str:
        if self.value is None:
            return self.kind
        number = f"{self.value:g}"
        return f"{self.kind}={number}{'ms' if self.in_ms else ''}"


@dataclass(frozen=True)
class FaultRule:
    """Which route, which actions, how often; ``scripted`` plays ``actions`` once, in order."""

    route: str
    actions: tuple[FaultAction, ...]
    probability: float = 1.0
    scripted: bool = False

    def __str__(self) -> str:
        if self.scripted:
            return f"{self.route}:script={','.join(str(a) for a in self.actions)}"
        text = f"{self.route}:{self.actions[0]}"
        return text if self.probability == 1.0 else f"{text}:{self.probability:g}"


def _syntax(spec: str, why: str) -> FaultSpecError:
    return FaultSpecError(
        f"fault {spec!r}: {why} (write ROUTE:ACTION[:PROBABILITY] or ROUTE:script=A,B,…; "
        f"routes {', '.join(ROUTES)} or *; actions 429[=S|=MSms], 429bare, 401, 404, 500, 502, "
        "503, html, badjson, reset, drop[=BYTES], slow[=MS], late[=MS], fail, moderation, expire, ok)"
    )


def _parse_action(spec: str, text: str) -> FaultAction:
    kind, _, raw = text.strip().lower().partition("=")
    if kind not in _KINDS:
        raise _syntax(spec, f"unknown action {kind!r}")
    if not raw:
        return FaultAction(kind)
    if kind not in ("429", "drop", "slow", "late"):
        raise _syntax(spec, f"action {kind!r} takes no value")
    in_ms = raw.endswith("ms")
    if in_ms and kind != "429":
        raise _syntax(spec, f"action {kind!r} takes a plain number")
    try:
        value = float(raw[:-2] if in_ms else raw)
    except ValueError:
        raise _syntax(spec, f"{raw!r} is not a number") from None
    if value < 0:
        raise _syntax(spec, f"{raw!r} is negative")
    return FaultAction(kind, value, in_ms)


def parse_fault(spec: str) -> FaultRule:
    """Parse one rule; raises `FaultSpecError` (a `ValueError`) naming the problem."""
    parts = spec.strip().split(":")
    if len(parts) < 2 or len(parts) > 3:
        raise _syntax(spec, "expected two or three ':'-separated parts")
    route = parts[0].strip().lower()
    if route != "*" and route not in ROUTES:
        raise _syntax(spec, f"unknown route {route!r}")
    body = parts[1].strip()
    if body.lower().startswith("script="):
        if len(parts) == 3:
            raise _syntax(spec, "a script takes no probability")
        items = [item for item in body[len("script=") :].split(",") if item.strip()]
        if not items:
            raise _syntax(spec, "the script is empty")
        return FaultRule(route, tuple(_parse_action(spec, i) for i in items), scripted=True)
    probability = 1.0
    if len(parts) == 3:
        try:
            probability = float(parts[2])
        except ValueError:
            raise _syntax(spec, f"probability {parts[2]!r} is not a number") from None
        if not 0.0 <= probability <= 1.0:
            raise _syntax(spec, f"probability {parts[2]!r} is not between 0 and 1")
    return FaultRule(route, (_parse_action(spec, body),), probability)


class FaultPlan:
    """Decides, request by request, which fault (if any) a route suffers. Thread-safe."""

    def __init__(self, rules: Iterable[str | FaultRule] = (), seed: int = 0) -> None:
        self.rules: tuple[FaultRule, ...] = tuple(
            parse_fault(r) if isinstance(r, str) else r for r in rules
        )
        self.seed = seed
        self._lock = threading.Lock()
        self._dice = [random.Random(f"{seed}/{i}/{r}") for i, r in enumerate(self.rules)]
        self._played = [0] * len(self.rules)
        self.history: list[tuple[str, str]] = []
        """(route, action) of every fault fired, in order."""

    def pick(self, route: str) -> FaultAction | None:
        """The fault for this request to ``route``, or None."""
        with self._lock:
            for i, rule in enumerate(self.rules):
                if rule.route not in ("*", route):
                    continue
                if rule.scripted:
                    if self._played[i] >= len(rule.actions):
                        continue
                    action = rule.actions[self._played[i]]
                    self._played[i] += 1
                    if action.kind == "ok":
                        return None
                    self.history.append((route, str(action)))
                    return action
                if self._dice[i].random() < rule.probability:
                    action = rule.actions[0]
                    if action.kind == "ok":
                        return None
                    self.history.append((route, str(action)))
                    return action
            return None

    def describe(self) -> Sequence[str]:
        """The rules as spec strings (``retrieve:429:0.3``…), as `parse_fault` reads them."""
        return [str(rule) for rule in self.rules]
