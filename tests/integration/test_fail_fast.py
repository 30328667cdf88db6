"""Infrastructure failures are told apart from defects: exit 3 within seconds, one line, JUnit errors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tixallo_qa.contracts._results import SuiteResult
from tixallo_qa.contracts.runner import run_suite
from tixallo_qa.core.netutil import free_port
from tixallo_qa.core.progress import read_counts
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration

# Bounds a hang only: nothing here asserts how fast it went (the figure is printed).
HANG = 120.0


def _tixallo(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tixallo_qa", *args],
        env=env, cwd=str(cwd), capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    return done, time.monotonic() - started


def _closed() -> tuple[str, int]:
    port = free_port()
    return f"http://127.0.0.1:{port}/api/v1", port


def _junit_counts(path: Path) -> tuple[int, int]:
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    return sum(c.find("error") is not None for c in cases), sum(
        c.find("failure") is not None for c in cases
    )


def test_contracts_against_a_closed_port_exits_3_with_one_line(tmp_path: Path) -> None:
    url, port = _closed()
    junit = tmp_path / "junit.xml"
    done, seconds = _tixallo(
        "contracts", "--base-url", url, "--api-key", "tq_key", "--junit", str(junit), cwd=tmp_path
    )
    print(f"tixallo-qa contracts against a closed port: exit {done.returncode} in {seconds:.2f} s")
    assert done.returncode == 3
    assert done.stderr.strip().splitlines()[-1] == (
        f"tixallo-qa contracts: the deployment at {url} is unreachable: nothing listens on "
        f"127.0.0.1:{port} (connection refused): start it, or fix the host and port in TIXALLO_BASE_URL"
    )
    assert "Traceback" not in done.stderr + done.stdout
    # CI sees an error (the target), not a failure (a defect).
    assert _junit_counts(junit) == (1, 0)


def test_run_and_load_against_a_closed_port_exit_3_with_one_line(tmp_path: Path) -> None:
    url, port = _closed()
    run, _ = _tixallo("run", "--base-url", url, "--api-key", "tq_key", "--quiet", cwd=tmp_path)
    assert run.returncode == 3
    assert f"nothing listens on 127.0.0.1:{port} (connection refused)" in run.stderr + run.stdout
    load, _ = _tixallo(
        "load", "--base-url", url, "--api-key", "tq_key", "--rate-limit", "0", "--duration", "5",
        cwd=tmp_path,
    )  # fmt: skip
    assert load.returncode == 3
    [line] = [x for x in load.stderr.splitlines() if x.startswith("tixallo-qa load:")]
    assert line.endswith("start it, or fix the host and port in TIXALLO_BASE_URL")


@pytest.mark.parametrize(
    ("stopped", "said"),
    [
        ("reference deployment", "is unreachable: nothing listens on"),
        ("webhook sink", "the webhook sink at http://127.0.0.1:"),
    ],
    ids=["deployment", "sink"],
)
def test_a_part_that_goes_away_mid_run_stops_the_suite_with_errors_not_failures(
    tmp_path: Path, stopped: str, said: str
) -> None:
    """The deployment (or the sink) is stopped once the suite has sent some requests."""
    progress = tmp_path / "progress.json"
    junit = tmp_path / "junit.xml"
    results: list[SuiteResult] = []
    with Target.start(Settings(profile="smoke", rate_limit=0), pool_size=5) as target:
        worker = threading.Thread(
            target=lambda: results.append(
                run_suite(target.settings, junit_path=junit, progress_path=progress)
            )
        )
        worker.start()
        deadline = time.monotonic() + HANG
        while sum(read_counts(progress).values()) < 40:
            assert worker.is_alive() and time.monotonic() < deadline, "the suite never got going"
            time.sleep(0.05)
        [part] = [c for c in target.children if c.name == stopped]
        part.stop()
        when = time.monotonic()
        worker.join(HANG)
        print(f"the suite stopped {time.monotonic() - when:.1f} s after the {stopped} did")
        assert not worker.is_alive()
    [result] = results
    assert result.exit_status == 3, (result.counts, result.errors, result.infrastructure)
    assert said in result.infrastructure
    assert result.counts["failed"] == 0 and result.counts["error"] >= 1
    errors, failures = _junit_counts(junit)
    assert errors >= 1 and failures == 0, junit.read_text()[-3000:]
