"""Plain schemathesis: its command line, reading its JSON report and console summary, the verdict."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from tixallo_qa.selftest import CAUGHT, CLEAN, ERROR, FALSE_ALARM, MISSED, Budgets, _plain
from tixallo_qa.selftest._plain import (
    KEY_VARIABLE,
    PlainFindings,
    judge,
    parse_report,
    parse_text,
    plain_rate_limit,
    st_command,
)

pytestmark = pytest.mark.unit

KEY = "tk_live_SECRET-selftest-key-0123456789"

# Trimmed from a real ``st run --report json`` (schemathesis 4.32) against auth-missing-header-500.
REPORT = {
    "schemathesis_version": "4.32.5",
    "complete": True,
    "exit_code": 1,
    "test_cases": {"generated": 149, "with_failures": 8, "unique_failures": 12},
    "failures": [
        {"type": "ServerError", "code": "ST101", "title": "Server error", "count": 4},
        {"code": "ST401", "title": "Unexpected response to a request without authentication"},
        {"code": "ST203", "title": "Missing required header accepted", "count": 4},
    ],
    "errors": [],
}

SUMMARY = """
=================================== SUMMARY ====================================

API Operations:
  Selected: 4/4
  Tested: 4

Failures:
  ❌ ST101 Server error: 4
  ❌ ST401 Unexpected response to a request without authentication: 4
  ❌ ST203 Missing required header accepted: 4

For more information, run `st explain <code>` for ST101, ST203, ST401.

Test cases:
  149 generated, 8 found 12 unique failures, 60 skipped

============================= 12 failures in 1.81s =============================
"""

CLEAN_SUMMARY = """
Test cases:
  243 generated, 243 passed, 8 skipped

=========================== No issues found in 2.60s ===========================
"""


def test_reads_failures_from_the_json_report() -> None:
    findings = parse_report(REPORT)
    assert findings.failures == (
        "ST101 Server error",
        "ST401 Unexpected response to a request without authentication",
        "ST203 Missing required header accepted",
    )
    assert findings.complete and findings.generated == 149 and findings.errors == ()
    assert judge(findings, faithful=False) == CAUGHT
    assert judge(findings, faithful=True) == FALSE_ALARM


def test_reads_failures_from_the_console_summary() -> None:
    findings = parse_text(SUMMARY)
    assert findings.failures == parse_report(REPORT).failures
    assert findings.complete
    clean = parse_text(CLEAN_SUMMARY)
    assert clean == PlainFindings((), (), True)
    assert judge(clean, faithful=False) == MISSED
    assert judge(clean, faithful=True) == CLEAN


def test_an_unfinished_or_erroring_run_is_an_error_not_a_catch() -> None:
    assert judge(parse_text("Traceback (most recent call last):\n  boom"), faithful=False) == ERROR
    broke = parse_report({"complete": True, "failures": [], "errors": [{"title": "Network Error"}]})
    assert broke.errors == ("Network Error",)
    assert judge(broke, faithful=False) == ERROR
    assert judge(parse_report({"complete": False}), faithful=True) == ERROR


def test_command_line_holds_no_key_and_runs_every_phase(tmp_path: Path) -> None:
    budgets = Budgets(plain_max_examples=7, plain_seed=3)
    cmd = st_command("http://127.0.0.1:1/api/v1", budgets, tmp_path / "c.toml", tmp_path / "r.json")
    joined = " ".join(cmd)
    assert "Authorization" not in joined and "Bearer" not in joined
    assert cmd[cmd.index("--checks") + 1] == "all"
    assert cmd[cmd.index("--phases") + 1] == "examples,coverage,fuzzing,stateful"
    assert cmd[cmd.index("--max-examples") + 1] == "7"
    assert cmd[cmd.index("--seed") + 1] == "3"
    assert cmd[cmd.index("--generation-database") + 1] == "none"
    # The key is a variable the config file names, expanded by st from its environment.
    assert "${" + KEY_VARIABLE + "}" in _plain.CONFIG


def test_rate_limit_faults_meet_the_real_limit() -> None:
    assert plain_rate_limit("rate-limit") == 60
    assert plain_rate_limit("webhooks") > 10_000
    assert plain_rate_limit(None) > 10_000


def _fake_st(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "st"
    script.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_run_plain_never_lets_the_key_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A misbehaving st that echoes its key everywhere it can: the verdict must hold none of it.
    script = _fake_st(
        tmp_path,
        "import os, sys\n"
        f"key = os.environ['{KEY_VARIABLE}']\n"
        "print('Failures:\\n  X ST101 Server error with Bearer ' + key + ': 1\\n')\n"
        "print('boom', key, file=sys.stderr)\n"
        "sys.exit(2)\n",
    )
    monkeypatch.setattr(_plain, "st_executable", lambda: str(script))
    verdict = _plain.run_plain(
        "http://127.0.0.1:1/api/v1", KEY, Budgets(), tmp_path / "w", faithful=False
    )
    assert verdict.status == CAUGHT
    assert verdict.checks == ("ST101 Server error with Bearer <redacted>",)
    assert KEY not in json.dumps(verdict.to_dict())
    assert KEY not in (tmp_path / "w" / "st.toml").read_text()


def test_a_crashing_st_is_an_error_with_its_output_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_st(
        tmp_path,
        f"import os, sys\nprint('boom', os.environ['{KEY_VARIABLE}'], file=sys.stderr)\nsys.exit(2)\n",
    )
    monkeypatch.setattr(_plain, "st_executable", lambda: str(script))
    verdict = _plain.run_plain(
        "http://127.0.0.1:1/api/v1", KEY, Budgets(), tmp_path / "w", faithful=True
    )
    assert verdict.status == ERROR
    assert "exited with code 2" in verdict.detail and "boom <redacted>" in verdict.detail
    assert KEY not in json.dumps(verdict.to_dict())


def test_run_plain_judges_the_json_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _fake_st(
        tmp_path,
        "import json, sys\n"
        "path = sys.argv[sys.argv.index('--report-json-path') + 1]\n"
        f"json.dump({REPORT!r}, open(path, 'w'))\n"
        "sys.exit(1)\n",
    )
    monkeypatch.setattr(_plain, "st_executable", lambda: str(script))
    verdict = _plain.run_plain(
        "http://127.0.0.1:1/api/v1", KEY, Budgets(), tmp_path / "w", faithful=False
    )
    assert verdict.status == CAUGHT
    assert verdict.checks[0] == "ST101 Server error"
    assert verdict.families == ("schemathesis",)
    assert verdict.requests == 149
