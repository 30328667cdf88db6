"""The selftest itself: every chosen fault against our suite and plain schemathesis, in parallel."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tixallo_qa.core import forks
from tixallo_qa.core.redact import Redactor
from tixallo_qa.reference.faults import Fault
from tixallo_qa.selftest import _ours, _plain
from tixallo_qa.selftest._model import CLEAN, ERROR, FALSE_ALARM, FaultRow, Verdict
from tixallo_qa.selftest._plan import Budgets, runs_load
from tixallo_qa.selftest._result import SelftestResult
from tixallo_qa.selftest._scheduler import Done, longest_first, run_all

CONTRACTS, LOAD, PLAIN = "contracts", "load", "plain"
FAITHFUL = "faithful"
FAITHFUL_LABEL = "The faithful reference deployment: no fault planted; every tool must pass it"
# Rough seconds per job on this machine, only to start the long ones first (a shorter tail).
_ESTIMATE = {LOAD: 20.0, CONTRACTS: 15.0, PLAIN: 7.0}
# What the fork server imports once for the hundreds of children a selftest starts
# (core.forks): the reference deployment's and the sink's web stack, pytest, schemathesis and
# hypothesis. The contract suite's own modules are left out: pytest rewrites their asserts
# when it imports them.
PRELOAD = (
    "tixallo_qa.reference.cli", "tixallo_qa.reference.app", "tixallo_qa.reference.server",
    "tixallo_qa.webhook_sink.config", "tixallo_qa.webhook_sink.app", "tixallo_qa.webhook_sink.server",
    "uvicorn", "starlette.applications", "httpx", "requests", "jsonschema", "jsonschema_rs", "yaml",
    "pytest", "_pytest.python", "_pytest.junitxml", "hypothesis", "hypothesis.stateful",
    "schemathesis", "schemathesis.cli",
)  # fmt: skip
FORKED = ("tixallo_qa.reference", "tixallo_qa.webhook_sink", "pytest", "schemathesis.cli")
# Jobs a fault makes slow, as measured on the 2-core box: the suite waits out 429s when every
# key shares one budget or 401s spend it, and every read sleeps under load-slow-reads. They
# use little CPU while they wait, so they run beside the --jobs slots (see run_all).
_SLOW = {
    (CONTRACTS, "ratelimit-shared"): 130.0,
    (CONTRACTS, "ratelimit-401-counted"): 70.0,
    (CONTRACTS, "load-slow-reads"): 85.0,
    (PLAIN, "load-slow-reads"): 104.0,
    (PLAIN, "load-slow-list"): 32.0,
    (PLAIN, "load-slow-create"): 21.0,
}
# Families whose contract runs take longer than most (every webhook fault makes the suite wait
# out TIXALLO_WEBHOOK_TIMEOUT for an event that never comes right): started early, in the slots.
_FAMILY_ESTIMATE = {(CONTRACTS, "webhooks"): 17.0}


@dataclass(frozen=True)
class Job:
    """One tool against one deployment (``fault`` None = the faithful deployment)."""

    kind: str
    fault: Fault | None
    rate_limit: int = 0  # the plain run's deployment limit

    @property
    def name(self) -> str:
        return self.fault.plant if self.fault else FAITHFUL

    @property
    def folder(self) -> str:
        return self.name if self.kind != PLAIN else f"{self.name}-plain-{self.rate_limit}"

    @property
    def waits(self) -> bool:
        """A job that mostly waits (on 429s, on sleeping reads): it runs beside the CPU slots."""
        return self.fault is not None and (self.kind, self.fault.name) in _SLOW

    def estimate(self) -> float:
        # The faithful runs go first: a false alarm there is the most important news.
        if self.fault is None:
            return 1000.0 + _ESTIMATE[self.kind]
        default = _FAMILY_ESTIMATE.get((self.kind, self.fault.family), _ESTIMATE[self.kind])
        return _SLOW.get((self.kind, self.fault.name), default)


@dataclass(frozen=True)
class JobOutcome:
    """A job's verdict, and the one of the contract run it chained (a load fault the load run missed)."""

    verdict: Verdict
    secrets: tuple[str, ...] = ()
    contracts: Verdict | None = None


