"""``tixallo-qa contracts``: run the contract suite and print a per-check verdict."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import TYPE_CHECKING, Any

from tixallo_qa.core import settings as _settings

if TYPE_CHECKING:
    from tixallo_qa.contracts._results import SuiteResult

STYLE = {
    "passed": "green",
    "failed": "bold red",
    "flaky": "yellow",
    "known": "cyan",
    "skipped": "yellow",
    "error": "bold magenta",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.core.exitcodes import epilog
    from tixallo_qa.core.plan import DEFAULT_BUDGET

    parser.epilog = epilog()
    _settings.add_arguments(parser)
    group = parser.add_argument_group("contract suite")
    group.add_argument("--junit", metavar="PATH", help="write JUnit XML here (for CI)")
    group.add_argument(
        "--json", action="store_true", help="print the result as JSON instead of the table"
    )
    group.add_argument("--json-file", metavar="PATH", help="also write the result as JSON here")
    group.add_argument(
        "--select",
        metavar="NAMES",
        help="run only these checks or families, comma-separated (e.g. webhooks,auth)",
    )
    group.add_argument(
        "--shared-webhook-endpoint",
        action="store_true",
        help="the sink's endpoint also receives events the suite did not cause: skip the no-unexpected-events check",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="stream pytest's own output while the suite runs",
    )
    from tixallo_qa.gate import add_arguments as gate_arguments

    gate_arguments(parser)
    group.add_argument(
        "--time-budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help="the plan says how many keys would bring the run under this "
        f"(default {DEFAULT_BUDGET:g})",
    )


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from rich.console import Console

    from tixallo_qa.contracts.plan import contracts_plan
    from tixallo_qa.contracts.runner import run_suite
    from tixallo_qa.core import plan as _plan
    from tixallo_qa.core.progress import read_counts
    from tixallo_qa.gate import load_gate
    from tixallo_qa.report import RunProgress

    settings = _settings.from_args(args)
    if args.reruns < 0:
        raise _settings.SettingsError(f"--reruns {args.reruns}: use 0 or more")
    gate = load_gate(args.baseline, fail_on_flaky=args.fail_on_flaky)
    select = [s.strip() for s in (args.select or "").split(",") if s.strip()] or None
    err = Console(stderr=True, highlight=False)
    plan = contracts_plan(settings, budget=args.time_budget)
    if settings.embedded:
        plan_lines = ["contracts: the embedded reference deployment, its keys paced per key"]
    else:
        # Before the wait: what will be sent, and what more keys would change.
        plan_lines = plan.lines()
    if select is None:
        for line in plan_lines:
            err.print(line, soft_wrap=True)
    with tempfile.TemporaryDirectory(prefix="tixallo-contracts-progress-") as tmp:
        progress_path = Path(tmp) / "progress.json"

        def measure(elapsed: float) -> tuple[float, float, str]:
            done = read_counts(progress_path)
            sent = sum(done.values())
            return sent, max(sent, plan.requests), _plan.progress_text(plan, done, elapsed)

        with (
            RunProgress(err, quiet=args.verbose) as progress,
            progress.phase("contracts", measure=measure if select is None else None) as phase,
        ):
            result = run_suite(
                settings,
                junit_path=args.junit,
                json_path=args.json_file,
                select=select,
                quiet=not args.verbose,
                shared_webhook_endpoint=args.shared_webhook_endpoint,
                progress_path=progress_path,
                seed=args.seed,
                reruns=args.reruns,
            )
            result.checks = gate.apply_checks(result.checks)
            if args.junit and gate.judgement is not None:
                from tixallo_qa.contracts.runner import relabel_junit

                known = {
                    c.nodeid: ("skipped", c.note) for c in result.checks if c.outcome == "known"
                }
                relabel_junit(args.junit, known)
            if args.json_file:
                result.write(args.json_file)
            phase.done("error" if result.infrastructure else ("passed" if result.ok else "failed"))
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_result(result)
    for line in gate.lines():
        err.print(line, soft_wrap=True)
    if result.infrastructure:
        # The one line (what, where, the fix), last, where a person and a CI log look.
        print(f"tixallo-qa contracts: {result.infrastructure}", file=sys.stderr)
    if result.exit_status == 0 and gate.flaky_fails(result.checks):
        return 1
    return result.exit_status


def _first_line(text: str, limit: int = 110) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def print_result(result: SuiteResult) -> None:
    """The friendly table: one row per check, then each failure in full."""
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    console = Console()
    if not result.checks:
        return _print_broken(console, result)
    table = Table(
        title=f"Contract checks ({result.profile} profile) against {result.target or 'the target'}",
        title_justify="left",
    )
    table.add_column("family")
    table.add_column("check")
    table.add_column("result")
    table.add_column("why", overflow="fold")
    for check in sorted(result.checks, key=lambda c: (c.family, c.name)):
        why = _first_line(check.explained) if check.outcome != "passed" else ""
        table.add_row(
            escape(check.family),
            escape(check.name),
            f"[{STYLE[check.outcome]}]{check.outcome}[/]",
            escape(why),
        )
    console.print(table)
    for check in result.failed():
        console.print(
            Panel(
                check.explained,
                title=f"[bold red]FAILED[/] {escape(check.family)} / {escape(check.name)}",
                title_align="left",
                expand=True,
            ),
            markup=False,
            highlight=False,
        )
    for error in result.errors:
        console.print(
            Panel(error, title="[bold red]the run broke[/]", title_align="left"),
            markup=False,
            highlight=False,
        )
    counts = result.counts
    summary = f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped in {result.duration:.1f} s; {result.requests_sent} requests sent"
    if counts["error"]:
        summary = f"{counts['error']} not judged (the target went away), " + summary
    by_identity = ", ".join(f"{k}: {v}" for k, v in sorted(result.requests_by_identity.items()))
    if by_identity:
        summary += f" ({by_identity})"
    if result.own_429s:
        summary += f", {result.own_429s} own 429s waited out"
    if result.webhook_lags:
        from tixallo_qa.core.histogram import percentile

        lags = sorted(result.webhook_lags)
        p95 = percentile(lags, 95)
        summary += f"; webhook lag median {statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms ({len(lags)} events)"
    verdict = (
        "[bold green]PASS[/]"
        if result.ok
        else "[bold magenta]NOT JUDGED[/]"
        if result.exit_status != 1 and (result.infrastructure or result.counts["error"])
        else "[bold red]FAIL[/]"
    )
    console.print(f"{verdict} {summary}")
    if result.junit_path:
        console.print(f"JUnit XML: {result.junit_path}")


def _print_broken(console: Any, result: SuiteResult) -> None:
    """No check ran: say why in a line, not an empty table."""
    from rich.markup import escape

    for error in result.errors:
        console.print(escape(error), highlight=False)
    if result.infrastructure:
        console.print(f"[bold magenta]NOT JUDGED[/] no check ran in {result.duration:.1f} s")
    elif not result.errors:
        console.print("[bold yellow]NOTHING RAN[/] no check was collected or selected")
