"""Selftest planning: fault selection, the CI subset, the jobs, and the parallel scheduler."""

from __future__ import annotations

import threading
import time

import pytest

from tixallo_qa.reference.faults import BY_NAME, CATALOGUE, FAMILIES
from tixallo_qa.selftest import QUICK, PlanError, select_faults
from tixallo_qa.selftest._run import (
    CONTRACTS,
    LOAD,
    PLAIN,
    Job,
    SelftestOptions,
    phases,
    plan_jobs,
)
from tixallo_qa.selftest._scheduler import longest_first, run_all

pytestmark = pytest.mark.unit


def test_selects_all_named_a_family_or_the_quick_subset() -> None:
    assert [f.name for f in select_faults()] == [f.name for f in CATALOGUE]
    assert [f.name for f in select_faults(["webhook-late", "list-oldest-first"])] == [
        "list-oldest-first",
        "webhook-late",
    ]
    assert {f.family for f in select_faults(family="listing")} == {"listing"}
    assert {f.name for f in select_faults(quick=True)} == set(QUICK)
    with pytest.raises(PlanError, match="unknown fault nope"):
        select_faults(["nope"])
    with pytest.raises(PlanError, match="unknown family"):
        select_faults(family="nope")
    with pytest.raises(PlanError, match="no fault matches"):
        select_faults(["webhook-late"], family="listing")


def test_quick_subset_covers_every_family_once() -> None:
    families = [BY_NAME[name].family for name in QUICK]
    assert sorted(families) == sorted(FAMILIES)


def test_jobs_cover_every_fault_with_load_only_where_it_matters() -> None:
    faults = select_faults(["webhook-late", "ratelimit-shared", "load-slow-reads"])
    jobs = plan_jobs(SelftestOptions(faults=faults))
    kinds = {(j.kind, j.name) for j in jobs}
    assert (LOAD, "load-slow-reads") in kinds and (LOAD, "faithful") in kinds
    assert (LOAD, "webhook-late") not in kinds
    # A load fault's one job runs the contract suite only when its load run missed the fault.
    assert (CONTRACTS, "load-slow-reads") not in kinds
    assert all(
        (CONTRACTS, n) in kinds and (PLAIN, n) in kinds for n in ("faithful", "webhook-late")
    )
    # The faithful deployment is run by plain st under both limits it meets.
    assert sorted(j.rate_limit for j in jobs if j.kind == PLAIN and j.fault is None) == [
        60,
        100_000,
    ]
    assert [j.rate_limit for j in jobs if j.name == "ratelimit-shared" and j.kind == PLAIN] == [60]
    assert jobs[0].fault is None  # faithful runs first
    no_plain = plan_jobs(SelftestOptions(faults=faults, plain=False))
    assert not any(j.kind == PLAIN for j in no_plain)


def test_longest_first_is_stable() -> None:
    jobs = [
        Job(PLAIN, None, 1),
        Job(CONTRACTS, BY_NAME["webhook-late"]),
        Job(LOAD, BY_NAME["stall"]),
    ]
    assert [j.kind for j in longest_first(jobs, Job.estimate)] == [PLAIN, LOAD, CONTRACTS]


def test_runs_in_parallel_and_reports_failures() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if n == 3:
            raise RuntimeError("job 3 broke")
        return n * 10

    seen: list[int] = []
    done = run_all(range(6), work, parallel=2, on_done=lambda d: seen.append(d.index))
    assert peak[0] == 2
    assert seen == [1, 2, 3, 4, 5, 6]
    results = {d.job: (d.result, d.error) for d in done}
    assert results[2] == (20, None)
    assert isinstance(results[3][1], RuntimeError) and results[3][0] is None
    with pytest.raises(ValueError, match="at least 1"):
        run_all([1], work, parallel=0)


class PeakCounter:
    """A job body that counts how many jobs of each kind (the name before '-') ran at once."""

    def __init__(self) -> None:
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, job: str) -> str:
        kind = job.split("-")[0]
        with self.lock:
            self.running[kind] = self.running.get(kind, 0) + 1
            self.peak[kind] = max(self.peak.get(kind, 0), self.running[kind])
        time.sleep(0.05)
        with self.lock:
            self.running[kind] -= 1
        return job


def test_waiting_jobs_run_beside_the_slots() -> None:
    work = PeakCounter()
    jobs = ["busy-1", "idle-1", "busy-2", "idle-2", "busy-3"]
    done = run_all(jobs, work, parallel=1, waits=lambda j: j.startswith("idle"))
    assert sorted(d.result or "" for d in done) == sorted(jobs)
    assert work.peak == {"busy": 1, "idle": 2}


def test_a_lane_runs_its_jobs_beside_the_slots_at_its_own_width() -> None:
    work = PeakCounter()
    jobs = [f"{kind}-{n}" for n in range(4) for kind in ("busy", "lane")]
    done = run_all(jobs, work, parallel=1, beside=lambda j: j.startswith("lane"), beside_parallel=2)
    assert sorted(d.result or "" for d in done) == sorted(jobs)
    assert work.peak == {"busy": 1, "lane": 2}
    with pytest.raises(ValueError, match="at least 1"):
        run_all(jobs, work, parallel=1, beside_parallel=0)


def test_the_faithful_runs_go_first_and_alone() -> None:
    faults = select_faults(["webhook-late", "load-slow-reads"])
    first, rest = phases(plan_jobs(SelftestOptions(faults=faults)))
    assert {(j.kind, j.fault) for j in first} == {(CONTRACTS, None), (LOAD, None)}
    assert all(j.fault is not None or j.kind == PLAIN for j in rest)


def test_only_the_measured_slow_jobs_wait() -> None:
    assert Job(CONTRACTS, BY_NAME["ratelimit-shared"]).waits
    assert not Job(PLAIN, BY_NAME["ratelimit-shared"], 60).waits
    assert not Job(CONTRACTS, None).waits


def test_command_line_defaults_and_refusals() -> None:
    import argparse

    from tixallo_qa.commands import selftest

    parser = argparse.ArgumentParser()
    selftest.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.jobs, args.min_kill_rate, args.quick, args.no_plain) == (2, 0.95, False, False)
    args = parser.parse_args(["--quick", "--jobs", "3", "--faults", "a,b", "--family", "load"])
    assert (args.quick, args.jobs, args.faults, args.family) == (True, 3, "a,b", "load")
    assert (args.load_jobs, args.every_check) == (0, False)
    bad_ones = (["--jobs", "0"], ["--min-kill-rate", "1.5"], ["--load-seconds", "-1"])
    for bad in (*bad_ones, ["--load-jobs", "-1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
