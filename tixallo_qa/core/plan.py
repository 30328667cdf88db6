"""A plan before the wait: how many requests a phase sends, on how many keys, and how long pacing makes it.

Against a deployment limited per key, a phase's duration is set by its pacing, not by guesswork:
each key sends ``limit`` requests at once (its window starts empty), then ``limit`` per window.
The same arithmetic gives the time left during the run, from the requests done so far.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tixallo_qa.core.ratelimit import DEFAULT_MARGIN

WINDOW = 60.0 + DEFAULT_MARGIN  # seconds per key window, as the pacing counts it
# The time budget a plan says "N keys would bring it under": the README's "under five minutes".
DEFAULT_BUDGET = 300.0
MAX_KEYS = 10_000


def format_duration(seconds: float) -> str:
    """``45 s``, ``6 min 10 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def paced_seconds(requests: float, keys: int, limit: int) -> float:
    """Seconds the pacing spends on ``requests`` over ``keys`` at ``limit`` per key window."""
    if limit <= 0 or requests <= 0 or keys <= 0:
        return 0.0
    burst = keys * limit
    if requests <= burst:
        return 0.0
    return (requests - burst) * WINDOW / burst


@dataclass(frozen=True)
class Demand:
    """Requests one identity sends (``main`` is the pool of ``TIXALLO_API_KEY``), and its keys."""

    identity: str
    requests: int
    keys: int
    # False: sent without waiting (no key: 401s count against no budget; or a burst on purpose).
    paced: bool = True


@dataclass(frozen=True)
class PhasePlan:
    """One phase's requests, keys and limit, and what they mean in time."""

    name: str
    demands: tuple[Demand, ...]
    limit: int
    budget: float = DEFAULT_BUDGET
    # Seconds per request beyond pacing (answers, the suite's own work): what an unlimited
    # pool of keys still costs.
    per_request: float = 0.0
    # Seconds the phase takes whatever the keys (a load run's duration, its webhook wait).
    floor: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def requests(self) -> int:
        return sum(d.requests for d in self.demands)

    def _seconds(
        self, done: Mapping[str, int] | None = None, main_keys: int | None = None
    ) -> float:
        done = done or {}
        paced = 0.0
        for d in self.demands:
            if not d.paced:
                continue
            keys = main_keys if main_keys is not None and d.identity == "main" else d.keys
            left = paced_seconds(d.requests, keys, self.limit) - paced_seconds(
                done.get(d.identity, 0), keys, self.limit
            )
            paced = max(paced, left)
        sent = sum(done.values())
        return max(self.floor, paced, max(0, self.requests - sent) * self.per_request)

    @property
    def expected(self) -> float:
        """Seconds the phase should take."""
        return self._seconds()

    def time_left(self, done: Mapping[str, int], elapsed: float = 0.0) -> float:
        """Seconds left after ``done`` requests per identity (the pacing schedule's remainder)."""
        return max(0.0, self._seconds(done) - (elapsed if self.floor else 0.0))

    @property
    def main(self) -> Demand | None:
        return next((d for d in self.demands if d.identity == "main"), None)

    def keys_for(self, budget: float | None = None) -> int | None:
        """Keys in the main pool that bring the phase under ``budget``; None when keys cannot."""
        budget = self.budget if budget is None else budget
        main = self.main
        if main is None or self.limit <= 0:
            return None
        for keys in range(max(1, main.keys), MAX_KEYS + 1):
            if self._seconds(main_keys=keys) <= budget:
                return keys
            if paced_seconds(main.requests, keys, self.limit) == 0:
                return None  # pacing is no longer what takes the time
        return None

    def lines(self) -> list[str]:
        """What a person reads before the wait."""
        paced = [d for d in self.demands if d.paced]
        parts = [
            f"{d.identity} {d.requests} on {d.keys} key{'s' if d.keys != 1 else ''}" for d in paced
        ]
        parts += [f"{d.identity} {d.requests} unpaced" for d in self.demands if not d.paced]
        limit = f"{self.limit}/min per key" if self.limit > 0 else "no rate limit"
        lines = [
            f"{self.name}: about {self.requests} requests ({', '.join(parts)}), {limit}: "
            f"expected {format_duration(self.expected)}"
        ]
        if self.expected > self.budget:
            keys = self.keys_for()
            main = self.main
            if keys is not None and main is not None and keys > main.keys:
                lines.append(
                    f"{self.name}: {keys} keys in TIXALLO_API_KEY would bring it under "
                    f"{format_duration(self.budget)}"
                )
        lines += [f"{self.name}: {note}" for note in self.notes]
        return lines

    def summary(self) -> str:
        """The plan in one clause (doctor's budget line)."""
        text = self.lines()[0].split(": ", 1)[1]
        keys = self.keys_for() if self.expected > self.budget else None
        main = self.main
        if keys is not None and main is not None and keys > main.keys:
            text += f"; {keys} keys would bring it under {format_duration(self.budget)}"
        return text


def total_lines(plans: Sequence[PhasePlan], extra: float = 0.0) -> list[str]:
    """Each phase's lines, then the run's expected total."""
    lines = [line for plan in plans for line in plan.lines()]
    if len(plans) > 1:
        total = sum(p.expected for p in plans) + extra
        lines.append(f"expected in all: {format_duration(total)}")
    return lines


def progress_text(plan: PhasePlan, done: Mapping[str, int], elapsed: float) -> str:
    """``120/480 requests, about 3 min 10 s left``: the bar's words during the phase."""
    sent = sum(done.values())
    left = plan.time_left(done, elapsed)
    tail = f", about {format_duration(left)} left" if left >= 1 else ""
    return f"{sent}/{max(sent, plan.requests)} requests{tail}"
