"""Bounded load runs against the embedded reference deployment and sink (locust in a child process).

Verdicts only, never speed: each run is short, on loopback, and stops by itself.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tixallo_qa.core.netutil import free_port
from tixallo_qa.core.settings import Settings
from tixallo_qa.load import LoadOptions, LoadResult, SloConfig, run_load
from tixallo_qa.load.files import CREATED, read_jsonl
from tixallo_qa.reference.store import KEY_PREFIX
from tixallo_qa.target import Target

pytestmark = pytest.mark.load
# Short webhook wait: a lost event is declared lost 3 s after the last create, not 10.
SETTINGS = Settings(webhook_timeout=3.0)


def _run(tmp_path: Path, options: LoadOptions | None = None, **kwargs: object) -> LoadResult:
    return run_load(SETTINGS, options, report_dir=tmp_path / "run", quiet=True, **kwargs)  # type: ignore[arg-type]


def test_default_run_passes_and_accounts_every_create(tmp_path: Path) -> None:
    result = _run(tmp_path, duration=10)
    assert result.passed, [r.as_dict() for r in result.rows if r.failed]
    created = read_jsonl(result.report_dir / CREATED)
    webhooks = result.summary["webhooks"]
    assert created and webhooks["expected"] == len(created) == webhooks["delivered"]
    assert webhooks["lost"] == 0 and webhooks["lag_ms"]["count"] == len(created)
    # Lag has its own rows in locust's statistics, CSV and HTML.
    with (result.report_dir / "locust_stats.csv").open() as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh)}
    tickets = sum(1 for c in created if c["kind"] == "ticket")
    assert int(rows[("WEBHOOK", "ticket.created lag")]["Request Count"]) == tickets
    assert "ticket.created lag" in (result.report_dir / "locust.html").read_text()
    for name in ("summary", "html", "csv", "latency_svg", "lag_svg"):
        assert result.paths[name].stat().st_size > 0, name
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["integrity"]["readback_checked"] > 0 and summary["exit_code"] == 0
    # No key reaches the run folder (locust's log, CSV, HTML, our JSON).
    text = "".join(
        p.read_text(errors="replace") for p in result.report_dir.iterdir() if p.is_file()
    )
    assert not re.search(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{16}", text)


@pytest.mark.parametrize(
    ("fault", "breach"),
    [
        ("load-slow-reads", "GET /tickets/{id} p95"),
        ("load-5xx-under-concurrency", "error ratio"),
        ("load-webhook-loss", "webhook loss"),
        ("load-ticket-number-race", "integrity: distinct ticket numbers"),
    ],
)
def test_a_planted_fault_fails_the_run_naming_the_slo(
    tmp_path: Path, fault: str, breach: str
) -> None:
    # A small read-back: under the slow-reads fault every GET takes up to 0.8 s.
    result = _run(tmp_path, LoadOptions(readback_sample=5), duration=6, faults=[fault])
    assert result.exit_code == 1
    assert breach in result.breached, result.breached


def test_two_processes_account_every_create_once(tmp_path: Path) -> None:
    # Integrators only: locust may put every user of one class on one worker; both must create.
    result = _run(
        tmp_path,
        LoadOptions(users=10, user_weights={"integrator": 1.0, "agent": 0.0}),
        duration=8,
        processes=2,
    )
    assert result.passed, result.breached
    created = read_jsonl(result.report_dir / CREATED)
    # Both processes created (their tags carry the pid), and every create is accounted exactly once.
    pids = {c["sent"]["subject"].split()[1].split("-")[1] for c in created if c["kind"] == "ticket"}
    assert len(pids) == 2
    ids = [c.get("message_id") or c["ticket_id"] for c in created]
    assert len(ids) == len(set(ids))
    webhooks = result.summary["webhooks"]
    assert webhooks["expected"] == len(ids) == webhooks["delivered"] and webhooks["unexpected"] == 0


def test_the_open_model_reports_a_stall_the_closed_models_p99_hides(tmp_path: Path) -> None:
    # No rate limit: the closed users may go as fast as the server answers, the way stalls hide.
    settings = SETTINGS.replace(rate_limit=0)
    slo = SloConfig(p95_ms=10_000, p99_ms=500)
    closed = run_load(
        settings, LoadOptions(users=2, think_min=0, think_max=0), slo=slo, duration=9,
        faults=["stall"], report_dir=tmp_path / "closed", quiet=True,
    )  # fmt: skip
    opened = run_load(
        settings,
        slo=slo,
        rate=40,
        duration=9,
        faults=["stall"],
        report_dir=tmp_path / "open",
        quiet=True,
    )
    closed_p99 = [r.slo for r in closed.rows if r.slo.endswith("p99") and r.failed]
    open_p99 = [r.slo for r in opened.rows if r.slo.endswith("p99") and r.failed]
    assert not closed_p99, closed_p99
    assert open_p99, [r.as_dict() for r in opened.rows]


def test_master_with_workers_started_elsewhere_joins_in_one_place(tmp_path: Path) -> None:
    # The workers are separate 'tixallo-qa load --worker' processes, as on other machines:
    # their created ids reach the master only through locust's runner messages.
    with Target.start(SETTINGS) as target:
        port = free_port()
        env = {**os.environ, **target.settings.to_env()}
        command = [
            sys.executable,
            "-m",
            "tixallo_qa",
            "load",
            "--worker",
            "--master-port",
            str(port),
        ]
        workers = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        try:
            options = LoadOptions(users=6, user_weights={"integrator": 1.0, "agent": 0.0})
            result = run_load(
                target.settings, options, duration=6, distributed_workers=2, master_bind_port=port,
                report_dir=tmp_path / "run", quiet=True,
            )  # fmt: skip
            assert [w.wait(timeout=30) for w in workers] == [0, 0]  # they quit with the master
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
    assert result.passed, result.breached
    webhooks = result.summary["webhooks"]
    created = read_jsonl(result.report_dir / CREATED)
    assert webhooks["expected"] == len(created) == webhooks["delivered"] > 0
