"""The pytest plugin that turns test outcomes into named check results (JSON), secrets redacted."""

from __future__ import annotations

import statistics
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tixallo_qa.contracts._catalogue import FINAL, check_of
from tixallo_qa.contracts._exchanges import recorded
from tixallo_qa.contracts._results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    CheckResult,
    SuiteResult,
)
from tixallo_qa.contracts._state import state_of

MESSAGE_LIMIT = 12_000
# Requests of one failed check kept for its report and its replay (the first ones: the cause).
EXCHANGES_KEPT = 60
# The JUnit property that marks a testcase the target's absence broke (see contracts.runner).
INFRASTRUCTURE_PROPERTY = "tixallo-infrastructure"


@dataclass
class _Record:
    name: str
    family: str
    description: str
    nodeid: str
    failures: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    duration: float = 0.0
    ran: bool = False
    # The target went away while this check ran: it could not be judged (an error, not a failure).
    broken: str = ""
    # The exchange log's length when the check began and when it last reported (its requests).
    first: int | None = None
    last: int = 0
    sweep: bool = False


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    value = excinfo.value
    text = str(value).strip()
    if isinstance(value, AssertionError | pytest.fail.Exception) and text:
        return text
    return excinfo.exconly().strip() or type(value).__name__


class ResultsPlugin:
    """Collects one record per check and writes the suite result at the end of the session."""

    def __init__(self, config: pytest.Config, path: str | None) -> None:
        self.config = config
        self.path = path
        self.records: dict[str, _Record] = {}
        self.errors: list[str] = []
        self.started = time.monotonic()
        self._setup_mark: dict[str, int] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._setup_mark.setdefault(item.nodeid, len(state_of(self.config).log))

    def _record(self, item: pytest.Item) -> _Record:
        record = self.records.get(item.nodeid)
        if record is None:
            name, family, description = check_of(item)
            sweep = int(getattr(getattr(item, "function", None), FINAL, 0)) >= 1
            record = _Record(name, family, description, item.nodeid, sweep=sweep)
            self.records[item.nodeid] = record
        return record

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self._record(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[Any]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        redactor = state_of(self.config).redactor
        record = self._record(item)
        record.ran = True
        sent = len(state_of(self.config).log)
        if record.first is None:
            # Set up before its first request: fixture requests count as the check's own.
            record.first = self._setup_mark.pop(item.nodeid, sent)
        record.last = sent
        record.duration += report.duration
        state = state_of(self.config)
        if report.failed and not state.infrastructure and state.breaker is not None:
            # A check that failed while the target went away (a refused request, a webhook that
            # never came) judged nothing: one probe (no key's budget) tells that from a defect.
            state.breaker.confirm()
        infrastructure = state.infrastructure
        if report.failed and infrastructure and not record.broken:
            record.broken = redactor.text(infrastructure)
            # pytest writes a <failure> for a failed call; the runner turns this one into an
            # <error> in the JUnit file (CI must not count a dead target as a defect).
            item.user_properties.append((INFRASTRUCTURE_PROPERTY, record.broken))
            report.longrepr = redactor.text(str(report.longreprtext))
        elif report.failed:
            message = (
                _message(call.excinfo) if call.excinfo is not None else str(report.longreprtext)
            )
            if report.when != "call":
                message = f"error during {report.when}: {message}"
            record.failures.append(redactor.text(message))
            # Whatever pytest prints or writes to JUnit goes through the redactor too.
            report.longrepr = redactor.text(str(report.longreprtext))
        elif report.skipped and record.skip_reason is None:
            longrepr = report.longrepr
            reason = (
                longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
            )
            record.skip_reason = redactor.text(str(reason).removeprefix("Skipped: "))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(
                state_of(self.config).redactor.text(
                    f"collecting {report.nodeid}: {report.longreprtext}"
                )
            )

    def _exchanges(self, record: _Record) -> tuple[dict[str, Any], ...]:
        state = state_of(self.config)
        kept = state.log.between(record.first or 0, record.last)[:EXCHANGES_KEPT]
        return tuple(recorded(e, state.redactor) for e in kept)

    def results(self) -> list[CheckResult]:
        out = []
        for record in self.records.values():
            if not record.ran:
                continue
            if record.broken:
                outcome, message = ERROR, f"not judged: {record.broken}"
            elif record.failures:
                outcome, message = FAILED, "\n\n".join(record.failures)
            elif record.skip_reason is not None:
                outcome, message = SKIPPED, record.skip_reason
            else:
                outcome, message = PASSED, ""
            if len(message) > MESSAGE_LIMIT:
                message = (
                    message[:MESSAGE_LIMIT]
                    + f"\n… [{len(message) - MESSAGE_LIMIT} more characters]"
                )
            out.append(
                CheckResult(
                    record.name,
                    record.family,
                    outcome,
                    message,
                    round(record.duration, 3),
                    record.nodeid,
                    record.description,
                    exchanges=self._exchanges(record) if outcome == FAILED else (),
                    sweep=record.sweep,
                )
            )
        return out

    def suite_result(self, exit_code: int) -> SuiteResult:
        state = state_of(self.config)
        return SuiteResult(
            checks=self.results(),
            profile=state.profile,
            target=state.target,
            duration=round(time.monotonic() - self.started, 3),
            requests_sent=len(state.log),
            requests_by_identity=state.log.by_identity(),
            own_429s=state.log.own_429s(),
            webhook_lags=[round(x, 4) for x in state.lags],
            exit_code=exit_code,
            errors=list(self.errors),
            json_path=self.path,
            infrastructure=state.infrastructure,
            stop_code=state.stop_code,
            seed=state.seed,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.path:
            self.suite_result(int(exitstatus)).write(self.path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = state_of(self.config)
        if not len(state.log):
            return
        line = f"tixallo contracts: {len(state.log)} requests sent ({', '.join(f'{k}: {v}' for k, v in sorted(state.log.by_identity().items()))})"
        if state.log.own_429s():
            line += f", {state.log.own_429s()} own 429s waited out"
        if state.lags:
            line += f"; webhook lag median {statistics.median(state.lags):.3f} s, max {max(state.lags):.3f} s over {len(state.lags)} events"
        terminalreporter.write_line(line)