@dataclass
class SelftestOptions:
    """What to run and how hard; ``report_root`` receives ``selftest-<timestamp>/``."""

    faults: Sequence[Fault]
    budgets: Budgets = field(default_factory=Budgets)
    jobs: int = 2
    # Load runs at once in a lane of their own beside the ``jobs`` slots; 0 (the default): they
    # take the slots like any job. Beside two more jobs on this 2-core machine, a load run's
    # first third ran 3x slower than its last and hid a planted slowdown from the trend gate.
    load_jobs: int = 0
    plain: bool = True
    min_kill_rate: float = 0.95
    report_root: Path = Path("reports")


def plan_jobs(options: SelftestOptions) -> list[Job]:
    """Every job the options call for, longest first.

    A load fault gets one job: the load run, then the contract suite only when the load run
    missed it (a caught fault needs no more checks; a missed one still meets everything). The
    faithful deployment meets both, each in its own job.
    """
    targets: list[Fault | None] = [None, *options.faults]
    jobs: list[Job] = []
    for fault in targets:
        if fault is None or not runs_load(fault):
            jobs.append(Job(CONTRACTS, fault))
        if runs_load(fault):
            jobs.append(Job(LOAD, fault))
        if options.plain:
            if fault is None:
                # The faithful deployment under both limits the plain runs meet: clean in both,
                # or its catches are not to be trusted.
                jobs.append(Job(PLAIN, None, _plain.UNTHROTTLED))
                if any(f.family == "rate-limit" for f in options.faults):
                    jobs.append(Job(PLAIN, None, _plain.REAL_LIMIT))
            else:
                jobs.append(Job(PLAIN, fault, _plain.plain_rate_limit(fault.family)))
    return longest_first(jobs, Job.estimate)


def phases(jobs: Sequence[Job]) -> list[list[Job]]:
    """The faithful deployment's contract and load runs on their own first, then everything else.

    Their verdicts are the ones that must not move with the machine's load (a false alarm
    there voids the rest), and the load run's latency and webhook-lag gates do: beside two more
    load runs and two contract runs its webhook lag p95 reached 3.9 s on this 2-core machine.
    """
    first = [j for j in jobs if j.fault is None and j.kind in (CONTRACTS, LOAD)]
    rest = [j for j in jobs if j not in first]
    return [p for p in (first, rest) if p]


