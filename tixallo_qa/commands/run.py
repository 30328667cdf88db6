"""``tixallo-qa run``: contracts, webhooks and a short load run against one target, then a report."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tixallo_qa.core import exitcodes
from tixallo_qa.core import settings as _settings
from tixallo_qa.core.exitcodes import epilog
from tixallo_qa.core.plan import DEFAULT_BUDGET
from tixallo_qa.target import DEFAULT_POOL_SIZE

if TYPE_CHECKING:
    from rich.console import Console

    from tixallo_qa.core.settings import Settings
    from tixallo_qa.report import PhaseHandle, RunProgress, RunRecord
    from tixallo_qa.target import Target

DEFAULT_LOAD_SECONDS = 20.0
# The load run gets keys the contract suite does not use (their budgets are fresh).
LOAD_KEY_MARGIN = 1.1
# Share of a shared pool's capacity the load run may take.
RATE_SHARE = 0.8
MIN_CONTRACT_KEYS = 10
WINDOW = 60.5  # seconds: the per-key window plus the pacing margin (tixallo_qa.core.ratelimit)
EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 3, 130
EXIT_USAGE, EXIT_INCONCLUSIVE = 2, 4  # the whole table: tixallo_qa.core.exitcodes
LOG_WIDTH = 160
# Events exported per query to the sink (a load run records thousands).
EVENTS_PAGE = 5000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--load-duration",
        type=float,
        default=DEFAULT_LOAD_SECONDS,
        metavar="SECONDS",
        help=f"length of the load run (default {DEFAULT_LOAD_SECONDS:g})",
    )
    group.add_argument("--no-load", action="store_true", help="skip the load run")
    group.add_argument(
        "--allow-remote-load",
        action="store_true",
        help="also run load against a non-loopback target (it sends real traffic, paced per key)",
    )
    group.add_argument(
        "--pool-size",
        type=int,
        default=DEFAULT_POOL_SIZE,  # enough that the load run fits under 60/min per key
        metavar="N",
        help=f"keys seeded into the embedded deployment (default {DEFAULT_POOL_SIZE})",
    )
    group.add_argument(
        "--select",
        metavar="NAMES",
        help="run only these contract checks or families (comma-separated)",
    )
    group.add_argument(
        "--quiet", action="store_true", help="no progress; print only the summary (for CI logs)"
    )
    group.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout at the end"
    )
    group.add_argument(
        "--time-budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help="the plan says how many keys would bring the contract phase under this "
        f"(default {DEFAULT_BUDGET:g})",
    )
    parser.epilog = epilog()
    from tixallo_qa.gate import add_arguments as gate_arguments

    gate_arguments(parser)
    _settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    settings = _settings.from_args(args)
    if args.reruns < 0:
        raise _settings.SettingsError(f"--reruns {args.reruns}: use 0 or more")
    if args.load_duration <= 0:
        raise _settings.SettingsError(
            f"--load-duration {args.load_duration:g}: use a positive number of seconds"
        )
    if args.pool_size < 1:
        raise _settings.SettingsError(f"--pool-size {args.pool_size}: use 1 or more keys")
    # With --json, stdout holds only the JSON object; people read stderr.
    out = _console(stderr=args.json)
    err = _console(stderr=True)
    return _Run(settings, args, out, err).execute()


def _console(*, stderr: bool) -> Console:
    """A console; CI logs (no terminal) get wide lines instead of rich's 80 columns."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=LOG_WIDTH)
    return console


