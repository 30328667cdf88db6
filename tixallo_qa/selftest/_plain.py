"""A plain ``st run --checks all`` against one deployment, and what its output says it found."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tixallo_qa.core import children, forks
from tixallo_qa.core.redact import Redactor
from tixallo_qa.core.settings import Settings
from tixallo_qa.core.spec import spec_path
from tixallo_qa.selftest._model import CAUGHT, CLEAN, ERROR, FALSE_ALARM, MISSED, Verdict
from tixallo_qa.selftest._plan import Budgets

FAMILY = "schemathesis"
# The key reaches st only through this variable, expanded by st in its config file: it is
# never on a command line (visible in ps) nor in a file.
KEY_VARIABLE = "TIXALLO_SELFTEST_ST_KEY"
CONFIG = 'headers = { Authorization = "Bearer ${' + KEY_VARIABLE + '}" }\n'
PHASES = "examples,coverage,fuzzing,stateful"
REPORT_NAME = "st-report.json"
# "  ❌ ST101 Server error: 4" in the SUMMARY's "Failures:" block.
_FAILURE_LINE = re.compile(r"^\s*\S*\s*(ST\d{3}\s.+?):\s*(\d+)\s*$")


@dataclass(frozen=True)
class PlainFindings:
    """What one st run reported: failure kinds (code and title), errors, and whether it finished."""

    failures: tuple[str, ...]
    errors: tuple[str, ...]
    complete: bool
    generated: int = 0


def st_executable() -> str:
    """The ``st`` next to this interpreter (the project's venv), else the one on PATH."""
    here = Path(sys.executable).with_name("st")
    return str(here) if here.exists() else (shutil.which("st") or "st")


# ``st`` is this module's console script: the same program, and one a fork server can start.
ST_MODULE = "schemathesis.cli"


def st_command(base_url: str, budgets: Budgets, config: Path, report: Path) -> list[str]:
    """The plain run's command line: no secret on it (the key comes from the config file)."""
    st = [sys.executable, "-m", ST_MODULE]
    program = st if forks.can_fork(st) else [st_executable()]
    return [
        *program, "--config-file", str(config), "--no-color",
        "run", str(spec_path()), "--url", base_url,
        "--checks", "all", "--phases", PHASES,
        "--max-examples", str(budgets.plain_max_examples),
        "--seed", str(budgets.plain_seed),
        "--generation-database", "none",
        "--request-timeout", "10",
        # Its first failure is its catch: the rest of the run could only add more of the same.
        "--max-failures", "1",
        "--report", "json", "--report-json-path", str(report),
        "--report-dir", str(report.parent),
    ]  # fmt: skip


def parse_report(data: dict[str, Any]) -> PlainFindings:
    """Findings from st's JSON run report (``--report json``)."""
    failures = tuple(
        f"{f.get('code', '?')} {f.get('title', f.get('type', 'failure'))}".strip()
        for f in data.get("failures", []) or []
    )
    errors = tuple(
        str(e.get("title") or e.get("message") or e) if isinstance(e, dict) else str(e)
        for e in data.get("errors", []) or []
    )
    generated = int((data.get("test_cases") or {}).get("generated", 0) or 0)
    return PlainFindings(failures, errors, bool(data.get("complete", False)), generated)


def parse_text(output: str) -> PlainFindings:
    """Findings from st's console summary, when no JSON report was written."""
    failures: list[str] = []
    in_block = False
    for line in output.splitlines():
        if line.strip() == "Failures:":
            in_block = True
            continue
        if in_block:
            match = _FAILURE_LINE.match(line)
            if match:
                failures.append(match.group(1).strip())
            elif line.strip():
                in_block = False
    complete = bool(re.search(r"=+ (No issues found|\d+ failures?|.*) in [\d.]+s =+", output))
    return PlainFindings(tuple(failures), (), complete)


def judge(findings: PlainFindings, *, faithful: bool) -> str:
    """Any failure is a catch (a false alarm on the faithful deployment); an unfinished run is an error."""
    if findings.failures:
        return FALSE_ALARM if faithful else CAUGHT
    if findings.errors or not findings.complete:
        return ERROR
    return CLEAN if faithful else MISSED


def run_plain(
    base_url: str, key: str, budgets: Budgets, workdir: Path, *, faithful: bool
) -> Verdict:
    """Run plain schemathesis against ``base_url`` with ``key`` and judge what it reported."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "st.toml"
    config.write_text(CONFIG, encoding="utf-8")
    report = workdir / REPORT_NAME
    redactor = Redactor([key])
    env = {**os.environ, KEY_VARIABLE: key}
    started = time.monotonic()
    try:
        completed = children.run(
            st_command(base_url, budgets, config, report),
            cwd=workdir,  # st's own files (and any .hypothesis) stay out of the project
            env=env,
            capture=True,
            timeout=budgets.plain_timeout,
        )
        output = (completed.stdout or b"").decode("utf-8", "replace")
        code = completed.returncode
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or ""
        partial = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        output = f"st did not finish within {budgets.plain_timeout:g} s\n{partial}"
        code = -1
    duration = time.monotonic() - started
    output = redactor.text(output)
    try:
        findings = parse_report(json.loads(report.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        findings = parse_text(output)
    status = judge(findings, faithful=faithful)
    if status == ERROR:
        tail = "\n".join(output.strip().splitlines()[-8:])
        detail = "; ".join(findings.errors) or f"st exited with code {code}: {tail}"
    else:
        detail = f"{findings.generated} test cases" if findings.generated else ""
    return Verdict(
        status,
        checks=findings.failures,
        families=(FAMILY,) if findings.failures else (),
        detail=redactor.text(detail),
        duration=round(duration, 1),
        requests=findings.generated,
    )


# The plain run's key is never throttled (429s would hide every other fault from a tool that
# cannot pace), except for rate-limit faults, where it meets the real 60/min so it sees 429s.
UNTHROTTLED = 100_000
REAL_LIMIT = 60


def plain_rate_limit(family: str | None) -> int:
    """Requests per minute per key of the deployment the plain run faces."""
    return REAL_LIMIT if family == "rate-limit" else UNTHROTTLED


def run_plain_against(
    faults: list[str], rate_limit: int, budgets: Budgets, workdir: Path, *, faithful: bool
) -> tuple[Verdict, tuple[str, ...]]:
    """Start a deployment with exactly ``faults``, run plain st on it; (verdict, secrets used)."""
    from tixallo_qa.target import Target

    with Target.start(
        Settings(),
        workdir=workdir / "deployment",
        faults=faults,
        pool_size=1,
        rate_limit=rate_limit,
        sink="off",  # plain st never looks at webhooks
        webhook_retries=budgets.webhook_retries,
    ) as running:
        settings = running.settings
        assert settings.base_url is not None and settings.api_key is not None
        verdict = run_plain(
            settings.base_url, settings.api_key, budgets, workdir, faithful=faithful
        )
    return verdict, settings.secrets
