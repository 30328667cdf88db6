"""Baselines: stable fingerprints, the file's round trip and errors, and a run judged against one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tixallo_qa.baseline import (
    Baseline,
    BaselineError,
    Failure,
    failures_in_summary,
    fingerprint,
)

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 1)
MERGED = (
    "merged tickets are excluded from the list: ticket 9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3 is listed\n"
    "  expected: absent\n  actual: listed at position 3"
)


def test_a_fingerprint_ignores_what_changes_between_runs_but_not_the_defect() -> None:
    other_run = MERGED.replace(
        "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3", "0c5d7e9a-1111-4e7f-9a1c-000000000001"
    )
    assert fingerprint("list-merged-excluded", MERGED) == fingerprint(
        "list-merged-excluded", other_run
    )
    assert fingerprint("x", "took 301 ms at 2026-05-04T10:55:02Z") == fingerprint(
        "x", "took 877 ms at 2026-06-01T00:00:00.5Z"
    )
    assert fingerprint("list-merged-excluded", MERGED) != fingerprint(
        "list-merged-excluded", "the list answered 500"
    )
    assert fingerprint("a", MERGED) != fingerprint("b", MERGED)


def test_the_file_round_trips_and_bad_files_name_the_fix(tmp_path: Path) -> None:
    baseline = Baseline.from_failures(
        [Failure("list-merged-excluded", MERGED), Failure("load/GET /tickets p95", "breached")],
        expires=date(2027, 1, 1),
    )
    path = tmp_path / "baseline.yaml"
    baseline.write(path)
    assert path.read_text().startswith("# tixallo-qa baseline")
    assert Baseline.load(path).entries == baseline.entries
    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("entries: [{check: a}]", "entry 1: set fingerprint, reason, expires"),
        ("entries: [{check: a, fingerprint: f, reason: r, expires: soon}]", "YYYY-MM-DD"),
        ("[1, 2]", "a list under 'entries'"),
        ("entries: [", "not YAML"),
    ]:
        bad.write_text(text)
        with pytest.raises(BaselineError, match=message):
            Baseline.load(bad)
    with pytest.raises(BaselineError, match="baseline write"):
        Baseline.load(tmp_path / "missing.yaml")


def test_a_run_judged_against_the_baseline() -> None:
    known = Failure("list-merged-excluded", MERGED)
    old = Failure("error-bodies", "404 body differs")
    gone = Failure("priority-default", "default differs")
    baseline = Baseline.from_failures([known, gone], expires=date(2027, 1, 1))
    baseline.entries += Baseline.from_failures([old], expires=date(2026, 11, 1)).entries
    new = Failure("list-merged-excluded", "the list answered 500")  # the same check, another defect
    judged = baseline.judge([known, old, new], passed={"priority-default"}, today=TODAY)
    assert judged.new == [new]
    assert [f for f, _ in judged.known] == [known]
    assert [f for f, _ in judged.expired] == [old]
    assert [e.check for e in judged.fixed] == ["priority-default"]
    assert judged.failing == [new, old]


def test_failures_of_a_report_summary() -> None:
    summary = {
        "failures": [{"name": "error-bodies", "family": "errors", "message": "404 body differs"}],
        "load": {
            "slos": [{"name": "GET /tickets p95", "passed": False}, {"name": "x", "passed": True}]
        },
    }
    assert [f.check for f in failures_in_summary(summary)] == [
        "error-bodies",
        "load/GET /tickets p95",
    ]
