"""Fault injection, for checking a sender's retries: wrong answers or stalls for some deliveries.

A fault answers a status (any 4xx or 5xx: part B 3 has every non-2xx answer retried) and/or
stalls first; a stall ends early when the sender hangs up (it gave up waiting: no answer came).
A rule applies one fault to the next ``count`` deliveries or a ``share`` of them, or a ``plan``
of faults, one per delivery in turn; ``fresh`` limits it to first attempts (a delivery id the
sink has not seen), so a retry is never refused again and each fault meets another event.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATUSES = range(400, 600)
MAX_STALL = 600.0


@dataclass(frozen=True)
class Fault:
    """What a faulty delivery gets: ``status`` (after ``stall`` seconds, if any)."""

    status: int | None = None
    stall: float = 0.0

    def __post_init__(self) -> None:
        if self.status is None and self.stall <= 0:
            raise ValueError("a fault needs a status (a 4xx or 5xx) or a stall in seconds")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status {self.status} is not a 4xx or 5xx (400..599)")
        if not 0 <= self.stall <= MAX_STALL:
            raise ValueError(f"stall must be 0..{MAX_STALL:g} seconds")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        unknown = set(data) - {"status", "stall"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(
            status=None if data.get("status") is None else int(data["status"]),
            stall=float(data.get("stall") or 0.0),
        )

    def describe(self) -> dict[str, Any]:
        return {"status": self.status, "stall": self.stall}


@dataclass
class FaultRule:
    """Applies ``fault`` to the next ``count`` deliveries, or to a ``share`` of them (or both);
    or each fault of ``plan`` to one delivery, in turn. With ``fresh``, first attempts only."""

    status: int | None = None
    stall: float = 0.0
    count: int | None = None
    share: float | None = None
    seed: int | None = None
    plan: tuple[Fault, ...] = ()
    fresh: bool = False
    applied: int = 0
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.plan:
            if self.status is not None or self.stall or self.share is not None:
                raise ValueError("a plan names each delivery's fault: no status, stall or share")
            if self.count is not None and self.count != len(self.plan):
                raise ValueError("a plan's count is its length")
            self.count = len(self.plan)
        else:
            Fault(self.status, self.stall)  # the same rules as a plan's faults
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.share is not None and not 0 <= self.share <= 1:
            raise ValueError("share must be within 0..1")
        if self.count is None and self.share is None:
            raise ValueError(
                "say which deliveries: count (the next N) and/or share (0..1), or a plan"
            )
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        unknown = set(data) - {"status", "stall", "count", "share", "seed", "plan", "fresh"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        plan = data.get("plan") or ()
        if not isinstance(plan, Sequence) or isinstance(plan, str | bytes):
            raise ValueError('plan must be a list of faults, e.g. [{"status": 500}, {"stall": 30}]')
        if not all(isinstance(f, Mapping) for f in plan):
            raise ValueError('each fault of a plan is an object: {"status": ..., "stall": ...}')
        fresh = data.get("fresh", False)
        if not isinstance(fresh, bool):
            raise ValueError("fresh must be true or false")
        try:
            return cls(
                status=None if data.get("status") is None else int(data["status"]),
                stall=float(data.get("stall") or 0.0),
                count=None if data.get("count") is None else int(data["count"]),
                share=None if data.get("share") is None else float(data["share"]),
                seed=None if data.get("seed") is None else int(data["seed"]),
                plan=tuple(Fault.from_json(f) for f in plan),
                fresh=fresh,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault: {exc}") from None

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.applied >= self.count

    def draw(self, first_attempt: bool = True) -> Fault | None:
        """The fault for the next delivery, or None when it should be answered normally."""
        if self.exhausted or (self.fresh and not first_attempt):
            return None
        if self.share is not None and self._random.random() >= self.share:
            return None
        fault = self.plan[self.applied] if self.plan else Fault(self.status, self.stall)
        self.applied += 1
        return fault

    def describe(self) -> dict[str, Any]:
        names = ("status", "stall", "count", "share", "seed", "fresh", "applied")
        described = {n: getattr(self, n) for n in names}
        if self.plan:
            described["plan"] = [f.describe() for f in self.plan]
        return {**described, "exhausted": self.exhausted}


class Faults:
    """The active fault rule of a sink (one at a time; a new one replaces the old)."""

    def __init__(self) -> None:
        self.rule: FaultRule | None = None

    def set(self, rule: FaultRule) -> None:
        self.rule = rule

    def clear(self) -> None:
        self.rule = None

    def draw(self, first_attempt: bool = True) -> Fault | None:
        return self.rule.draw(first_attempt) if self.rule is not None else None

    def describe(self) -> dict[str, Any] | None:
        return self.rule.describe() if self.rule is not None else None
