"""The report folder: JUnit merge, JSON lines of the sink's events, the secret scrub, folder names."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tixallo_qa.load.runner import LoadResult
from tixallo_qa.load.slo import FAIL, NA, PASS, SloRow
from tixallo_qa.report import (
    SAMPLE_SECRETS,
    RunRecord,
    load_from_result,
    merged_junit,
    new_run_folder,
    sample_record,
    scrub_folder,
    write_report,
)

pytestmark = pytest.mark.unit

CONTRACTS_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="1" errors="0" skipped="0">
<testcase classname="contracts.test_auth" name="test_revoked"/>
<testcase classname="contracts.test_errors" name="test_bodies"><failure message="differs">details</failure></testcase>
</testsuite></testsuites>
"""


def test_write_report_produces_every_file_and_no_secret(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    record = sample_record(folder)
    events = [
        {
            "seq": 1,
            "verdict": "valid",
            "payload": {"subject": "line\u2028sep\x85next\x1cfs"},
            "received_monotonic": 1.0,
            "headers": {"X-Tixallo-Signature": "sha256=ab"},
            "body": "{}",
        },
        {
            "seq": 2,
            "verdict": "bad_signature",
            "headers": {"authorization": f"Bearer {SAMPLE_SECRETS[0]}"},
            "body": SAMPLE_SECRETS[1],
        },
    ]
    files = write_report(record, folder, secrets=SAMPLE_SECRETS, events=events)
    names = {p.name for p in folder.iterdir()}
    assert names >= {"index.html", "junit.xml", "webhooks.jsonl", "summary.json"}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in SAMPLE_SECRETS:
                assert secret.encode() not in data, path
    lines = (
        [json.loads(line) for line in files.webhooks.read_text().splitlines()]
        if files.webhooks
        else []
    )
    assert [e["seq"] for e in lines] == [1, 2]
    # Generated subjects hold characters that str.splitlines() takes for line breaks.
    assert lines[0]["payload"]["subject"] == "line\u2028sep\x85next\x1cfs"
    assert lines[0]["headers"]["X-Tixallo-Signature"] == "<redacted>"
    assert "received_monotonic" not in lines[0]
    summary = json.loads(files.summary.read_text())
    assert summary["verdict"] == "failed"
    assert summary["counts"] == {"passed": 3, "failed": 1, "skipped": 2, "error": 0}
    assert files.scrubbed == []


def test_junit_merges_the_suite_and_adds_load_slos(tmp_path: Path) -> None:
    junit = tmp_path / "contracts.xml"
    junit.write_text(CONTRACTS_JUNIT)
    root = ET.fromstring(merged_junit(sample_record(tmp_path), junit).split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"pytest", "load"}
    slo_cases = [c for c in suites["load"].iter("testcase") if c.get("classname") == "load.slo"]
    assert [c.get("name") for c in slo_cases] == [
        "GET /tickets p95",
        "webhook lag p95",
        "error ratio",
    ]
    assert slo_cases[2].find("failure") is not None
    # 1 suite failure + 1 SLO + the load run's exit code
    assert root.get("failures") == "3" and root.get("tests") == str(2 + 3 + 1)


def test_junit_without_suite_file_is_built_from_the_checks(tmp_path: Path) -> None:
    root = ET.fromstring(merged_junit(sample_record(tmp_path), None).split("\n", 1)[1])
    contracts = next(s for s in root.iter("testsuite") if s.get("name") == "contracts")
    assert contracts.get("tests") == "6" and contracts.get("skipped") == "2"


def test_junit_records_run_errors(tmp_path: Path) -> None:
    record = RunRecord(
        target="t", embedded=True, profile="smoke", errors=["start: TargetError: port taken"]
    )
    root = ET.fromstring(merged_junit(record, None).split("\n", 1)[1])
    assert root.get("errors") == "1"


def test_scrub_folder_redacts_and_reports(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    leaked = tmp_path / "sub" / "locust.log"
    leaked.write_text(f"Authorization: Bearer {SAMPLE_SECRETS[0]}\n")
    (tmp_path / "clean.txt").write_text("nothing here")
    assert scrub_folder(tmp_path, SAMPLE_SECRETS) == [leaked]
    assert SAMPLE_SECRETS[0] not in leaked.read_text()


def test_run_folders_are_unique_per_run(tmp_path: Path) -> None:
    now = datetime(2026, 5, 4, 10, 55, 2, tzinfo=UTC)
    first, second = new_run_folder(tmp_path, now), new_run_folder(tmp_path, now)
    assert first.name == "20260504-105502" and second.name == "20260504-105502-2"


def test_load_result_adapter_reads_rows_and_files(tmp_path: Path) -> None:
    (tmp_path / "latency.svg").write_text("<svg/>")
    (tmp_path / "locust.html").write_text("<html/>")
    rows = [
        SloRow("GET /tickets p95", "<= 300 ms", "12 ms", PASS),
        SloRow("webhook loss", "<= 0", "3 of 90", FAIL, "3 lost"),
        SloRow("integrity", "-", "not checked", NA),
    ]
    result = LoadResult(1, rows, {}, tmp_path, {"html": tmp_path / "locust.html"})
    outcome = load_from_result(result, tmp_path, 21.0)
    assert [s.passed for s in outcome.slos] == [True, False, None]
    assert outcome.slos[1].shown == "3 of 90 (3 lost)"
    assert [p.name for p in outcome.charts] == ["latency.svg"]
    assert not outcome.passed


def test_job_page_summary_names_each_failure_and_reaches_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tmp_path / "step-summary.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    folder = tmp_path / "run"
    folder.mkdir()
    files = write_report(sample_record(folder), folder, secrets=SAMPLE_SECRETS)
    text = files.markdown.read_text()
    assert text.startswith("## ❌ tixallo-qa: FAILED")
    assert "- **error_bodies** [errors]: 404 body differs" in text
    assert "| error ratio | &lt; 1% | 2.5% | ❌ |" in text
    assert "[index.html](" in text and "[junit.xml](" in text
    assert not any(secret in text for secret in SAMPLE_SECRETS)
    assert step.read_text() == "earlier step\n" + text + "\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    passing = tmp_path / "passing"
    passing.mkdir()
    clean = write_report(sample_record(passing, failing=False), passing, secrets=SAMPLE_SECRETS)
    assert clean.markdown.read_text().startswith("## ✅ tixallo-qa: PASSED")
