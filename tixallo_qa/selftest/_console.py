"""Prints the selftest table and its summary to the terminal (rich), secrets redacted."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tixallo_qa.core.redact import Redactor
from tixallo_qa.selftest._render import (
    family_rows,
    headline,
    missed_lines,
    status_style,
    table_rows,
)
from tixallo_qa.selftest._result import SelftestResult


def _styled(cell: str) -> str:
    status = cell.split(":", 1)[0]
    return f"[{status_style(status)}]{escape(cell)}[/]"


def print_result(result: SelftestResult, console: Console, redactor: Redactor) -> None:
    """The fault table, the kill rate per family, the misses, and the verdict lines."""

    def r(text: str) -> str:
        return redactor.text(text)

    table = Table(title="Planted faults: ours vs plain schemathesis", title_justify="left")
    for name in ("fault", "family", "ours", "plain st", "label"):
        table.add_column(name, overflow="fold")
    for fault, family, ours, plain, label in table_rows(result):
        table.add_row(
            escape(fault), escape(family), _styled(r(ours)), _styled(r(plain)), escape(r(label))
        )
    console.print(table)
    per_family = Table(title="Kill rate per family", title_justify="left")
    for name in ("family", "ours", "plain st"):
        per_family.add_column(name)
    for row in family_rows(result.rows):
        per_family.add_row(*(escape(c) for c in row))
    console.print(per_family)
    for line in missed_lines(result.rows):
        console.print(f"[yellow]not caught:[/] {escape(r(line))}")
    for note in result.notes:
        console.print(f"[cyan]note:[/] {escape(r(note))}")
    for line in headline(result):
        style = (
            "bold green"
            if line == "SELFTEST PASSED"
            else "bold red"
            if line == "SELFTEST FAILED"
            else ""
        )
        console.print(
            f"[{style}]{escape(r(line))}[/]" if style else escape(r(line)), highlight=False
        )