def _execute(job: Job, budgets: Budgets, scratch: Path, runs: Path) -> JobOutcome:
    workdir = Path(tempfile.mkdtemp(prefix=f"{job.kind}-{job.name}-", dir=scratch))
    faults = [job.fault.plant] if job.fault else []
    faithful = job.fault is None
    secrets: tuple[str, ...] = ()
    try:
        contracts: Verdict | None = None
        if job.kind == CONTRACTS:
            verdict, secrets = _ours.run_contracts(faults, budgets, workdir, faithful=faithful)
            keep = {"contracts.json": workdir / "contracts.json"}
        elif job.kind == LOAD:
            verdict = _ours.run_load_check(faults, budgets, workdir, faithful=faithful)
            keep = {
                "load-summary.json": workdir / "load" / "summary.json",
                "contracts.json": workdir / "contracts.json",
            }
            if not faithful and not verdict.caught:
                contracts, secrets = _ours.run_contracts(faults, budgets, workdir, faithful=False)
        else:
            verdict, secrets = _plain.run_plain_against(
                faults, job.rate_limit, budgets, workdir, faithful=faithful
            )
            keep = {f"st-report-{job.rate_limit}.json": workdir / _plain.REPORT_NAME}
        target = runs / job.name
        target.mkdir(parents=True, exist_ok=True)
        for name, path in keep.items():
            if path.exists():
                shutil.copyfile(path, target / name)
        return JobOutcome(verdict, secrets, contracts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _error(exc: BaseException) -> Verdict:
    return Verdict(ERROR, detail=f"the job broke: {type(exc).__name__}: {exc}"[:300])


def report_folder(root: Path, now: datetime | None = None) -> Path:
    """``<root>/selftest-<UTC timestamp>/``, unique even for two runs in one second."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / (f"selftest-{stamp}" if n == 1 else f"selftest-{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{root}: too many selftest folders named {stamp}")


def assemble(
    faults: Sequence[Fault], outcomes: dict[tuple[str, str], list[Verdict]]
) -> tuple[list[FaultRow], FaultRow]:
    """The table's rows (catalogue order) and the faithful row, from every job's verdict."""

    def one(kind: str, name: str) -> Verdict | None:
        verdicts = outcomes.get((kind, name))
        if not verdicts:
            return None
        merged = verdicts[0]
        for more in verdicts[1:]:
            merged = _ours.merge(merged, more)
        return merged

    def row(fault: Fault | None) -> FaultRow:
        name = fault.plant if fault else FAITHFUL
        load = one(LOAD, name)
        contracts = one(CONTRACTS, name)
        if contracts is None and load is not None and load.caught:
            ours = load  # caught by the load run: the contract suite was not needed
        else:
            contracts = contracts or Verdict(ERROR, detail="the contract run did not report")
            ours = _ours.merge(contracts, load)
        if fault is None:
            return FaultRow(FAITHFUL, "-", FAITHFUL_LABEL, ours, one(PLAIN, name))
        return FaultRow(fault.plant, fault.family, fault.label, ours, one(PLAIN, name))

    return [row(f) for f in faults], row(None)


def run_selftest(
    options: SelftestOptions, *, say: Callable[[str], None] = print
) -> tuple[SelftestResult, Path, tuple[str, ...]]:
    """Run everything; returns the result, its report folder, and the secrets to scrub from output."""
    folder = report_folder(options.report_root)
    runs = folder / "runs"
    jobs = plan_jobs(options)
    redactor = Redactor()
    secrets: list[str] = []
    outcomes: dict[tuple[str, str], list[Verdict]] = {}
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    lane = f"load runs {options.load_jobs} at a time beside them, " if options.load_jobs else ""
    say(
        f"selftest: {len(options.faults)} faults + the faithful deployment, {len(jobs)} jobs, "
        f"{options.jobs} at a time ({lane}and {sum(j.waits for j in jobs)} that mostly wait "
        f"beside them); report in {folder}"
    )

    def finished(done: Done[Job, JobOutcome]) -> None:
        job = done.job
        if done.result is not None:
            verdict = done.result.verdict
            secrets.extend(done.result.secrets)
            redactor.add(*done.result.secrets)
        else:
            verdict = _error(done.error or RuntimeError("no result"))
        outcomes.setdefault((job.kind, job.name), []).append(verdict)
        if done.result is not None and done.result.contracts is not None:
            outcomes.setdefault((CONTRACTS, job.name), []).append(done.result.contracts)
            chained = done.result.contracts
            verdict = _ours.merge(chained, verdict)
        what = f"{verdict.status}" + (
            f" by {', '.join(verdict.checks[:3])}" if verdict.checks else ""
        )
        if len(verdict.checks) > 3:
            what += f" (+{len(verdict.checks) - 3})"
        if verdict.status in (ERROR, FALSE_ALARM) and verdict.detail:
            what += f": {verdict.detail}"
        count[0] += 1
        say(
            redactor.text(
                f"[{count[0]:>3}/{len(jobs)}] {job.kind:<9} {job.name:<40} {what} ({verdict.duration:.0f} s)"
            )
        )

    count = [0]
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="tixallo-selftest-") as scratch,
        forks.forking(PRELOAD, FORKED),
    ):
        for phase in phases(jobs):
            run_all(
                phase,
                lambda job: _execute(job, options.budgets, Path(scratch), runs),
                parallel=options.jobs,
                on_done=finished,
                waits=lambda job: job.waits,
                beside=(lambda job: job.kind == LOAD) if options.load_jobs else None,
                beside_parallel=max(1, options.load_jobs),
            )
    rows, faithful = assemble(options.faults, outcomes)
    result = SelftestResult(
        rows=rows,
        faithful=faithful,
        min_kill_rate=options.min_kill_rate,
        jobs=options.jobs,
        wall_time=time.monotonic() - started,
        started_at=started_at,
        budgets=options.budgets.describe(),
    )
    if faithful.plain is not None and faithful.plain.status != CLEAN:
        result.notes.append(
            f"plain schemathesis was not clean on the faithful deployment ({faithful.plain.status}): "
            "its catches include false alarms and overstate it"
        )
    if not options.plain:
        result.notes.append("plain schemathesis was not run (--no-plain)")
    return result, folder, tuple(secrets)
