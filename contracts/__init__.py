"""The contract suite: spec-generated tests, named invariants and webhook checks for Tixallo v1."""

from __future__ import annotations

from tixallo_qa.contracts._results import CheckResult, SuiteResult
from tixallo_qa.contracts.runner import run_suite

__all__ = ["CheckResult", "SuiteResult", "run_suite"]
