"""``tixallo-qa run`` on the embedded target, with short budgets: exit 0, a full report, no secret in it."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tixallo_qa.cli import main
from tixallo_qa.commands import run as run_command
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration


def test_run_embedded_passes_and_writes_a_clean_report(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[Target] = []
    real_start = Target.start.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Target], *args: Any, **kwargs: Any) -> Target:
        # Keep the started deployment's settings: its keys and secret are what must not leak.
        running = real_start(cls, *args, **kwargs)
        started.append(running)
        return running

    clean_env.setattr(Target, "start", classmethod(spy))
    reports = tmp_path / "reports"
    code = main(
        ["run", "--profile", "smoke", "--load-duration", "5", "--pool-size", "200",
         "--report-dir", str(reports), "--json", "--quiet"]
    )  # fmt: skip
    out = capsys.readouterr().out
    result = json.loads(out)
    assert code == 0, json.dumps(result, indent=2)[:4000]
    assert result["verdict"] == "passed"
    assert result["counts"]["failed"] == 0 and result["counts"]["passed"] > 0
    assert [p["name"] for p in result["phases"]] == ["start", "contracts", "load"]
    assert result["load"]["ran"] and result["load"]["passed"]
    assert result["settings"]["TIXALLO_RATE_LIMIT"] == "60"  # the real per-key limit, enforced

    [folder] = list(reports.iterdir())
    assert Path(result["report"]) == folder / "index.html"
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"index.html", "junit.xml", "webhooks.jsonl", "summary.json"} <= names
    assert "load/locust.html" in names and any(
        n.startswith("load/") and n.endswith(".csv") for n in names
    )
    page = (folder / "index.html").read_text()
    for part in ('id="verdict">PASSED<', 'id="slo-table"', 'id="lag-histogram"'):
        assert part in page

    junit = ET.parse(folder / "junit.xml").getroot()
    assert junit.get("failures") == "0" and junit.get("errors") == "0"
    assert any(c.get("classname") == "load.slo" for c in junit.iter("testcase"))
    events = [json.loads(line) for line in (folder / "webhooks.jsonl").read_text().splitlines()]
    assert len(events) == sum(result["webhooks"]["verdicts"].values()) > 0
    assert {e["seq"] for e in events if e["verdict"] == "valid"}

    [embedded] = [t for t in started if t.embedded]  # the load phase attaches a second time
    secrets = embedded.settings.secrets
    assert len(secrets) > 200  # the pool, the other, revoked and spare keys, the webhook secret
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [s[:6] for s in secrets if s.encode() in data]
            assert not leaked, f"{path} holds secrets starting {leaked}"
    assert not any(s in out for s in secrets)


def test_remote_target_skips_load_without_the_opt_in() -> None:
    args = argparse.Namespace(
        no_load=False,
        allow_remote_load=False,
        load_duration=20.0,
        baseline=None,
        fail_on_flaky=False,
    )
    remote = Settings(base_url="https://tixallo.example/api/v1", api_keys=("k",))
    run = run_command._Run(remote, args, None, None)  # type: ignore[arg-type]
    refusal = run._load_refusal()
    assert refusal is not None and "pass --allow-remote-load" in refusal
    args.allow_remote_load = True
    assert run._load_refusal() is None
    loopback = run_command._Run(
        remote.replace(base_url="http://127.0.0.1:9/api/v1"), args, None, None
    )  # type: ignore[arg-type]
    args.allow_remote_load = False
    assert loopback._load_refusal() is None
