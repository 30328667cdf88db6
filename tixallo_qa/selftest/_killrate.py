"""Kill rate: the share of planted faults a tool caught, overall and per family."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tixallo_qa.selftest._model import OURS, PLAIN, FaultRow, Verdict


@dataclass(frozen=True)
class KillRate:
    """``caught`` of ``total`` faults; ``rate`` is None when no fault was run."""

    caught: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.caught / self.total if self.total else None

    def text(self) -> str:
        """``"73/75 (97.3%)"``, or ``"-"`` when nothing was run."""
        if self.rate is None:
            return "-"
        return f"{self.caught}/{self.total} ({self.rate * 100:.1f}%)"

    def to_dict(self) -> dict[str, Any]:
        return {"caught": self.caught, "total": self.total, "rate": self.rate}


def _verdict(row: FaultRow, tool: str) -> Verdict | None:
    if tool == OURS:
        return row.ours
    if tool == PLAIN:
        return row.plain
    raise ValueError(f"unknown tool {tool!r}: use {OURS!r} or {PLAIN!r}")


def kill_rate(rows: Iterable[FaultRow], tool: str) -> KillRate:
    """Caught over run; a run that broke counts as missed (it named no check that caught the fault)."""
    verdicts = [v for v in (_verdict(r, tool) for r in rows) if v is not None]
    return KillRate(sum(v.caught for v in verdicts), len(verdicts))


def families(rows: Sequence[FaultRow]) -> list[str]:
    """The families present, in first-seen (catalogue) order."""
    return list(dict.fromkeys(r.family for r in rows))


def by_family(rows: Sequence[FaultRow], tool: str) -> dict[str, KillRate]:
    return {f: kill_rate([r for r in rows if r.family == f], tool) for f in families(rows)}


def summary(rows: Sequence[FaultRow]) -> dict[str, Any]:
    """Both tools' kill rates, overall and per family, JSON-ready."""
    return {
        tool: {
            "overall": kill_rate(rows, tool).to_dict(),
            "families": {f: k.to_dict() for f, k in by_family(rows, tool).items()},
        }
        for tool in (OURS, PLAIN)
    }


def only_ours(rows: Iterable[FaultRow]) -> list[FaultRow]:
    """Faults our suite caught and the plain schemathesis run missed (the visible gain)."""
    return [r for r in rows if r.ours.caught and r.plain is not None and not r.plain.caught]
