"""What doctor found: one finding per line, each problem carrying its fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tixallo_qa.core import exitcodes

OK = "ok"
NOTE = "note"  # a missing optional setting: fine, but some checks will be skipped
WARN = "warn"
PROBLEM = "problem"
SKIPPED = "skipped"  # not checked because an earlier problem blocks it
STATUSES = (OK, NOTE, WARN, PROBLEM, SKIPPED)
# A problem in these areas means the target cannot be reached (exit 3), not a setting to fix.
UNREACHABLE_AREAS = frozenset({"target", "tls"})


@dataclass(frozen=True)
class Finding:
    """One line of doctor's answer; a problem's message ends with how to fix it."""

    area: str
    status: str
    message: str
    # What a problem means for the exit code: 2 (a setting to fix) unless said otherwise,
    # 3 when the target or the sink cannot be reached.
    code: int = exitcodes.USAGE

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DoctorReport:
    """Everything doctor found about one target."""

    target: str
    embedded: bool
    findings: list[Finding] = field(default_factory=list)

    def add(self, area: str, status: str, message: str, *, code: int | None = None) -> Finding:
        if code is None:
            code = exitcodes.INFRASTRUCTURE if area in UNREACHABLE_AREAS else exitcodes.USAGE
        finding = Finding(area, status, message, code)
        self.findings.append(finding)
        return finding

    @property
    def exit_code(self) -> int:
        """0 when no problem; else 3 if something cannot be reached, else 2 (``core.exitcodes``)."""
        return exitcodes.combine(exitcodes.PASSED, *(f.code for f in self.problems))

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
            "exit_code": self.exit_code,
            "problems": len(self.problems),
            "warnings": sum(f.status == WARN for f in self.findings),
            "findings": [f.to_json() for f in self.findings],
        }
