"""Trends: does an endpoint get slower as the run goes on (and the workspace fills up)?

The statistic, per endpoint, from the HDR histograms of the run's time windows:

- the first and last window are left out (spawning and stopping), the rest split into thirds;
- each third's latency is its merged histogram's ``percentile`` (p75 by default: robust to the
  spikes and stalls of a noisy deployment or machine, yet moved by any real shift);
- the endpoint *degrades* only when the last third is slower than the first by both an absolute
  AND a relative margin, the middle third lies on the way up (a rise, not a burst at the end),
  and at least half of the last third's windows are above the half-way mark (it lasted);
- with too few windows or requests per third the verdict is *inconclusive*, never a failure.

A run creates tickets at a steady pace, so time into the run stands for workspace size; the
chart shows both.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tixallo_qa.core.histogram import Histogram

RISING, STEADY, INCONCLUSIVE = "rising", "steady", "inconclusive"
# A window needs this many requests for its own percentile to count in the persistence test.
WINDOW_MIN = 5
# The middle third must be at least this share of the way from the first to the last.
MIDDLE_SHARE = 0.25
# At least this share of the last third's windows must sit above the half-way mark.
PERSISTENT_SHARE = 0.5


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
    growth = last - first
    ratio = last / first - 1 if first > 0 else float("inf")
    halfway = first + growth / 2
    counted = [h.percentile(q) for _, h in parts[2] if h.count >= WINDOW_MIN]
    persistence = sum(v >= halfway for v in counted) / len(counted) if counted else None

    def verdict(name: str, reason: str) -> Trend:
        return Trend(endpoint, name, first, middle, last, samples, persistence, reason)

    if growth < config.max_growth_ms or ratio < config.max_growth_ratio:
        return verdict(STEADY, "within the growth allowed")
    if middle < first + MIDDLE_SHARE * growth:
        return verdict(STEADY, "slower only at the end, not on the way (a burst, not a trend)")
    if persistence is not None and persistence < PERSISTENT_SHARE:
        return verdict(STEADY, "slow in few of the last third's windows (noise, not a trend)")
    return verdict(RISING, "slower and slower as the run went on")


def assess_all(windows: Mapping[str, Mapping[int, Histogram]], config: TrendConfig) -> list[Trend]:
    return [assess(name, per, config) for name, per in sorted(windows.items())]


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
