"""A tool's verdict on one deployment, and one planted fault's row of the table."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# A tool's verdict on one faulty deployment.
CAUGHT, MISSED, ERROR = "caught", "missed", "error"
# Its verdict on the faithful deployment.
CLEAN, FALSE_ALARM = "clean", "false alarm"
VERDICTS = (CAUGHT, MISSED, ERROR, CLEAN, FALSE_ALARM)
OURS, PLAIN = "ours", "plain"


@dataclass(frozen=True)
class Verdict:
    """How one tool did against one deployment: the verdict, the checks that failed, and why."""

    status: str
    checks: tuple[str, ...] = ()
    # The families of those checks ("auth", "webhooks", "load", "schemathesis"), distinct, in order.
    families: tuple[str, ...] = ()
    detail: str = ""
    duration: float = 0.0
    requests: int = 0

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"unknown verdict {self.status!r}: use one of {', '.join(VERDICTS)}")

    @property
    def caught(self) -> bool:
        return self.status == CAUGHT

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = list(self.checks)
        data["families"] = list(self.families)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            status=str(data["status"]),
            checks=tuple(str(c) for c in data.get("checks", ())),
            families=tuple(str(f) for f in data.get("families", ())),
            detail=str(data.get("detail", "")),
            duration=float(data.get("duration", 0.0)),
            requests=int(data.get("requests", 0)),
        )


@dataclass(frozen=True)
class FaultRow:
    """One planted fault and what each tool made of it (``plain`` is None when not run)."""

    fault: str
    family: str
    label: str
    ours: Verdict
    plain: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "family": self.family,
            "label": self.label,
            OURS: self.ours.to_dict(),
            PLAIN: self.plain.to_dict() if self.plain else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRow:
        plain = data.get(PLAIN)
        return cls(
            fault=str(data["fault"]),
            family=str(data["family"]),
            label=str(data.get("label", "")),
            ours=Verdict.from_dict(data[OURS]),
            plain=Verdict.from_dict(plain) if plain else None,
        )
