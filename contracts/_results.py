"""Per-check outcomes and the suite's result, as written by the pytest plugin and read by the runner."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core import exitcodes

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
# Failed, then passed when run again: both outcomes are kept (the message holds the failure).
FLAKY = "flaky"
# Failed as the baseline says it does (tixallo_qa.gate): shown, failing nothing.
KNOWN = "known"
# The check could not be judged: the target went away while it ran (an infrastructure problem,
# a JUnit <error>, never a failure).
ERROR = "error"
SETTING_NAME = re.compile(r"\bTIXALLO_[A-Z_]+\b")
OUTCOMES = (PASSED, FAILED, FLAKY, KNOWN, SKIPPED, ERROR)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CheckResult:
    """One named check: what it is, how it ended, and why."""

    name: str
    family: str
    outcome: str
    message: str = ""
    duration: float = 0.0
    nodeid: str = ""
    description: str = ""
    # A failed check's requests and answers, redacted (the report keeps them; replay re-sends them).
    exchanges: tuple[dict[str, Any], ...] = ()
    attempts: int = 1  # runs of this check, re-runs included
    # What the gate made of it (flaky, deterministic, known from the baseline), shown before the message.
    note: str = ""
    # It judges the whole run's traffic (a sweep, an oracle's report): it re-runs only with all.
    sweep: bool = False

    @property
    def explained(self) -> str:
        """The message with the gate's note first (what a reader sees)."""
        return f"{self.note}\n\n{self.message}" if self.note else self.message

    @property
    def base_name(self) -> str:
        """The check's name without its parameters (what --select takes)."""
        return self.name.split("[")[0]

    @property
    def enabled_by(self) -> tuple[str, ...]:
        """The ``TIXALLO_*`` settings a skip reason names: what would make the check run."""
        return tuple(dict.fromkeys(SETTING_NAME.findall(self.message)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        outcome = str(data.get("outcome", ""))
        if outcome not in OUTCOMES:
            raise ValueError(f"check {data.get('name')!r}: unknown outcome {outcome!r}")
        return cls(
            name=str(data["name"]),
            family=str(data.get("family", "")),
            outcome=outcome,
            message=str(data.get("message", "")),
            duration=float(data.get("duration", 0.0)),
            nodeid=str(data.get("nodeid", "")),
            description=str(data.get("description", "")),
            exchanges=tuple(data.get("exchanges", ())),
            attempts=int(data.get("attempts", 1)),
            note=str(data.get("note", "")),
            sweep=bool(data.get("sweep", False)),
        )


@dataclass
class SuiteResult:
    """The whole run: every check, counts, how many requests it took, and the webhook lags."""

    checks: list[CheckResult] = field(default_factory=list)
    profile: str = ""
    target: str = ""
    duration: float = 0.0
    requests_sent: int = 0
    requests_by_identity: dict[str, int] = field(default_factory=dict)
    own_429s: int = 0
    webhook_lags: list[float] = field(default_factory=list)
    exit_code: int = 0
    errors: list[str] = field(default_factory=list)
    junit_path: str | None = None
    json_path: str | None = None
    # The one line when the target or the sink could not be reached (what, where, the fix).
    infrastructure: str = ""
    # What that line means for the exit code: 3 (unreachable), or 2 (a setting such as a wrong
    # TIXALLO_SINK_TOKEN).
    stop_code: int = exitcodes.INFRASTRUCTURE
    seed: int | None = None  # of the generated checks (the same seed sends the same examples)

    @property
    def exit_status(self) -> int:
        """The command's exit code (``core.exitcodes``): a defect beats an infrastructure failure."""
        if self.counts[FAILED]:
            return exitcodes.DEFECTS
        if self.infrastructure:
            return self.stop_code
        if self.errors or self.counts[ERROR]:
            return exitcodes.INFRASTRUCTURE
        if self.exit_code == 5 or (self.exit_code == 4 and not self.checks):
            return exitcodes.USAGE  # pytest: nothing collected, or a usage error
        if self.counts[PASSED] == 0:
            return exitcodes.INCONCLUSIVE  # every check skipped: nothing was judged
        return exitcodes.PASSED

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(c.outcome for c in self.checks)
        return {outcome: counter.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def ok(self) -> bool:
        """True only when every check that ran passed and the run itself did not break."""
        return self.exit_status == exitcodes.PASSED

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome == FAILED]

    def flaky(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome == FLAKY]

    def by_name(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; checks: {', '.join(c.name for c in self.checks)}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = FORMAT_VERSION
        data["counts"] = self.counts
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"result format version {data.get('version')!r}, expected {FORMAT_VERSION}"
            )
        return cls(
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            profile=str(data.get("profile", "")),
            target=str(data.get("target", "")),
            duration=float(data.get("duration", 0.0)),
            requests_sent=int(data.get("requests_sent", 0)),
            requests_by_identity={
                str(k): int(v) for k, v in dict(data.get("requests_by_identity", {})).items()
            },
            own_429s=int(data.get("own_429s", 0)),
            webhook_lags=[float(x) for x in data.get("webhook_lags", [])],
            exit_code=int(data.get("exit_code", 0)),
            errors=[str(e) for e in data.get("errors", [])],
            junit_path=data.get("junit_path"),
            json_path=data.get("json_path"),
            seed=data.get("seed"),
            infrastructure=str(data.get("infrastructure", "")),
            stop_code=int(data.get("stop_code", exitcodes.INFRASTRUCTURE)),
        )

    def write(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> SuiteResult:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
