"""What one run produced, in the shape the report needs (independent of the tools that produced it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tixallo_qa.contracts._results import CheckResult
from tixallo_qa.core.redact import Redactor
from tixallo_qa.load.slo import SloRow

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


@dataclass
class LoadOutcome:
    """The load phase: its SLO table and files, or why it did not run."""

    ran: bool
    skipped_reason: str = ""
    exit_code: int | None = None
    duration: float = 0.0
    slos: list[SloRow] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    charts: list[Path] = field(default_factory=list)  # SVG files to embed
    files: list[Path] = field(default_factory=list)  # locust HTML/CSV, summary JSON: linked
    error: str = ""

    @property
    def passed(self) -> bool:
        """A run load phase passes when it exited 0 and no SLO was breached; a skipped one does not fail."""
        if not self.ran:
            return not self.error
        return (
            self.exit_code == 0 and not self.error and all(s.passed is not False for s in self.slos)
        )


@dataclass(frozen=True)
class Phase:
    """A step of the run and how it ended."""

    name: str
    status: str  # passed, failed, skipped, error
    duration: float = 0.0
    note: str = ""


@dataclass
class RunRecord:
    """Everything the report shows about one run."""

    target: str
    embedded: bool
    profile: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    requests_sent: int = 0
    own_429s: int = 0
    webhook_lags: list[float] = field(default_factory=list)
    webhook_verdicts: dict[str, int] = field(default_factory=dict)
    load: LoadOutcome | None = None
    phases: list[Phase] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    # (TIXALLO_* name, what it was set to: a value, a key fingerprint, or "not set")
    settings: list[tuple[str, str]] = field(default_factory=list)
    # How far the deployment's and the webhooks' clocks are from ours (core.clocks), one sentence.
    clock: str = ""
    # What the command exits with (core.exitcodes): 0, 1 defects, 3 unreachable, 4 inconclusive.
    exit_code: int = 0
    # What the baseline made of the run (tixallo_qa.gate): new, known, expired, fixed.
    baseline: list[str] = field(default_factory=list)
    seed: int | None = None  # of the generated checks: a replay regenerates the same examples

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome == FAILED]

    @property
    def skips(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome == SKIPPED]

    @property
    def passed(self) -> bool:
        """All passed: no failed check or phase, no error, load (if it ran) within its SLOs."""
        if self.interrupted or self.errors or self.failures:
            return False
        if any(p.status in (FAILED, ERROR) for p in self.phases):
            return False
        if self.load is not None and not self.load.passed:
            return False
        return self.count(PASSED) > 0

    @property
    def verdict(self) -> str:
        return PASSED if self.passed else FAILED

    @property
    def badge(self) -> str:
        """The verdict in one word, as the exit code means it."""
        if self.interrupted:
            return "INTERRUPTED"
        if self.passed:
            return "PASSED"
        return {3: "NOT JUDGED", 4: "INCONCLUSIVE", 2: "NOT RUN"}.get(self.exit_code, "FAILED")

    def headline(self) -> str:
        """One sentence: the verdict and what it rests on."""
        if self.interrupted:
            return "Interrupted: the run did not finish"
        parts: list[str] = []
        failed = len(self.failures)
        checks = len(self.checks)
        broken = self.count(ERROR)
        if checks:
            parts.append(
                f"{failed} of {checks} checks failed"
                if failed
                else f"all {self.count(PASSED)} checks that ran passed"
            )
        if broken:
            parts.append(f"{broken} not judged (the target went away)")
        marked = [f"{self.count(o)} {o}" for o in ("flaky", "known") if self.count(o)]
        if marked:
            parts.append(" and ".join(marked))
        if self.load is not None and self.load.ran:
            breached = sum(s.passed is False for s in self.load.slos)
            if breached:
                parts.append(f"{breached} load SLO{'s' if breached > 1 else ''} breached")
            elif self.load.passed:
                parts.append("load SLOs met")
            else:
                parts.append("the load run failed")
        if self.errors:
            parts.append(
                f"{len(self.errors)} error{'s' if len(self.errors) > 1 else ''} stopped part of the run"
            )
        text = ", ".join(parts) or "nothing ran"
        return text[0].upper() + text[1:]


def record_to_json(record: RunRecord) -> dict[str, Any]:
    """The run as plain JSON (what ``--json`` prints and ``summary.json`` holds)."""
    load = record.load
    return {
        "verdict": record.verdict,
        "passed": record.passed,
        "headline": record.headline(),
        "target": record.target,
        "embedded": record.embedded,
        "profile": record.profile,
        "started_at": record.started_at.isoformat(),
        "duration": round(record.duration, 3),
        "exit_code": record.exit_code,
        "clock": record.clock,
        "counts": {o: record.count(o) for o in (PASSED, FAILED, SKIPPED, ERROR)},
        "failures": [
            {"name": c.name, "family": c.family, "message": c.message, "note": c.note}
            for c in record.failures
        ],
        "flaky": [
            {"name": c.name, "family": c.family, "message": c.message, "note": c.note}
            for c in record.checks
            if c.outcome == "flaky"
        ],
        "known": [
            {"name": c.name, "family": c.family, "message": c.message, "note": c.note}
            for c in record.checks
            if c.outcome == "known"
        ],
        "skipped": [
            {
                "name": c.name,
                "family": c.family,
                "reason": c.message,
                "enabled_by": list(c.enabled_by),
            }
            for c in record.skips
        ],
        "requests_sent": record.requests_sent,
        "webhooks": {
            "events_with_lag": len(record.webhook_lags),
            "verdicts": record.webhook_verdicts,
        },
        "load": None
        if load is None
        else {
            "ran": load.ran,
            "passed": load.passed,
            "skipped_reason": load.skipped_reason,
            "exit_code": load.exit_code,
            "duration": round(load.duration, 3),
            "error": load.error,
            "slos": [
                {
                    "name": s.slo,
                    "threshold": s.threshold,
                    "measured": s.shown,
                    "passed": s.passed,
                }
                for s in load.slos
            ],
        },
        "phases": [
            {"name": p.name, "status": p.status, "duration": round(p.duration, 3), "note": p.note}
            for p in record.phases
        ],
        "errors": record.errors,
        "baseline": record.baseline,
        "seed": record.seed,
        "interrupted": record.interrupted,
        "settings": dict(record.settings),
    }


def redact_record(record: RunRecord, redactor: Redactor) -> RunRecord:
    """A copy of ``record`` with every secret the redactor knows replaced in its texts."""
    r = redactor.text
    checks = [
        dataclasses.replace(c, message=r(c.message), description=r(c.description), note=r(c.note))
        for c in record.checks
    ]
    load = record.load
    if load is not None:
        load = dataclasses.replace(
            load,
            error=r(load.error),
            skipped_reason=r(load.skipped_reason),
            slos=[
                dataclasses.replace(s, slo=r(s.slo), measured=r(s.measured), detail=r(s.detail))
                for s in load.slos
            ],
        )
    return dataclasses.replace(
        record,
        target=r(record.target),
        checks=checks,
        load=load,
        phases=[dataclasses.replace(p, note=r(p.note)) for p in record.phases],
        errors=[r(e) for e in record.errors],
        notes=[r(n) for n in record.notes],
        settings=[(name, r(value)) for name, value in record.settings],
        clock=r(record.clock),
    )
