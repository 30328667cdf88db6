"""The contract suite: spec-generated tests, named invariants and webhook checks for Tixallo v1."""

from __future__ import annotations

from contracts._results import CheckResult, SuiteResult
from contracts.runner import run_suite

__all__ = ["CheckResult", "SuiteResult", "run_suite"]
