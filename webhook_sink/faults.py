"""Fault injection, for checking a sender's retries: wrong answers or stalls for some deliveries."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Fault:
    """What a faulty delivery gets: ``status`` (after ``stall`` seconds, if any)."""

    status: int | None = None
    stall: float = 0.0


@dataclass
class FaultRule:
    """Applies ``fault`` to the next ``count`` deliveries, or to a ``share`` of them (or both)."""

    status: int | None = None
    stall: float = 0.0
    count: int | None = None
    share: float | None = None
    seed: int | None = None
    applied: int = 0
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status is None and self.stall <= 0:
            raise ValueError("a fault needs a status (500, 502, 503, 504) or a stall in seconds")
        if self.status is not None and self.status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}")
        if not 0 <= self.stall <= 600:
            raise ValueError("stall must be 0..600 seconds")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.share is not None and not 0 <= self.share <= 1:
            raise ValueError("share must be within 0..1")
        if self.count is None and self.share is None:
            raise ValueError("say which deliveries: count (the next N) and/or share (0..1)")
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        unknown = set(data) - {"status", "stall", "count", "share", "seed"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        try:
            return cls(
                status=None if data.get("status") is None else int(data["status"]),
                stall=float(data.get("stall") or 0.0),
                count=None if data.get("count") is None else int(data["count"]),
                share=None if data.get("share") is None else float(data["share"]),
                seed=None if data.get("seed") is None else int(data["seed"]),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault: {exc}") from None

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.applied >= self.count

    def draw(self) -> Fault | None:
        """The fault for the next delivery, or None when it should be answered normally."""
        if self.exhausted:
            return None
        if self.share is not None and self._random.random() >= self.share:
            return None
        self.applied += 1
        return Fault(self.status, self.stall)

    def describe(self) -> dict[str, Any]:
        names = ("status", "stall", "count", "share", "seed", "applied")
        return {**{n: getattr(self, n) for n in names}, "exhausted": self.exhausted}


class Faults:
    """The active fault rule of a sink (one at a time; a new one replaces the old)."""

    def __init__(self) -> None:
        self.rule: FaultRule | None = None

    def set(self, rule: FaultRule) -> None:
        self.rule = rule

    def clear(self) -> None:
        self.rule = None

    def draw(self) -> Fault | None:
        return self.rule.draw() if self.rule is not None else None

    def describe(self) -> dict[str, Any] | None:
        return self.rule.describe() if self.rule is not None else None
