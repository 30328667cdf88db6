"""The open model's timetable: when each request is meant to start, at a constant or ramping rate."""

from __future__ import annotations

import math
from collections.abc import Iterator
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
        for k in range(stream, self.total, streams):
            t = self.time_of(k)
            if t > self.duration:
                return
            yield t
