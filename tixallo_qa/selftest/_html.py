"""A small self-contained HTML page of the selftest: no scripts, no external files."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tixallo_qa.selftest._render import family_rows, headline, missed_lines, table_rows
from tixallo_qa.selftest._result import SelftestResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f24}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.caught,.clean{color:#1a7f37}.missed{color:#9a6700}.error,.false{color:#cf222e;font-weight:600}
.pass{color:#1a7f37}.fail{color:#cf222e}li{margin:.2em 0}
"""


def _cls(cell: str) -> str:
    word = cell.split(":", 1)[0].split(" ", 1)[0]
    return word if word in ("caught", "clean", "missed", "error", "false") else ""


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], coloured: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = f' class="{_cls(cell)}"' if i in coloured and _cls(cell) else ""
            cells.append(f"<td{cls}>{escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(result: SelftestResult) -> str:
    """The page: verdict lines, kill rate per family, the fault table, misses, budgets."""
    verdict = "pass" if result.passed else "fail"
    lines = "".join(f"<li>{escape(line)}</li>" for line in headline(result))
    missed = (
        "".join(f"<li>{escape(line)}</li>" for line in missed_lines(result.rows)) or "<li>none</li>"
    )
    budgets = "".join(
        f"<li><b>{escape(tool)}</b>: {escape(text)}</li>" for tool, text in result.budgets.items()
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    faithful = ""
    if result.faithful is not None:
        f = result.faithful
        faithful = "<h2>Faithful deployment</h2>" + _table(
            ("tool", "verdict", "detail"),
            [
                ("ours", f.ours.status, f.ours.detail),
                (
                    "plain schemathesis",
                    f.plain.status if f.plain else "not run",
                    f.plain.detail if f.plain else "",
                ),
            ],
            coloured=(1,),
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>tixallo-qa selftest {escape(result.started_at)}</title><style>{_CSS}</style></head><body>"
        f'<h1 class="{verdict}">tixallo-qa selftest: {verdict.upper()}</h1><ul>{lines}</ul>'
        "<h2>Kill rate per family</h2>"
        + _table(("family", "ours", "plain schemathesis"), family_rows(result.rows))
        + "<h2>Faults</h2>"
        + _table(
            ("fault", "family", "ours", "plain schemathesis", "label"),
            table_rows(result),
            coloured=(2, 3),
        )
        + faithful
        + f"<h2>Not caught by ours</h2><ul>{missed}</ul><h2>Budgets</h2><ul>{budgets}</ul>"
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
        + "</body></html>\n"
    )
