"""Percentile math: nearest-rank on raw values and on locust-style bucketed histograms."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

QUANTILES = (50.0, 95.0, 99.0)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100] of an ascending sequence; NaN when empty."""
    if not sorted_values:
        return math.nan
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is outside (0, 100]")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def histogram_percentile(histogram: Mapping[int, int], q: float) -> float:
    """Nearest-rank percentile of a ``{value: count}`` histogram; NaN when empty."""
    total = sum(histogram.values())
    if total <= 0:
        return math.nan
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is outside (0, 100]")
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def bucket_ms(value_ms: float) -> int:
    """Round a latency the way locust does (2 significant digits above 100 ms), to keep histograms small."""
    if value_ms < 100:
        return round(value_ms)
    if value_ms < 1000:
        return int(round(value_ms, -1))
    if value_ms < 10000:
        return int(round(value_ms, -2))
    return int(round(value_ms, -3))


def merge(into: dict[int, int], other: Mapping[int, int]) -> dict[int, int]:
    """Add ``other``'s counts to ``into`` (histograms from several processes)."""
    for value, count in other.items():
        into[int(value)] = into.get(int(value), 0) + int(count)
    return into


def summarize(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, max and mean of raw values (None for an empty input)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    out: dict[str, float | int | None] = {"count": len(ordered)}
    for q in QUANTILES:
        out[f"p{q:g}"] = percentile(ordered, q)
    out["max"] = float(ordered[-1])
    out["mean"] = sum(ordered) / len(ordered)
    return out
