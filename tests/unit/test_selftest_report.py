"""Selftest report: the table cells, Markdown, HTML and JSON files, and no secret in any of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from tixallo_qa.core.redact import Redactor
from tixallo_qa.selftest import (
    CAUGHT,
    CLEAN,
    ERROR,
    MISSED,
    FaultRow,
    SelftestResult,
    Verdict,
    write_report,
)
from tixallo_qa.selftest._console import print_result
from tixallo_qa.selftest._render import headline, markdown, missed_lines, table_rows, verdict_cell
from tixallo_qa.selftest._run import report_folder

pytestmark = pytest.mark.unit

KEY = "tk_live_SECRET-abcdefghijklmnop"
WEBHOOK_SECRET = "whsec_SECRET-qrstuvwxyz"


def _result() -> SelftestResult:
    rows = [
        FaultRow(
            "auth-any-scheme-accepted",
            "authentication",
            "Planted bug: a non-Bearer scheme is accepted",
            Verdict(CAUGHT, ("bad-credentials-401[token-scheme]",), ("auth",), f"sent {KEY}"),
            Verdict(MISSED),
        ),
        FaultRow(
            "webhook-late",
            "webhooks",
            "Planted bug: webhooks are sent 15 s after the event <late>",
            Verdict(CAUGHT, tuple(f"check-{i}" for i in range(6)), ("webhooks",)),
            Verdict(CAUGHT, ("ST101 Server error | pipe",), ("schemathesis",)),
        ),
        FaultRow(
            "ratelimit-shared",
            "rate-limit",
            "Planted bug: one budget for all keys",
            Verdict(MISSED, detail=f"secret {WEBHOOK_SECRET} in a message"),
            None,
        ),
        FaultRow(
            "errors-x",
            "errors",
            "Planted bug: x",
            Verdict(ERROR, detail="the job broke"),
            Verdict(ERROR),
        ),
    ]
    return SelftestResult(
        rows=rows,
        faithful=FaultRow("faithful", "-", "no fault", Verdict(CLEAN), Verdict(CLEAN)),
        min_kill_rate=0.5,
        jobs=2,
        wall_time=123.4,
        started_at="2026-11-29T17:00:00+00:00",
        budgets={"ours": "smoke profile", "plain": f"st run with {KEY}"},
        notes=["a note"],
    )


def test_cells_name_the_checks_and_cut_long_lists() -> None:
    assert verdict_cell(None) == "not run"
    assert verdict_cell(Verdict(MISSED)) == "missed"
    assert verdict_cell(Verdict(CAUGHT, ("a", "b"))) == "caught: a, b"
    assert verdict_cell(Verdict(CAUGHT, tuple("abcdef"))) == "caught: a, b, c, d (+2 more)"
    rows = table_rows(_result())
    assert rows[0] == (
        "auth-any-scheme-accepted",
        "authentication",
        "caught: bad-credentials-401[token-scheme]",
        "missed",
        "a non-Bearer scheme is accepted",
    )


def test_headline_states_both_rates_and_the_faithful_result() -> None:
    lines = headline(_result())
    assert "Kill rate, ours: 2/4 (50.0%) (needs >= 50%)" in lines
    assert "Kill rate, plain schemathesis: 1/3 (33.3%)" in lines
    assert "Faithful deployment, ours: clean" in lines
    assert "Wall time: 123 s with 2 jobs at a time" in lines
    assert lines[-1] == "SELFTEST PASSED"


def test_missed_faults_say_why_or_flag_the_gap() -> None:
    lines = missed_lines(_result().rows)
    assert len(lines) == 2
    assert lines[0].startswith("ratelimit-shared (rate-limit): missed")
    assert "no known limit recorded" in lines[1]


def test_markdown_escapes_table_cells() -> None:
    text = markdown(_result())
    assert "| webhook-late | webhooks |" in text
    assert "ST101 Server error \\| pipe" in text
    assert "## Kill rate per family" in text and "| all | 2/4 (50.0%) | 1/3 (33.3%) |" in text


def test_writes_three_files_without_secrets(tmp_path: Path) -> None:
    folder = tmp_path / "selftest-x"
    # A per-job file that slipped a secret through is scrubbed as well.
    (folder / "runs" / "webhook-late").mkdir(parents=True)
    (folder / "runs" / "webhook-late" / "contracts.json").write_text(json.dumps({"m": KEY}))
    paths = write_report(_result(), folder, (KEY, WEBHOOK_SECRET))
    assert sorted(paths) == ["selftest.html", "selftest.json", "selftest.md"]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert KEY not in text and WEBHOOK_SECRET not in text, path
    data = json.loads(paths["selftest.json"].read_text())
    assert data["kill_rate"]["ours"]["overall"]["caught"] == 2
    assert data["rows"][0]["ours"]["checks"] == ["bad-credentials-401[token-scheme]"]
    html = paths["selftest.html"].read_text()
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert "&lt;late&gt;" in html and "<late>" not in html
    assert 'class="caught"' in html


def test_console_table_holds_no_secret() -> None:
    console = Console(record=True, width=200)
    print_result(_result(), console, Redactor([KEY, WEBHOOK_SECRET]))
    text = console.export_text()
    assert "auth-any-scheme-accepted" in text and "SELFTEST PASSED" in text
    assert KEY not in text and WEBHOOK_SECRET not in text


def test_report_folders_are_unique(tmp_path: Path) -> None:
    first, second = report_folder(tmp_path), report_folder(tmp_path)
    assert first != second
    assert first.name.startswith("selftest-") and second.name.endswith("-2")
