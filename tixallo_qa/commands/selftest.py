"""``tixallo-qa selftest``: plant every catalogued fault, measure our kill rate beside plain schemathesis."""

from __future__ import annotations

import argparse
import sys


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (0.95 = 95%)")
    return value


def _whole(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} must be at least {least}")
    return value


def _positive_int(text: str) -> int:
    return _whole(text, 1)


def _count(text: str) -> int:
    return _whole(text, 0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.core.exitcodes import epilog

    parser.epilog = epilog()
    what = parser.add_argument_group("which faults")
    what.add_argument("--faults", metavar="A,B,C", help="only these faults (comma-separated names)")
    what.add_argument("--family", metavar="FAMILY", help="only the faults of this catalogue family")
    what.add_argument(
        "--quick",
        action="store_true",
        help="the CI subset: one fault per family and the faithful deployment",
    )
    what.add_argument(
        "--no-plain", action="store_true", help="skip the plain schemathesis comparison"
    )
    how = parser.add_argument_group("how")
    how.add_argument("--jobs", type=_positive_int, default=2, help="faults run at once (default 2)")
    how.add_argument(
        "--load-jobs",
        type=_count,
        default=0,
        help="load runs at once in a lane beside --jobs (default 0: they take the --jobs slots; "
        "a busier machine makes their latency gates noisier)",
    )
    how.add_argument(
        "--every-check",
        action="store_true",
        help="run every check against every fault, not only until the first that fails "
        "(slower; the report then names every check that catches each fault)",
    )
    how.add_argument(
        "--min-kill-rate",
        type=_fraction,
        default=0.95,
        help="exit 1 below this share of faults caught (default 0.95)",
    )
    how.add_argument(
        "--profile",
        choices=("smoke", "standard", "thorough"),
        default=None,
        help="contract suite profile (default smoke)",
    )
    how.add_argument(
        "--plain-max-examples",
        type=_positive_int,
        default=None,
        help="plain schemathesis --max-examples (default 25)",
    )
    how.add_argument(
        "--load-seconds",
        type=_seconds,
        default=None,
        help="length of each load run, for load faults and the faithful deployment (default 15)",
    )
    how.add_argument(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="parent of the report folder selftest-<timestamp>/ (default reports)",
    )


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from rich.console import Console

    from tixallo_qa.core.redact import Redactor
    from tixallo_qa.selftest import Budgets, PlanError, SelftestOptions, run_selftest, select_faults
    from tixallo_qa.selftest._console import print_result
    from tixallo_qa.selftest._report import write_report

    names = [n.strip() for n in (args.faults or "").split(",") if n.strip()]
    try:
        faults = select_faults(names, args.family, quick=args.quick)
    except PlanError as exc:
        print(f"tixallo-qa selftest: {exc}", file=sys.stderr)
        return 2
    changes = {
        "profile": args.profile,
        "plain_max_examples": args.plain_max_examples,
        "load_seconds": args.load_seconds,
        "first_failure": False if args.every_check else None,
    }
    budgets = dataclasses.replace(Budgets(), **{k: v for k, v in changes.items() if v is not None})
    options = SelftestOptions(
        faults=faults,
        budgets=budgets,
        jobs=args.jobs,
        load_jobs=args.load_jobs,
        plain=not args.no_plain,
        min_kill_rate=args.min_kill_rate,
        report_root=Path(args.report_dir),
    )
    # In CI logs (no terminal) wide enough that each table row stays on one line.
    console = Console() if Console().is_terminal else Console(width=200)
    # Progress lines are plain prints: one line per finished job, never wrapped.
    result, folder, secrets = run_selftest(options, say=lambda line: print(line, flush=True))
    print_result(result, console, Redactor(secrets))
    paths = write_report(result, folder, secrets)
    console.print(
        f"report: {paths['selftest.html']} (also selftest.md, selftest.json)", highlight=False
    )
    return result.exit_code
