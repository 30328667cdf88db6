"""What doctor found: one finding per line, each problem carrying its fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
NOTE = "note"  # a missing optional setting: fine, but some checks will be skipped
WARN = "warn"
PROBLEM = "problem"
SKIPPED = "skipped"  # not checked because an earlier problem blocks it
STATUSES = (OK, NOTE, WARN, PROBLEM, SKIPPED)


@dataclass(frozen=True)
class Finding:
    """One line of doctor's answer; a problem's message ends with how to fix it."""

    area: str
    status: str
    message: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class DoctorReport:
    """Everything doctor found about one target."""

    target: str
    embedded: bool
    findings: list[Finding] = field(default_factory=list)

    def add(self, area: str, status: str, message: str) -> Finding:
        finding = Finding(area, status, message)
        self.findings.append(finding)
        return finding

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == PROBLEM]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "embedded": self.embedded,
            "ok": self.ok,
            "problems": len(self.problems),
            "warnings": sum(f.status == WARN for f in self.findings),
            "findings": [f.to_json() for f in self.findings],
        }
