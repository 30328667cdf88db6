"""The end-of-run summary in the terminal: phases, failures, SLO breaches, the verdict, the report path."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tixallo_qa.core.exitcodes import MEANING

from ._html import format_duration
from ._model import FAILED, PASSED, SKIPPED, RunRecord

STYLE = {
    PASSED: "green",
    FAILED: "bold red",
    SKIPPED: "yellow",
    "error": "bold red",
    "interrupted": "bold red",
}
# A long failure list would push the verdict off the screen; the report has them all.
SHOWN_FAILURES = 10


def print_summary(console: Console, record: RunRecord, index: Path | None) -> None:
    """Print the summary table and the verdict line."""
    table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("phase")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("result", overflow="fold")
    for phase in record.phases:
        table.add_row(
            phase.name,
            Text(phase.status, style=STYLE.get(phase.status, "")),
            format_duration(phase.duration),
            phase.note,
        )
    console.print(table)
    failures = record.failures
    if failures:
        console.print(Text(f"\nFailed checks ({len(failures)}):", style="bold red"))
        for check in failures[:SHOWN_FAILURES]:
            head = check.message.strip().splitlines()[0] if check.message.strip() else "failed"
            console.print(
                Text.assemble("  ✗ ", (check.name, "bold"), f" [{check.family}] ", head),
                soft_wrap=True,
            )
        if len(failures) > SHOWN_FAILURES:
            console.print(f"  … and {len(failures) - SHOWN_FAILURES} more in the report")
    for outcome, what in (
        ("flaky", "Flaky (failed, then passed on a re-run)"),
        ("known", "Known (baseline)"),
    ):
        marked = [c for c in record.checks if c.outcome == outcome]
        if marked:
            console.print(Text(f"\n{what}: {len(marked)}", style="yellow"))
            for check in marked[:SHOWN_FAILURES]:
                console.print(
                    Text.assemble("  ~ ", (check.name, "bold"), f" [{check.family}]"),
                    soft_wrap=True,
                )
    load = record.load
    if load is not None and load.ran:
        breached = [s for s in load.slos if s.passed is False]
        for slo in breached:
            console.print(
                Text.assemble(
                    "  ✗ SLO ",
                    (slo.slo, "bold"),
                    f": measured {slo.shown}, threshold {slo.threshold}",
                ),
                soft_wrap=True,
            )
    for line in record.baseline:
        console.print(Text(line, style="cyan"), soft_wrap=True)
    for error in record.errors:
        console.print(Text(f"  error: {error.splitlines()[0]}", style="red"), soft_wrap=True)
    skips = record.skips
    if skips:
        settings = sorted({s for c in skips for s in c.enabled_by})
        hint = f" (set {', '.join(settings)} to run them)" if settings else ""
        console.print(Text(f"{len(skips)} checks skipped{hint}", style="yellow"), soft_wrap=True)
    if record.clock:
        console.print(Text(f"clocks: {record.clock}", style="dim"), soft_wrap=True)
    console.print(
        Text.assemble(
            (f"\n{record.badge}", "bold green" if record.passed else "bold red"),
            f"  {record.headline()} in {format_duration(record.duration)}",
            (f"  (exit code {record.exit_code}: {MEANING.get(record.exit_code, '')})", "dim"),
        ),
        soft_wrap=True,
    )
    if index is not None:
        console.print(Text.assemble("report: ", (str(index), "bold")), soft_wrap=True)
