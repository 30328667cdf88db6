"""Gating as a pipeline does it: a baseline of known failures, and flaky checks told apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration

SMOKE = Settings(profile="smoke", webhook_timeout=3.0)


def _tixallo(
    args: list[str], target: Target, cwd: Path, *, spare_key: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}
    settings = target.settings if spare_key else target.settings.replace(rate_limit_api_key=None)
    env.update(settings.to_env())
    return subprocess.run(
        [sys.executable, "-m", "tixallo_qa", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _run(target: Target, cwd: Path, reports: str, *extra: str) -> tuple[int, dict, Path]:
    done = _tixallo(
        ["run", "--no-load", "--reruns", "0", "--quiet", "--report-dir", reports, *extra],
        target,
        cwd,
    )
    [folder] = sorted((cwd / reports).iterdir())[-1:]
    return done.returncode, json.loads((folder / "summary.json").read_text()), folder


def test_a_baseline_passes_the_known_fault_and_fails_a_new_one(tmp_path: Path) -> None:
    with Target.start(SMOKE, faults=["list-oldest-first"], pool_size=30) as one:
        code, summary, folder = _run(one, tmp_path, "first")
        assert code == 1 and summary["failures"]
        failing = {f["name"] for f in summary["failures"]}
        wrote = _tixallo(["baseline", "write", str(folder), "-o", "baseline.yaml"], one, tmp_path)
        assert wrote.returncode == 0, wrote.stderr
        assert "fill in each reason" in wrote.stdout
        code, summary, folder = _run(one, tmp_path, "again", "--baseline", "baseline.yaml")
        assert code == 0, summary["failures"]
        # The same fault fails the same way (a check whose failure depended on the deployment's
        # earlier state may pass now: the baseline then lists it as fixed).
        known = {k["name"] for k in summary["known"]}
        assert known and known <= failing and not summary["failures"]
        assert any("known" in line for line in summary["baseline"])
        junit = ET.parse(folder / "junit.xml").getroot()
        assert junit.get("failures") == "0"
        assert "Known failures" in (folder / "index.html").read_text()
        assert "Known failures (baseline)" in (folder / "summary.md").read_text()
    faults = ["list-oldest-first", "roundtrip-status-open"]
    with Target.start(SMOKE, faults=faults, pool_size=30) as two:
        code, summary, _ = _run(two, tmp_path, "second", "--baseline", "baseline.yaml")
        assert code == 1
        new = {f["name"] for f in summary["failures"]}
        assert new and not new & failing, (new, failing)
        assert {k["name"] for k in summary["known"]} <= failing


def test_a_warm_up_failure_is_flaky_and_fails_the_run_only_when_asked(tmp_path: Path) -> None:
    # Without the spare key: its budget, spent by the first run, could not be judged again.
    with Target.start(SMOKE, faults=["errors-warm-up-500=10"], pool_size=30) as target:
        junit = tmp_path / "junit.xml"
        done = _tixallo(
            ["contracts", "--reruns", "1", "--junit", str(junit), "--json-file", "r.json"],
            target,
            tmp_path,
            spare_key=False,
        )
        assert done.returncode == 0, done.stdout[-3000:]
        result = json.loads((tmp_path / "r.json").read_text())
        flaky = [c for c in result["checks"] if c["outcome"] == "flaky"]
        assert flaky and all(c["note"].startswith("flaky: failed, then passed") for c in flaky)
        assert all(c["message"] for c in flaky)  # the first failure is kept
        root = ET.parse(junit).getroot()
        assert root.find(".//flakyFailure") is not None
        assert sum(int(s.get("failures", 0)) for s in root.iter("testsuite")) == 0
    with Target.start(SMOKE, faults=["errors-warm-up-500=10"], pool_size=30) as target:
        done = _tixallo(
            ["contracts", "--reruns", "1", "--fail-on-flaky"], target, tmp_path, spare_key=False
        )
        assert done.returncode == 1
    with Target.start(SMOKE, faults=["errors-warm-up-500=10"], pool_size=30) as target:
        done = _tixallo(
            ["contracts", "--no-rerun", "--json-file", "n.json"], target, tmp_path, spare_key=False
        )
        assert done.returncode == 1
        checks = json.loads((tmp_path / "n.json").read_text())["checks"]
        assert not [c for c in checks if c["outcome"] == "flaky"]


def test_replay_sends_the_failed_check_again_and_judges_it_again(tmp_path: Path) -> None:
    with Target.start(SMOKE, faults=["roundtrip-status-open"], pool_size=30) as faulty:
        code, summary, folder = _run(faulty, tmp_path, "runs")
        assert code == 1
        assert summary["seed"] is not None
        check = "new-ticket-status-and-source"
        assert check in {f["name"] for f in summary["failures"]}
        recorded = json.loads((folder / "checks" / f"{check}.json").read_text())
        assert recorded["exchanges"] and recorded["seed"] == summary["seed"]
        assert not any(k in json.dumps(recorded) for k in faulty.settings.secrets)
        again = _tixallo(["replay", str(folder), check], faulty, tmp_path)
        assert again.returncode == 1, again.stdout[-2000:]
        assert "still fails" in again.stdout and re.search(r"then 2\d\d, now 2\d\d", again.stdout)
        assert not any(k in again.stdout + again.stderr for k in faulty.settings.secrets)
    with Target.start(SMOKE, pool_size=30) as fixed:
        again = _tixallo(["replay", str(folder), check], fixed, tmp_path)
        assert again.returncode == 0, again.stdout[-2000:]
        assert "passes now" in again.stdout
        missing = _tixallo(["replay", str(folder), "no-such-check"], fixed, tmp_path)
        assert missing.returncode == 2 and "holds no failed check" in missing.stderr


def test_a_failure_names_the_offending_item_first_and_trims_the_body_around_it() -> None:
    from tixallo_qa.contracts.runner import run_suite

    with Target.start(SMOKE, faults=["list-merged-included"], pool_size=10) as target:
        # Enough tickets that the list's body is long, few enough that the merged one (seeded
        # first) is still among the newest 50: deep inside the body.
        for i in range(35):
            httpx.post(
                f"{target.settings.base_url}/tickets",
                json={
                    "subject": f"filler {i}",
                    "description": "d" * 500,
                    "customer_email": "f@example.com",
                },
                headers={"Authorization": f"Bearer {target.settings.api_key}"},
                trust_env=False,
            ).raise_for_status()
        result = run_suite(target.settings, select=["list-excludes-merged"])
        [check] = [c for c in result.checks if c.name == "list-excludes-merged"]
    merged = str(target.settings.merged_ticket_id)
    # What broke and the offending item (id, where in the list) come before the exchange.
    what, _, actual = check.message.splitlines()[:3]
    assert check.outcome == "failed" and what == "merged tickets are excluded from the list"
    assert merged in actual and "at position" in actual
    assert "characters before]" in check.message and len(check.message) < 6000
    body = next(e["response_body"] for e in check.exchanges if merged in (e["response_body"] or ""))
    assert len(body) > 15_000  # the whole body stays in the report
