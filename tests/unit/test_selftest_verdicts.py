"""Our side's verdicts: a failed check is a catch (a false alarm on the faithful deployment)."""

from __future__ import annotations

import pytest

from tixallo_qa.contracts._results import FAILED, PASSED, SKIPPED, CheckResult, SuiteResult
from tixallo_qa.core.redact import Redactor
from tixallo_qa.selftest import CAUGHT, CLEAN, ERROR, FALSE_ALARM, MISSED
from tixallo_qa.selftest._ours import suite_verdict

pytestmark = pytest.mark.unit

KEY = "txk_SECRET-0123456789abcdef"


def _suite(*checks: tuple[str, str, str], errors: tuple[str, ...] = ()) -> SuiteResult:
    return SuiteResult(
        checks=[
            CheckResult(n, fam, o, f"{n} failed: curl -H 'Authorization: Bearer {KEY}'")
            for n, fam, o in checks
        ],
        requests_sent=42,
        duration=3.21,
        errors=list(errors),
    )


def test_failed_checks_are_named_with_their_families_and_redacted() -> None:
    suite = _suite(
        ("a", "auth", PASSED),
        ("b", "webhooks", FAILED),
        ("c", "schema", FAILED),
        ("d", "x", SKIPPED),
    )
    verdict = suite_verdict(suite, faithful=False, redactor=Redactor([KEY]))
    assert verdict.status == CAUGHT
    assert verdict.checks == ("b", "c") and verdict.families == ("webhooks", "schema")
    assert verdict.detail.startswith("b: b failed") and KEY not in verdict.detail
    assert verdict.requests == 42 and verdict.duration == 3.2
    assert suite_verdict(suite, faithful=True, redactor=Redactor([KEY])).status == FALSE_ALARM


def test_all_passed_is_missed_or_clean() -> None:
    suite = _suite(("a", "auth", PASSED), ("d", "x", SKIPPED))
    assert suite_verdict(suite, faithful=False, redactor=Redactor()).status == MISSED
    clean = suite_verdict(suite, faithful=True, redactor=Redactor())
    assert clean.status == CLEAN and clean.detail == "1 checks passed, 1 skipped"


def test_a_run_that_broke_is_an_error_unless_a_check_failed() -> None:
    broke = _suite(("a", "auth", PASSED), errors=(f"pytest exited with code 3 using {KEY}",))
    verdict = suite_verdict(broke, faithful=False, redactor=Redactor([KEY]))
    assert verdict.status == ERROR and KEY not in verdict.detail
    assert suite_verdict(_suite(), faithful=True, redactor=Redactor()).status == ERROR
    caught = _suite(("b", "auth", FAILED), errors=("late error",))
    assert suite_verdict(caught, faithful=False, redactor=Redactor()).status == CAUGHT
