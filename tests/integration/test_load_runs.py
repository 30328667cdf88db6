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
from tixallo_qa.load.capacity import find_capacity
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
    # The write bursts make requests overlap: at least a burst's worth in flight at once.
    in_flight = result.summary["requests"]["in_flight"]
    assert in_flight["max"] >= LoadOptions().burst_size and in_flight["overlapping"] > 0.1
    # Every ticket and message the run created was read back and found.
    integrity = result.summary["integrity"]
    assert (
        integrity["coverage"] == 1.0
        and integrity["lost_tickets"] == integrity["lost_messages"] == 0
    )
    assert integrity["readback_messages_checked"] == integrity["messages"] > 0
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
    for name in ("summary", "html", "csv", "latency_svg", "lag_svg", "trend_svg", "readback"):
        assert result.paths[name].stat().st_size > 0, name
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["integrity"]["readback_checked"] > 0 and summary["exit_code"] == 0
    # No key reaches the run folder (locust's log, CSV, HTML, our JSON).
    text = "".join(
        p.read_text(errors="replace") for p in result.report_dir.iterdir() if p.is_file()
    )
    assert not re.search(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{16}", text)


@pytest.mark.parametrize(
    ("faults", "breaches", "duration"),
    [
        # Independent faults planted together, each caught by its own gate.
        (
            [
                "load-slow-list=302",
                "load-lost-message-under-concurrency=2",
                "load-webhook-tail-late=0.05",
                "load-webhook-crossed-under-concurrency=4",
            ],
            ["GET /tickets p95", "integrity: lost writes", "webhook lag p99", "webhook payloads"],
            8,
        ),
        (
            [
                "load-ticket-number-race=1",
                "load-messages-out-of-order=6",
                "load-connection-reset=0.01",
            ],
            ["integrity: distinct ticket numbers", "integrity: conversation order", "error ratio"],
            8,
        ),
        (["load-5xx-under-concurrency=8"], ["server errors (5xx)"], 6),
        (["load-webhook-loss"], ["webhook loss"], 6),
        # Answers crossed between overlapping reads, creates naming no id, deliveries cut short:
        # the stored data is right, so only the checks of every answer during the run see them.
        (
            [
                "load-get-crossed-under-concurrency=5",
                "load-create-answer-no-id-under-concurrency=3",
                "load-webhook-cut=40",
            ],
            ["bad 2xx bodies", "webhook loss"],
            8,
        ),
        # A create that slows as the workspace grows, while staying under its SLO.
        (["load-create-slows-as-data-grows=25"], ["trend: POST /tickets p75"], 14),
    ],
    ids=[
        "latency-writes-webhooks",
        "numbers-order-resets",
        "5xx",
        "webhook-loss",
        "bad-answers",
        "trend",
    ],
)
def test_planted_faults_fail_the_run_naming_their_slo(
    tmp_path: Path, faults: list[str], breaches: list[str], duration: float
) -> None:
    result = _run(tmp_path, duration=duration, faults=faults)
    assert result.exit_code == 1
    assert set(breaches) <= set(result.breached), result.breached
    if "error ratio" in breaches:
        # Named by kind, with a redacted curl of the first one.
        assert result.summary["requests"]["transport_failures"], result.summary["requests"]
        assert any(e["sample"].startswith("curl ") for e in result.summary["errors"])


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
    # Both processes' HDR histograms reached the master and were merged, count for count: one
    # answered create per created ticket, and never fewer than locust counted itself (locust's
    # workers may miss the last answers in their final report; ours are flushed at the stop).
    ours = {name: e["requests"] for name, e in result.summary["endpoints"].items()}
    assert result.summary["requests"]["failures"] == 0
    # (bursts are measured under their own names: "POST /tickets (burst)").
    for path, kind in (("/tickets", "ticket"), ("/tickets/{id}/messages", "message")):
        answered = ours.get(f"POST {path}", 0) + ours.get(f"POST {path} (burst)", 0)
        assert answered == sum(1 for c in created if c["kind"] == kind), path
    with (result.report_dir / "locust_stats.csv").open() as fh:
        locust = {
            f"{r['Type']} {r['Name']}": int(r["Request Count"])
            for r in csv.DictReader(fh)
            if r["Type"] in ("GET", "POST")
        }
    assert set(ours) == set(locust) and all(ours[k] >= locust[k] > 0 for k in ours), (ours, locust)


def test_the_open_model_reports_a_stall_the_closed_models_p99_hides(tmp_path: Path) -> None:
    # No rate limit: the closed users may go as fast as the server answers, the way stalls hide
    # (and no write bursts: they keep a timetable, so they would see the stall).
    settings = SETTINGS.replace(rate_limit=0)
    slo = SloConfig(p95_ms=10_000, p99_ms=500)
    closed = run_load(
        settings, LoadOptions(users=2, think_min=0, think_max=0, burst_size=0), slo=slo, duration=9,
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


def test_find_capacity_brackets_the_rate_where_an_slo_breaks(tmp_path: Path) -> None:
    # 500s above 3 requests in flight: the break comes with the overlap a higher rate brings.
    result = find_capacity(
        SETTINGS, LoadOptions(), max_rate=400, budget=35, step=3,
        faults=["load-5xx-under-concurrency=3"], report_dir=tmp_path / "cap", quiet=True,
    )  # fmt: skip
    assert result.capacity is not None and result.broke_at is not None
    assert result.capacity < result.broke_at <= 400
    first = result.first_breach
    assert (
        first is not None and "5xx" in first.first_breach
    ) or "error ratio" in first.first_breach
    assert result.duration < 35 + 30  # the budget, plus at most the step that was running
    assert result.paths["capacity_svg"].stat().st_size > 0
    summary = json.loads(result.paths["capacity"].read_text())
    assert summary["capacity"] == result.capacity and len(summary["steps"]) == len(result.steps)


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
