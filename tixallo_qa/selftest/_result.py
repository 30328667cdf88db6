"""The whole selftest's result: fault rows, the faithful row, budgets, timing and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.core import exitcodes
from tixallo_qa.selftest._killrate import kill_rate, summary
from tixallo_qa.selftest._model import CLEAN, ERROR, OURS, FaultRow

FORMAT_VERSION = 1


@dataclass
class SelftestResult:
    """The whole selftest: fault rows, the faithful deployment's row, budgets, timing, verdict."""

    rows: list[FaultRow] = field(default_factory=list)
    faithful: FaultRow | None = None
    min_kill_rate: float = 0.95
    jobs: int = 2
    wall_time: float = 0.0
    started_at: str = ""
    budgets: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "started_at": self.started_at,
            "wall_time": round(self.wall_time, 1),
            "jobs": self.jobs,
            "min_kill_rate": self.min_kill_rate,
            "budgets": dict(self.budgets),
            "notes": list(self.notes),
            "faithful": self.faithful.to_dict() if self.faithful else None,
            "rows": [r.to_dict() for r in self.rows],
            "kill_rate": summary(self.rows),
            "passed": self.passed,
            "exit_code": self.exit_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SelftestResult:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"selftest format version {data.get('version')!r}, expected {FORMAT_VERSION}"
            )
        faithful = data.get("faithful")
        return cls(
            rows=[FaultRow.from_dict(r) for r in data.get("rows", [])],
            faithful=FaultRow.from_dict(faithful) if faithful else None,
            min_kill_rate=float(data.get("min_kill_rate", 0.95)),
            jobs=int(data.get("jobs", 1)),
            wall_time=float(data.get("wall_time", 0.0)),
            started_at=str(data.get("started_at", "")),
            budgets={str(k): str(v) for k, v in dict(data.get("budgets", {})).items()},
            notes=[str(n) for n in data.get("notes", [])],
        )

    @property
    def faithful_passed(self) -> bool:
        """Our suite passed the faithful deployment (not run at all counts as not passed)."""
        return self.faithful is not None and self.faithful.ours.status == CLEAN

    @property
    def passed(self) -> bool:
        """The exit-0 condition: the faithful deployment passes and the kill rate reaches the bar."""
        rate = kill_rate(self.rows, OURS)
        return self.faithful_passed and rate.rate is not None and rate.rate >= self.min_kill_rate

    @property
    def exit_code(self) -> int:
        """``core.exitcodes``: 0 passed; 1 the suite missed faults or cried wolf; 3 runs broke.

        A shortfall that only runs which broke explain (the kill rate would reach the bar
        without them) is an infrastructure failure, not the suite's defect.
        """
        if self.passed:
            return exitcodes.PASSED
        if self.faithful is None or self.faithful.ours.status == ERROR:
            return exitcodes.INFRASTRUCTURE
        if not self.faithful_passed:
            return exitcodes.DEFECTS
        judged = [r for r in self.rows if r.ours.status != ERROR]
        rate = kill_rate(judged, OURS)
        if (
            len(judged) < len(self.rows)
            and rate.rate is not None
            and rate.rate >= self.min_kill_rate
        ):
            return exitcodes.INFRASTRUCTURE
        return exitcodes.DEFECTS
