"""Trends: does an endpoint get slower as the run goes on (and the workspace fills up)?

The statistic, per endpoint, from the HDR histograms of the run's time windows:

- the first and last window are left out (spawning and stopping), the rest split into thirds;
- each third's latency is its merged histogram's ``percentile`` (p75 by default: robust to the
  spikes and stalls of a noisy deployment or machine, yet moved by any real shift);
- the endpoint *degrades* only when the last third is slower than the first by both an absolute
  AND a relative margin, and by the absolute margin more than the run's other endpoints would
  explain (their median relative growth, from a base of at least ``RELATIVE_FLOOR_MS``, applied
  to this one: a machine or network that slows everything together is no trend of this
  endpoint's data), the middle
  third lies on the way up (a rise, not a burst at the end), and at least half of the last
  third's windows are above the half-way mark (it lasted);
- with too few windows or requests per third the verdict is *inconclusive*, never a failure.

A run creates tickets at a steady pace, so time into the run stands for workspace size; the
chart shows both.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tixallo_qa.core.histogram import Histogram

RISING, STEADY, INCONCLUSIVE = "rising", "steady", "inconclusive"
# A window needs this many requests for its own percentile to count in the persistence test.
WINDOW_MIN = 5
# The middle third must be at least this share of the way from the first to the last.
MIDDLE_SHARE = 0.25
# At least this share of the last third's windows must sit above the half-way mark.
PERSISTENT_SHARE = 0.5
# The other endpoints' growth is taken relative to at least this latency (ms). Below it a p75 is
# mostly the wait for a CPU (a scheduling period on Linux is about 6-12 ms): a busier machine
# adds that wait to each request, whatever it costs, so 2 -> 10 ms is not a machine five times
# slower, and scaling a 60 ms endpoint by it would excuse any trend (seen in a selftest run: the
# list rising 168 ms, beside reads and creates going from 2 to 10 ms, was judged steady).
RELATIVE_FLOOR_MS = 10.0


@dataclass(frozen=True)
class TrendConfig:
    """How much growth is a defect; the defaults leave room for noise on a shared machine."""

    percentile: float = 75.0
    max_growth_ms: float = 30.0
    max_growth_ratio: float = 0.5
    min_samples: int = 40  # requests in each third
    min_windows: int = 6


@dataclass(frozen=True)
class Trend:
    """One endpoint's trend: its verdict, the three thirds' latency (ms) and why."""

    endpoint: str
    verdict: str
    first: float | None = None
    middle: float | None = None
    last: float | None = None
    samples: tuple[int, int, int] = (0, 0, 0)
    persistence: float | None = None
    reason: str = ""
    # What the run's other endpoints did meanwhile: their median relative growth (>= 0), and the
    # growth in ms it stands for at this endpoint's own first-third latency.
    others_ratio: float = 0.0
    others_ms: float = 0.0

    @property
    def conclusive(self) -> bool:
        return self.verdict != INCONCLUSIVE and self.first is not None and self.last is not None

    @property
    def growth_ms(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return self.last - self.first

    @property
    def growth_ratio(self) -> float | None:
        if self.first is None or self.last is None or self.first <= 0:
            return None
        return self.last / self.first - 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "verdict": self.verdict,
            "first_ms": self.first,
            "middle_ms": self.middle,
            "last_ms": self.last,
            "growth_ms": self.growth_ms,
            "growth_ratio": self.growth_ratio,
            "samples": list(self.samples),
            "persistence": self.persistence,
            "others_growth_ms": self.others_ms,
            "others_growth_ratio": self.others_ratio,
            "reason": self.reason,
        }


def steady_windows(windows: Mapping[int, Histogram]) -> list[tuple[int, Histogram]]:
    """The windows with data, in order, without the first and last (start-up and stop)."""
    ordered = [(w, h) for w, h in sorted(windows.items()) if h.count]
    return ordered[1:-1] if len(ordered) > 2 else []


def assess(endpoint: str, windows: Mapping[int, Histogram], config: TrendConfig) -> Trend:
    """The verdict on one endpoint's windows (see the module docstring)."""
    steady = steady_windows(windows)
    q = config.percentile
    if len(steady) < config.min_windows:
        return Trend(
            endpoint, INCONCLUSIVE,
            reason=f"{len(steady)} steady time windows, {config.min_windows} needed",
        )  # fmt: skip
    k = len(steady) // 3
    parts = (steady[:k], steady[k : len(steady) - k], steady[len(steady) - k :])
    merged = [Histogram.merged(h for _, h in part) for part in parts]
    samples = (merged[0].count, merged[1].count, merged[2].count)
    if min(samples) < config.min_samples:
        return Trend(
            endpoint, INCONCLUSIVE, samples=samples,
            reason=f"{min(samples)} requests in a third of the run, {config.min_samples} needed",
        )  # fmt: skip
    first, middle, last = (h.percentile(q) for h in merged)
    halfway = first + (last - first) / 2
    counted = [h.percentile(q) for _, h in parts[2] if h.count >= WINDOW_MIN]
    persistence = sum(v >= halfway for v in counted) / len(counted) if counted else None
    return judge(Trend(endpoint, STEADY, first, middle, last, samples, persistence), config)


