"""Small helpers the newer benches and ``bench/run`` share: summary statistics and markdown tables."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def spread(values: Sequence[float]) -> dict[str, float]:
    """Minimum, median and maximum of ``values`` (several runs of one measurement)."""
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
    }


def triple(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``min / median / max`` as one table cell."""
    s = spread(values)
    return " / ".join(fmt.format(s[k]) for k in ("min", "median", "max"))


def markdown_table(rows: Iterable[dict[str, Any]], keys: Sequence[str] | None = None) -> str:
    """A GitHub markdown table of ``rows``; keys starting with ``_`` are left out."""
    rows = list(rows)
    if not rows:
        return "(no rows)"
    keys = list(keys or [k for k in rows[0] if not k.startswith("_")])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"
