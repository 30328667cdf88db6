"""The selftest table and summary as text: cells, Markdown and the lines the console prints."""

from __future__ import annotations

from collections.abc import Sequence

from tixallo_qa.selftest._killrate import by_family, families, kill_rate, only_ours
from tixallo_qa.selftest._limits import KNOWN_LIMITS
from tixallo_qa.selftest._model import CAUGHT, CLEAN, OURS, PLAIN, FaultRow, Verdict
from tixallo_qa.selftest._result import SelftestResult

MAX_CHECKS_SHOWN = 4
LABEL_PREFIX = "Planted bug: "


def short_label(label: str) -> str:
    return label[len(LABEL_PREFIX) :] if label.startswith(LABEL_PREFIX) else label


def verdict_cell(verdict: Verdict | None, *, limit: int = MAX_CHECKS_SHOWN) -> str:
    """``caught: check-a, check-b (+3 more)``, ``missed``, ``not run``."""
    if verdict is None:
        return "not run"
    if not verdict.checks:
        return verdict.status
    shown = ", ".join(verdict.checks[:limit])
    more = len(verdict.checks) - limit
    return f"{verdict.status}: {shown}" + (f" (+{more} more)" if more > 0 else "")


def table_rows(result: SelftestResult) -> list[tuple[str, str, str, str, str]]:
    """(fault, family, ours, plain, label) per fault, in catalogue order."""
    return [
        (r.fault, r.family, verdict_cell(r.ours), verdict_cell(r.plain), short_label(r.label))
        for r in result.rows
    ]


def headline(result: SelftestResult) -> list[str]:
    """The verdict lines: kill rates, the faithful result, the wall time, pass or fail."""
    ours, plain = kill_rate(result.rows, OURS), kill_rate(result.rows, PLAIN)
    lines = [
        f"Kill rate, ours: {ours.text()} (needs >= {result.min_kill_rate * 100:.0f}%)",
        f"Kill rate, plain schemathesis: {plain.text()}",
    ]
    gained = only_ours(result.rows)
    if gained:
        lines.append(f"Caught by ours and missed by plain schemathesis: {len(gained)}")
    faithful = result.faithful
    if faithful is None:
        lines.append("Faithful deployment: not run")
    else:
        lines.append(f"Faithful deployment, ours: {verdict_cell(faithful.ours)}")
        lines.append(f"Faithful deployment, plain schemathesis: {verdict_cell(faithful.plain)}")
    lines.append(f"Wall time: {result.wall_time:.0f} s with {result.jobs} jobs at a time")
    lines.append("SELFTEST PASSED" if result.passed else "SELFTEST FAILED")
    return lines


def family_rows(rows: Sequence[FaultRow]) -> list[tuple[str, str, str]]:
    """(family, ours, plain) kill rates per family, then the overall row."""
    ours, plain = by_family(rows, OURS), by_family(rows, PLAIN)
    out = [(f, ours[f].text(), plain[f].text()) for f in families(rows)]
    out.append(("all", kill_rate(rows, OURS).text(), kill_rate(rows, PLAIN).text()))
    return out


def missed_lines(rows: Sequence[FaultRow]) -> list[str]:
    """One line per fault ours did not catch: the verdict, why, and the known limit if there is one."""
    lines = []
    for r in rows:
        if r.ours.status == CAUGHT:
            continue
        why = KNOWN_LIMITS.get(r.fault)
        text = f"{r.fault} ({r.family}): {r.ours.status}"
        if r.ours.detail:
            text += f" ({r.ours.detail})"
        text += f"; known limit: {why}" if why else "; no known limit recorded: a gap to fix"
        lines.append(text)
    return lines


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def markdown(result: SelftestResult) -> str:
    """The whole report as Markdown (``selftest.md``)."""
    out = [f"# tixallo-qa selftest ({result.started_at})", ""]
    out += [f"- {line}" for line in headline(result)]
    out += ["", "## Kill rate per family", ""]
    out += _md_table(("family", "ours", "plain schemathesis"), family_rows(result.rows))
    out += ["", "## Faults", ""]
    out += _md_table(("fault", "family", "ours", "plain schemathesis", "label"), table_rows(result))
    if result.faithful is not None:
        f = result.faithful
        out += ["", "## Faithful deployment", ""]
        out += _md_table(
            ("tool", "verdict", "detail"),
            [
                ("ours", verdict_cell(f.ours, limit=20), f.ours.detail),
                (
                    "plain schemathesis",
                    verdict_cell(f.plain, limit=20),
                    f.plain.detail if f.plain else "",
                ),
            ],
        )
    missed = missed_lines(result.rows)
    out += ["", "## Not caught by ours", ""]
    out += [f"- {line}" for line in missed] or ["- none"]
    out += ["", "## Budgets", ""]
    out += [f"- {tool}: {text}" for tool, text in result.budgets.items()]
    if result.notes:
        out += ["", "## Notes", ""]
        out += [f"- {n}" for n in result.notes]
    return "\n".join(out) + "\n"


def status_style(status: str) -> str:
    """A rich style per verdict (green is good news for the side it describes)."""
    return {CAUGHT: "green", CLEAN: "green"}.get(
        status, "bold red" if status != "missed" else "yellow"
    )
