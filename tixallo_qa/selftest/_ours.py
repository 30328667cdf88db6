"""Our side: the contract suite (and, for load faults, a short load run) against one deployment."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tixallo_qa.core.redact import Redactor
from tixallo_qa.core.settings import Settings
from tixallo_qa.selftest._model import CAUGHT, CLEAN, ERROR, FALSE_ALARM, MISSED, Verdict
from tixallo_qa.selftest._plan import LOAD_FAMILY, Budgets

if TYPE_CHECKING:
    from tixallo_qa.contracts._results import SuiteResult

DETAIL_CHARS = 300


def _first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line[:DETAIL_CHARS]


def _status(found: bool, broke: bool, *, faithful: bool) -> str:
    if found:
        return FALSE_ALARM if faithful else CAUGHT
    if broke:
        return ERROR
    return CLEAN if faithful else MISSED


def suite_verdict(result: SuiteResult, *, faithful: bool, redactor: Redactor) -> Verdict:
    """Caught when any check failed (named); a run that broke with no failure is an error."""
    failed = result.failed()
    broke = bool(result.errors or result.infrastructure) or result.counts["passed"] == 0
    if failed:
        detail = f"{failed[0].name}: {_first_line(failed[0].message)}"
    elif broke:
        detail = (
            _first_line("\n".join([*result.errors, result.infrastructure]).strip())
            or "no check passed"
        )
    else:
        counts = result.counts
        detail = f"{counts['passed']} checks passed, {counts['skipped']} skipped"
    return Verdict(
        _status(bool(failed), broke, faithful=faithful),
        checks=tuple(c.name for c in failed),
        families=tuple(dict.fromkeys(c.family for c in failed)),
        detail=redactor.text(detail),
        duration=round(result.duration, 1),
        requests=result.requests_sent,
    )


def run_contracts(
    faults: Sequence[str], budgets: Budgets, workdir: Path, *, faithful: bool
) -> tuple[Verdict, tuple[str, ...]]:
    """Start a deployment with exactly ``faults`` and a sink, run the suite; (verdict, secrets used)."""
    from tixallo_qa.contracts.runner import run_suite
    from tixallo_qa.target import Target

    base = Settings(profile=budgets.profile, webhook_timeout=budgets.webhook_timeout)
    started = time.monotonic()
    with Target.start(
        base,
        workdir=workdir / "deployment",
        faults=faults,
        pool_size=budgets.pool_size,
        webhook_retries=budgets.webhook_retries,
        rate_window=budgets.rate_window,
    ) as running:
        settings = running.settings
        result = run_suite(
            settings,
            profile=budgets.profile,
            json_path=workdir / "contracts.json",
            timeout=budgets.suite_timeout,
            # A caught fault needs no more checks; a missed one still meets every check.
            extra_args=["--exitfirst"] if budgets.first_failure else [],
        )
    verdict = suite_verdict(result, faithful=faithful, redactor=Redactor(settings.secrets))
    return _with_duration(verdict, time.monotonic() - started), settings.secrets


def run_load_check(
    faults: Sequence[str], budgets: Budgets, workdir: Path, *, faithful: bool
) -> Verdict:
    """A short bounded load run against a deployment with ``faults``; caught when an SLO breaks."""
    # Imported here: the load package is heavy and only load-family faults need it.
    from tixallo_qa.load.runner import EXIT_BREACH, EXIT_PASS, run_load
    from tixallo_qa.load.safety import LoadRefusedError

    started = time.monotonic()
    settings = Settings(webhook_timeout=budgets.webhook_timeout, report_dir=str(workdir))
    try:
        result = run_load(
            settings,
            faults=faults,
            report_dir=workdir / "load",
            quiet=True,
            duration=budgets.load_seconds,
            stop_on_error=budgets.first_failure,
        )
    except (LoadRefusedError, OSError, RuntimeError) as exc:
        return Verdict(ERROR, detail=f"load run refused or broke: {exc}"[:DETAIL_CHARS])
    elapsed = round(time.monotonic() - started, 1)
    breached = tuple(f"load: {name}" for name in result.breached)
    if result.exit_code == EXIT_BREACH and breached:
        row = next(r for r in result.rows if r.failed)
        detail = f"{row.slo}: measured {row.measured}, threshold {row.threshold}"
        status = _status(True, False, faithful=faithful)
        return Verdict(status, breached, (LOAD_FAMILY,), detail, elapsed)
    if result.exit_code != EXIT_PASS:
        error = str(
            result.summary.get("error")
            or result.summary.get("verdict_reason")
            or f"load run exit code {result.exit_code}"
        )
        return Verdict(ERROR, detail=error[:DETAIL_CHARS], duration=elapsed)
    requests = int((result.summary.get("requests") or {}).get("total", 0))
    return Verdict(_status(False, False, faithful=faithful), duration=elapsed, requests=requests)


def _with_duration(verdict: Verdict, seconds: float) -> Verdict:
    return Verdict(
        verdict.status,
        verdict.checks,
        verdict.families,
        verdict.detail,
        round(seconds, 1),
        verdict.requests,
    )


def merge(contracts: Verdict, load: Verdict | None) -> Verdict:
    """One verdict from the suite's and the load run's: a catch by either is a catch."""
    if load is None:
        return contracts
    parts = (contracts, load)
    statuses = {v.status for v in parts}
    # A false alarm outranks everything, a catch outranks a broken run, a broken run a clean one.
    status = next(s for s in (FALSE_ALARM, CAUGHT, ERROR, MISSED, CLEAN) if s in statuses)
    return Verdict(
        status,
        checks=contracts.checks + load.checks,
        families=tuple(dict.fromkeys(contracts.families + load.families)),
        detail=" | ".join(v.detail for v in parts if v.detail),
        duration=round(contracts.duration + load.duration, 1),
        requests=contracts.requests + load.requests,
    )
