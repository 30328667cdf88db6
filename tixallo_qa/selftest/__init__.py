"""The selftest: plant each catalogued fault, run our suite and plain schemathesis, measure the kill rate."""

from __future__ import annotations

from tixallo_qa.selftest._killrate import KillRate, by_family, kill_rate
from tixallo_qa.selftest._model import CAUGHT, CLEAN, ERROR, FALSE_ALARM, MISSED, FaultRow, Verdict
from tixallo_qa.selftest._plan import QUICK, Budgets, PlanError, select_faults
from tixallo_qa.selftest._report import write_report
from tixallo_qa.selftest._result import SelftestResult
from tixallo_qa.selftest._run import SelftestOptions, run_selftest

__all__ = [
    "CAUGHT",
    "CLEAN",
    "ERROR",
    "FALSE_ALARM",
    "MISSED",
    "QUICK",
    "Budgets",
    "FaultRow",
    "KillRate",
    "PlanError",
    "SelftestOptions",
    "SelftestResult",
    "Verdict",
    "by_family",
    "kill_rate",
    "run_selftest",
    "select_faults",
    "write_report",
]
