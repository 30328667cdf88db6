"""The open model's timetable: when each request is meant to start, at a constant or ramping rate."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ArrivalSchedule:
    """Arrivals at ``start_rate`` per second rising linearly to ``end_rate`` over ``duration`` seconds."""

    start_rate: float
    end_rate: float
    duration: float

    def __post_init__(self) -> None:
        if self.start_rate < 0 or self.end_rate < 0:
            raise ValueError("arrival rates must not be negative")
        if self.duration <= 0:
            raise ValueError("the schedule needs a positive duration")

    @classmethod
    def constant(cls, rate: float, duration: float) -> ArrivalSchedule:
        return cls(rate, rate, duration)

    @property
    def peak_rate(self) -> float:
        return max(self.start_rate, self.end_rate)

    @property
    def total(self) -> int:
        """How many arrivals fall inside the duration."""
        return math.floor((self.start_rate + self.end_rate) / 2 * self.duration + 1e-9)

    def time_of(self, k: int) -> float:
        """Seconds after the start at which arrival ``k`` (0-based) is due."""
        r0, slope = self.start_rate, (self.end_rate - self.start_rate) / self.duration
        if abs(slope) < 1e-12:
            return k / r0 if r0 > 0 else math.inf
        # Solve r0*t + slope*t^2/2 = k for the smallest t >= 0.
        disc = r0 * r0 + 2 * slope * k
        if disc < 0:
            return math.inf  # a falling ramp that never reaches k arrivals
        return (-r0 + math.sqrt(disc)) / slope

    def times(self, stream: int = 0, streams: int = 1) -> Iterator[float]:
        """Due times of the arrivals of one of ``streams`` interleaved streams (k = stream mod streams)."""
        if not 0 <= stream < streams:
            raise ValueError(f"stream {stream} is not in 0..{streams - 1}")
        if self.start_rate == self.end_rate and self.start_rate > 0:
            # A constant rate, the open model's usual case: k / rate, without a call per arrival.
            rate, duration = self.start_rate, self.duration
            for k in range(stream, self.total, streams):
                t = k / rate
                if t > duration:
                    return
                yield t
            return
        for k in range(stream, self.total, streams):
            t = self.time_of(k)
            if t > self.duration:
                return
            yield t


def picker(mix: Mapping[str, float]) -> Callable[[], str]:
    """Draws one action of ``mix`` by weight per call: one uniform draw and a bisection.

    What ``random.choices`` does, without rebuilding the cumulative weights on every arrival;
    an action of weight 0 is never drawn, and a mix of one action needs no draw at all.
    """
    names = [a for a, w in mix.items() if w > 0] or list(mix)
    if len(names) == 1:
        only = names[0]
        return lambda: only
    cum = list(itertools.accumulate(mix[a] if mix[a] > 0 else 1.0 for a in names))
    total, last, draw, cut = cum[-1], len(names) - 1, random.random, bisect.bisect
    return lambda: names[cut(cum, draw() * total, 0, last)]