def judge(trend: Trend, config: TrendConfig, others_ratio: float = 0.0) -> Trend:
    """The verdict on a conclusive trend, beyond the other endpoints' median relative growth."""
    if not trend.conclusive:
        return trend
    assert trend.first is not None and trend.last is not None and trend.middle is not None
    first, middle, last = trend.first, trend.middle, trend.last
    others_ratio = max(0.0, others_ratio)
    others_ms = first * others_ratio
    growth = last - first
    ratio = last / first - 1 if first > 0 else float("inf")

    def verdict(name: str, reason: str) -> Trend:
        return replace(
            trend, verdict=name, reason=reason, others_ratio=others_ratio, others_ms=others_ms
        )

    if growth < config.max_growth_ms or ratio < config.max_growth_ratio:
        return verdict(STEADY, "within the growth allowed")
    if growth - others_ms < config.max_growth_ms:
        return verdict(
            STEADY,
            "the other endpoints slowed about as much (the machine or network, not its data)",
        )
    if middle < first + MIDDLE_SHARE * growth:
        return verdict(STEADY, "slower only at the end, not on the way (a burst, not a trend)")
    if trend.persistence is not None and trend.persistence < PERSISTENT_SHARE:
        return verdict(STEADY, "slow in few of the last third's windows (noise, not a trend)")
    return verdict(RISING, "slower and slower as the run went on, more than the other endpoints")


def assess_all(windows: Mapping[str, Mapping[int, Histogram]], config: TrendConfig) -> list[Trend]:
    """Every endpoint's trend, each judged beyond the median relative growth of the others."""
    alone = [assess(name, per, config) for name, per in sorted(windows.items())]
    out = []
    for trend in alone:
        others = [_machine_ratio(t) for t in alone if t is not trend and t.conclusive]
        out.append(judge(trend, config, statistics.median(others)) if others else trend)
    return out


def _machine_ratio(trend: Trend) -> float:
    """How much slower the machine got, as this endpoint tells it (see RELATIVE_FLOOR_MS)."""
    if trend.first is None or trend.last is None:
        return 0.0
    return (trend.last - trend.first) / max(trend.first, RELATIVE_FLOOR_MS)


def tickets_so_far(created: Sequence[Mapping[str, Any]]) -> list[float]:
    """Sorted acknowledgement times of the run's created tickets (for workspace size at a time)."""
    return sorted(float(r["acked_at"]) for r in created if r.get("kind") == "ticket")


def series(
    windows: Mapping[str, Mapping[int, Histogram]],
    window: float,
    created_at: Sequence[float],
    q: float,
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[tuple[float, float]]]]:
    """Per endpoint, percentile ``q`` of each window against seconds into the run and tickets created."""
    starts = [w for per in windows.values() for w in per]
    if not starts:
        return {}, {}
    origin = min(starts) * window
    by_time: dict[str, list[tuple[float, float]]] = {}
    by_size: dict[str, list[tuple[float, float]]] = {}
    for name, per in sorted(windows.items()):
        for w, h in sorted(per.items()):
            if h.count < 3:
                continue
            value = h.percentile(q)
            end = (w + 1) * window
            by_time.setdefault(name, []).append((w * window - origin, value))
            size = float(bisect.bisect_right(created_at, end))
            by_size.setdefault(name, []).append((size, value))
    return by_time, by_size