@contextlib.contextmanager
def _sigint_seen() -> Iterator[threading.Event]:
    """Remember a Ctrl-C even when the code it interrupts (pytest) swallows the KeyboardInterrupt."""
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        seen.set()
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """One run: start what is needed, run each phase, always stop what it started, write the report."""

    def __init__(
        self, settings: Settings, args: argparse.Namespace, out: Console, err: Console
    ) -> None:
        from tixallo_qa.report import RunRecord

        self.base = settings
        self.settings = settings
        self.args = args
        self.out = out
        self.err = err
        self.record: RunRecord = RunRecord(
            target=settings.base_url or "embedded reference deployment",
            embedded=settings.embedded,
            profile=settings.profile,
        )
        self.workdir = Path(tempfile.gettempdir())  # a private one is made when the run starts
        self.target: Target | None = None
        self.suite_lags: list[float] = []
        self.contracts_junit: Path | None = None
        self.contracts_settings: Settings = settings
        self.load_settings: Settings = settings
        self.load_changes: dict[str, Any] = {}
        self.current = "start"  # the phase running now, for an interrupted run's report
        # Each phase's exit code (core.exitcodes); the run exits with their combination.
        self.codes: list[int] = []
        from tixallo_qa.gate import load_gate

        # A bad baseline is a usage error found before anything starts.
        self.gate = load_gate(args.baseline, fail_on_flaky=args.fail_on_flaky)

    # -- the whole run ---------------------------------------------------------------------
    def execute(self) -> int:
        from tixallo_qa.report import (
            RunProgress,
            new_run_folder,
            print_summary,
            record_to_json,
            write_report,
        )

        started = time.monotonic()
        folder = new_run_folder(self.base.report_dir)
        self.workdir = Path(tempfile.mkdtemp(prefix="tixallo-run-"))
        events: list[Any] | None = None
        with (
            RunProgress(self.err, quiet=self.args.quiet or self.args.json) as progress,
            _sigint_seen() as sigint,
        ):
            try:
                if self._start(progress):
                    self._plan_pool()
                    self._say_plan(progress)
                    self._contracts(progress, sigint)
                    self._load(progress, folder)
            except KeyboardInterrupt:
                from tixallo_qa.report import Phase

                self.record.interrupted = True
                self.record.phases.append(
                    Phase(self.current, "interrupted", 0.0, "Ctrl-C: stopped here")
                )
            except Exception as exc:
                # A bug of ours must not cost the report of what already ran.
                self.record.errors.append(f"{self.current}: {type(exc).__name__}: {exc}")
                self.codes.append(exitcodes.INFRASTRUCTURE)
            finally:
                try:
                    events = self._collect_events()
                finally:
                    self._stop()
            self.record.duration = time.monotonic() - started
            self.record.baseline = self.gate.lines()
            self.record.clock = self._clock(events)
            self.record.exit_code = self._exit_code()
            self.record.settings = self._settings_table()
            with progress.phase("report") as phase:
                files = write_report(
                    self.record,
                    folder,
                    secrets=self._secrets(),
                    contracts_junit=self.contracts_junit,
                    events=events,
                )
                phase.done("passed", str(folder))
        if files.scrubbed:
            names = ", ".join(p.name for p in files.scrubbed)
            self.err.print(f"warning: a secret was found and redacted in {names}", highlight=False)
        if self.args.json:
            print(json.dumps({**record_to_json(self.record), "report": str(files.index)}, indent=2))
        if not (self.args.quiet and self.args.json):
            print_summary(self.out, self.record, files.index)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.record.exit_code

    def _relabel_junit(self, result: Any) -> None:
        """Flaky and known checks in the contract suite's JUnit: not failures for CI."""
        from tixallo_qa.contracts.runner import relabel_junit

        if self.contracts_junit is None:
            return
        cases = {c.nodeid: ("skipped", c.note) for c in result.checks if c.outcome == "known"}
        relabel_junit(self.contracts_junit, cases)

    def _exit_code(self) -> int:
        """The run's code from its phases' (``core.exitcodes.combine``): a defect is news first."""
        if self.record.interrupted:
            return EXIT_INTERRUPTED
        if self.record.passed:
            return EXIT_PASSED
        code = exitcodes.combine(*self.codes)
        if code == EXIT_PASSED:
            # Not passed, yet no phase said why: an error of the run itself, or nothing judged.
            return EXIT_ERROR if self.record.errors else EXIT_INCONCLUSIVE
        return code

    def _clock(self, events: list[Any] | None) -> str:
        """How far the deployment's (Date) and the webhooks' clocks were from ours, one sentence."""
        from tixallo_qa.core import clocks

        date = self.target.clock if self.target is not None else None
        hooks = clocks.from_webhooks(
            (e.headers, e.received_at) for e in events or [] if e.verdict == "valid"
        )
        if date is None and hooks is None:
            return ""
        return clocks.verdict([date, hooks], self.settings.webhook_tolerance)[0]

    def _settings_table(self) -> list[tuple[str, str]]:
        """Each TIXALLO_* setting as the report shows it: secrets as fingerprints, keys counted."""
        from tixallo_qa.core.redact import fingerprint
        from tixallo_qa.core.settings import SETTINGS

        rows = []
        for spec in SETTINGS:
            value = getattr(self.settings, spec.attr)
            if isinstance(value, bool):
                shown = "true" if value else "false"
            elif value in (None, (), ""):
                shown = "not set"
            elif spec.kind == "keys":
                first = ", ".join(fingerprint(k) for k in value[:3])
                shown = f"{len(value)} key{'s' if len(value) > 1 else ''}: {first}{', …' if len(value) > 3 else ''}"
            elif spec.secret:
                shown = f"set ({fingerprint(str(value))})"
            else:
                shown = str(value)
            rows.append((spec.env, shown))
        return rows

    def _secrets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.base.secrets, *self.settings.secrets]))

    def _fail(self, phase: PhaseHandle, name: str, exc: BaseException) -> None:
        from tixallo_qa.report import ERROR, Phase

        message = (
            f"{name}: {type(exc).__name__}: {exc}" if str(exc) else f"{name}: {type(exc).__name__}"
        )
        self.record.errors.append(message)
        phase.done(ERROR, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        self.record.phases.append(Phase(name, ERROR, phase.elapsed, phase.note))

    # -- phases ----------------------------------------------------------------------------
    def _start(self, progress: RunProgress) -> bool:
        """Start or attach to the target (and its sink); False when nothing can run."""
        from tixallo_qa.report import PASSED, Phase
        from tixallo_qa.target import Target, TargetError

        with progress.phase("start") as phase:
            try:
                self.target = Target.start(
                    self.base, pool_size=self.args.pool_size, workdir=self.workdir / "target"
                )
            except (TargetError, OSError) as exc:
                self._fail(phase, "start", exc)
                self.codes.append(exc.code if isinstance(exc, TargetError) else EXIT_ERROR)
                if isinstance(exc, TargetError):
                    # The one line (what, where, the fix) where a person looks first.
                    progress.say(f"tixallo-qa run: {str(exc).splitlines()[0]}")
                return False
            self.settings = self.target.settings
            if self.target.embedded:
                self.record.target = self.settings.base_url or self.record.target
                note = (
                    f"embedded reference deployment and sink, {len(self.settings.api_keys)} keys "
                    f"at {self.settings.rate_limit}/min each"
                )
            else:
                note = f"target {self.target.description}"
            phase.done(PASSED, note)
            self.record.phases.append(Phase("start", PASSED, phase.elapsed, note))
            self.record.notes.append(note)
        return True

    def _sink_counter(self, *, creates: bool) -> Callable[[], str] | None:
        """Counts for the progress line, from the sink, since the phase began."""
        sink = self.target.sink if self.target else None
        if sink is None:
            return None
        try:
            first = sink.stats()
        except Exception:  # counts are decoration: a sink that does not answer gets none
            return None
        seq0, marks0 = int(first.get("last_seq") or 0), int(first.get("marks") or 0)

        def count() -> str:
            stats = sink.stats()
            received = f"{int(stats.get('last_seq') or 0) - seq0} webhooks received"
            if not creates:
                return received
            # Marks are the creates the suite told the sink about: each must fire one webhook.
            return f"{int(stats.get('marks') or 0) - marks0} creates, {received}"

        return count

    @property
    def progress_path(self) -> Path:
        """Where the contract suite's child writes its request counts (this run's own folder)."""
        return self.workdir / "contracts-progress.json"

    def _contracts_plan(self) -> Any:
        from tixallo_qa.contracts.plan import contracts_plan

        return contracts_plan(self.contracts_settings, budget=self.args.time_budget)

    def _say_plan(self, progress: RunProgress) -> None:
        """The plan before the wait: requests per phase, keys, the limit, the expected time."""
        from tixallo_qa.core.plan import total_lines

        if self.args.select:
            return  # a selection sends a part the plan cannot size
        plans = [self._contracts_plan()]
        if self._load_refusal() is None:
            with contextlib.suppress(ImportError):  # the load phase reports a broken import
                import dataclasses

                from tixallo_qa.load.options import LoadOptions
                from tixallo_qa.load.plan import load_plan
                from tixallo_qa.load.planning import plan

                changes = dict(self.load_changes)
                if changes.get("rate") is not None:
                    changes["model"] = "open"
                options = dataclasses.replace(
                    LoadOptions(duration=self.args.load_duration), **changes
                )
                keys, limit = len(self.load_settings.api_keys), self.settings.rate_limit
                plans.append(
                    load_plan(
                        options,
                        plan(options, keys, limit),
                        keys,
                        limit,
                        self.settings.webhook_timeout,
                    )
                )
        for line in total_lines(plans):
            progress.say(line)

    def _measure(self, plan: Any) -> Callable[[float], tuple[float, float, str]]:
        """The contract phase's bar: requests done (from the child's progress file), time left."""
        from tixallo_qa.core.plan import progress_text
        from tixallo_qa.core.progress import read_counts

        def measure(elapsed: float) -> tuple[float, float, str]:
            done = read_counts(self.progress_path)
            sent = sum(done.values())
            return sent, max(sent, plan.requests), progress_text(plan, done, elapsed)

        return measure

    def _contracts(self, progress: RunProgress, sigint: threading.Event) -> None:
        from tixallo_qa.report import ERROR, FAILED, PASSED, Phase, checks_from_suite

        settings = self.contracts_settings
        self.current = "contracts"
        with progress.phase(
            "contracts",
            counter=self._sink_counter(creates=True),
            measure=None if self.args.select else self._measure(self._contracts_plan()),
        ) as phase:
            try:
                from tixallo_qa.contracts.runner import run_suite

                self.contracts_junit = self.workdir / "contracts-junit.xml"
                result = run_suite(
                    settings,
                    profile=settings.profile,
                    junit_path=self.contracts_junit,
                    json_path=self.workdir / "contracts.json",
                    select=[n.strip() for n in self.args.select.split(",") if n.strip()]
                    if self.args.select
                    else None,
                    quiet=True,
                    progress_path=self.progress_path,
                    seed=self.args.seed,
                    reruns=self.args.reruns,
                )
                result.checks = self.gate.apply_checks(result.checks)
                self._relabel_junit(result)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                self._fail(phase, "contracts", exc)
                self.codes.append(EXIT_ERROR)
                return
            if sigint.is_set():
                raise KeyboardInterrupt
            checks = checks_from_suite(result)
            self.record.checks = checks
            self.record.seed = result.seed
            self.record.requests_sent = result.requests_sent
            self.record.own_429s = result.own_429s
            self.suite_lags = list(result.webhook_lags)
            errors = list(result.errors)
            if result.infrastructure:
                errors.append(result.infrastructure)
                progress.say(f"tixallo-qa run: {result.infrastructure}")
            self.record.errors += [f"contracts: {e}" for e in errors]
            self.codes.append(result.exit_status)
            if result.exit_status == EXIT_PASSED and self.gate.flaky_fails(checks):
                self.codes.append(EXIT_FAILED)
            counts = {
                o: sum(c.outcome == o for c in checks)
                for o in ("passed", "failed", "flaky", "known", "skipped", "error")
            }
            note = (
                f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
                f"{self.record.requests_sent} requests"
            )
            if counts["error"]:
                note += f"; {counts['error']} not judged (the target went away)"
            if counts["flaky"] or counts["known"]:
                note += f"; {counts['flaky']} flaky, {counts['known']} known (baseline)"
            status = PASSED if counts["failed"] == 0 and not errors and counts["passed"] else FAILED
            if status == FAILED and not counts["failed"] and (errors or counts["error"]):
                status = ERROR
            phase.done(status, note)
            self.record.phases.append(Phase("contracts", status, phase.elapsed, note))

    def _load_refusal(self) -> str | None:
        from tixallo_qa.core.netutil import is_loopback_url

        if self.args.no_load:
            return "load run skipped: --no-load was given"
        url = self.settings.base_url or ""
        if not self.base.embedded and not is_loopback_url(url) and not self.args.allow_remote_load:
            host = urlsplit(url).hostname
            return (
                f"load run skipped: {host} is not a loopback target; pass --allow-remote-load to send it "
                f"a {self.args.load_duration:g} s load run (real traffic, paced at {self.settings.rate_limit}/min per key)"
            )
        return None

    def _load(self, progress: RunProgress, folder: Path) -> None:
        from tixallo_qa.report import FAILED, PASSED, SKIPPED, LoadOutcome, Phase, load_from_result

        refusal = self._load_refusal()
        if refusal is not None:
            self.record.load = LoadOutcome(ran=False, skipped_reason=refusal)
            self.record.phases.append(Phase("load", SKIPPED, 0.0, refusal))
            progress.say(refusal)
            return
        duration = self.args.load_duration
        report_dir = folder / "load"
        report_dir.mkdir(exist_ok=True)
        self.current = "load"
        with progress.phase(
            "load", total=duration, counter=self._sink_counter(creates=False)
        ) as phase:
            try:
                from tixallo_qa.load.runner import run_load

                result = run_load(
                    self.load_settings,
                    report_dir=report_dir,
                    allow_remote=self.args.allow_remote_load,
                    quiet=True,
                    duration=duration,
                    **self.load_changes,
                )
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                from tixallo_qa.load.safety import LoadRefusedError

                self.record.load = LoadOutcome(ran=False, error=f"{type(exc).__name__}: {exc}")
                self._fail(phase, "load", exc)
                refused = isinstance(exc, LoadRefusedError)
                self.codes.append(EXIT_USAGE if refused else getattr(exc, "code", EXIT_ERROR))
                return
            outcome = load_from_result(result, report_dir, phase.elapsed)
            outcome.slos = self.gate.apply_slos(outcome.slos)
            if outcome.exit_code == EXIT_FAILED and not any(s.failed for s in outcome.slos):
                outcome.exit_code = EXIT_PASSED  # every breach is a known one
            self.record.load = outcome
            self.codes.append(outcome.exit_code if outcome.exit_code is not None else EXIT_ERROR)
            breached = sum(s.passed is False for s in outcome.slos)
            met = sum(s.passed is True for s in outcome.slos)
            note = f"{met} SLOs met, {breached} breached; exit code {outcome.exit_code}"
            status = PASSED if outcome.passed else FAILED
            phase.done(status, note)
            self.record.phases.append(Phase("load", status, phase.elapsed, note))

    def _plan_pool(self) -> None:
        """Split the key pool: the load run gets keys the contract suite never touches (fresh budgets)."""
        settings = self.settings
        self.contracts_settings = self.load_settings = settings
        self.load_changes = {}
        keys = settings.api_keys
        if self._load_refusal() is not None or settings.rate_limit <= 0 or not keys:
            return
        try:
            from tixallo_qa.load.options import LoadOptions
            from tixallo_qa.load.planning import plan
        except ImportError:
            return  # the load phase reports the broken import itself
        needed = plan(
            LoadOptions(duration=self.args.load_duration), len(keys), settings.rate_limit
        ).keys_needed
        share = math.ceil(needed * LOAD_KEY_MARGIN)
        assert self.target is not None
        split = self.target.split_keys(share, keep=MIN_CONTRACT_KEYS + 1)
        if split is not None:
            self.contracts_settings, self.load_settings = split
            self.record.notes.append(
                f"key pool of {len(keys)}: {len(keys) - share} for the contract suite, {share} for the load run"
            )
            return
        # Too few keys to split: share them, at an arrival rate the pool allows.
        rate = RATE_SHARE * len(keys) * settings.rate_limit / WINDOW
        self.load_changes = {"rate": rate}
        self.record.notes.append(
            f"{len(keys)} keys cannot carry the default closed load model ({needed} needed): the load run used "
            f"an open model at {rate:.1f} req/s; add keys to TIXALLO_API_KEY for more"
        )

    # -- after the phases ------------------------------------------------------------------
    def _collect_events(self) -> list[Any] | None:
        """This run's events from the sink (before it stops), and the webhook lags they carry."""
        sink = self.target.sink if self.target else None
        if sink is None or self.target is None:
            self.record.webhook_lags = self.suite_lags
            return None
        events: list[Any] = []
        since = self.target.baseline
        try:
            while True:
                page = sink.events(since=since, limit=EVENTS_PAGE)
                events += page
                if len(page) < EVENTS_PAGE:
                    break
                since = page[-1].seq
        except Exception as exc:  # the export is best effort: the run's verdict does not rest on it
            self.record.notes.append(f"the sink's events could not be exported: {exc}")
        from tixallo_qa.core.events import accepted, event_key

        first: dict[str | None, float] = {}
        verdicts: dict[str, int] = {}
        for e in events:
            verdicts[e.verdict] = verdicts.get(e.verdict, 0) + 1
            if accepted(e.verdict, e.status) and e.lag is not None:
                key = event_key(e.event_type, e.ticket_id, e.message_id)
                first[key] = min(first.get(key, e.lag), e.lag)
        self.record.webhook_verdicts = verdicts
        self.record.webhook_lags = list(first.values()) or self.suite_lags
        return events

    def _stop(self) -> None:
        if self.target is not None:
            self.target.stop()
