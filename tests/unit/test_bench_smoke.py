"""Benchmarks must not rot: every bench module imports, and the quickest one runs end to end."""

from __future__ import annotations

import importlib
import sys

import pytest

from bench import __main__ as bench_main

# It starts the sink and two trivial servers on loopback (child processes) for a few seconds.
pytestmark = pytest.mark.integration


def test_bench_imports_and_sink_ingest_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    for name in bench_main.BENCHMARKS:
        assert callable(importlib.import_module(f"bench.{name}").main)
    assert "locust" not in sys.modules  # locust only ever runs in child processes
    assert bench_main.main(["--only", "sink_ingest", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "| lost (sent - recorded valid)" in out and "0 of 1000" in out
