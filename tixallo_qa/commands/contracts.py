"""``tixallo-qa contracts``: run the contract suite and print a per-check verdict."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import TYPE_CHECKING

from tixallo_qa.core import settings as _settings

if TYPE_CHECKING:
    from tixallo_qa.contracts._results import SuiteResult

STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from tixallo_qa.contracts.runner import run_suite

    settings = _settings.from_args(args)
    select = [s.strip() for s in (args.select or "").split(",") if s.strip()] or None
    result = run_suite(
        settings,
        junit_path=args.junit,
        json_path=args.json_file,
        select=select,
        quiet=not args.verbose,
        shared_webhook_endpoint=args.shared_webhook_endpoint,
    )
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_result(result)
    return 0 if result.ok else 1


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
    table = Table(
        title=f"Contract checks ({result.profile} profile) against {result.target or 'the target'}",
        title_justify="left",
    )
    table.add_column("family")
    table.add_column("check")
    table.add_column("result")
    table.add_column("why", overflow="fold")
    for check in sorted(result.checks, key=lambda c: (c.family, c.name)):
        why = _first_line(check.message) if check.outcome != "passed" else ""
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
                check.message,
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
    by_identity = ", ".join(f"{k}: {v}" for k, v in sorted(result.requests_by_identity.items()))
    if by_identity:
        summary += f" ({by_identity})"
    if result.own_429s:
        summary += f", {result.own_429s} own 429s waited out"
    if result.webhook_lags:
        lags = sorted(result.webhook_lags)
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
        summary += f"; webhook lag median {statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms ({len(lags)} events)"
    verdict = "[bold green]PASS[/]" if result.ok else "[bold red]FAIL[/]"
    console.print(f"{verdict} {summary}")
    if result.junit_path:
        console.print(f"JUnit XML: {result.junit_path}")
