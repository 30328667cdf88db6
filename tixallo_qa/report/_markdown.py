"""The job-page summary: verdict, failures with their one-line reasons, the load SLO table, links.

Written as ``summary.md`` into the report folder and appended to ``$GITHUB_STEP_SUMMARY`` when
the run is a GitHub Actions step (GitLab shows the same file as an artifact).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._html import format_duration
from ._model import RunRecord

SHOWN = 20
LINKED = ("index.html", "junit.xml", "summary.json", "webhooks.jsonl", "load/locust.html")


def _cell(text: str) -> str:
    """Text safe inside a table cell or list item: no HTML, no column breaks, one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _reason(message: str) -> str:
    first = next((line.strip() for line in message.splitlines() if line.strip()), "failed")
    return first if len(first) <= 200 else first[:199] + "…"


def render_markdown(record: RunRecord, folder: Path) -> str:
    """The summary as Markdown; links are relative to the report folder."""
    icon = "✅" if record.passed else "❌"
    verdict = "PASSED" if record.passed else ("INTERRUPTED" if record.interrupted else "FAILED")
    lines = [
        f"## {icon} tixallo-qa: {verdict}",
        "",
        f"{record.headline()} in {format_duration(record.duration)} against "
        f"`{_cell(record.target)}` (profile `{record.profile}`).",
        "",
    ]
    failures = record.failures
    if failures:
        lines += [f"### Failed checks ({len(failures)})", ""]
        lines += [
            f"- **{_cell(c.name)}** [{c.family}]: {_cell(_reason(c.message))}"
            for c in failures[:SHOWN]
        ]
        if len(failures) > SHOWN:
            lines.append(f"- … and {len(failures) - SHOWN} more in the report")
        lines.append("")
    for outcome, what in (
        ("flaky", "Flaky (failed, then passed on a re-run)"),
        ("known", "Known failures (baseline)"),
    ):
        marked = [c for c in record.checks if c.outcome == outcome]
        if marked:
            lines += [f"### {what} ({len(marked)})", ""]
            lines += [
                f"- {_cell(c.name)} [{c.family}]: {_cell(_reason(c.explained))}"
                for c in marked[:SHOWN]
            ]
            lines.append("")
    if record.baseline:
        lines += ["### Baseline", "", *(f"- {_cell(b.strip())}" for b in record.baseline), ""]
    for error in record.errors:
        lines.append(f"- error: {_cell(_reason(error))}")
    if record.errors:
        lines.append("")
    load = record.load
    if load is not None and load.ran and load.slos:
        lines += [
            "### Load SLOs",
            "",
            "| SLO | threshold | measured | verdict |",
            "|---|---|---|---|",
        ]
        for s in load.slos:
            mark = {True: "✅", False: "❌", None: "n/a"}[s.passed]
            lines.append(f"| {_cell(s.slo)} | {_cell(s.threshold)} | {_cell(s.shown)} | {mark} |")
        lines.append("")
    elif load is not None and not load.ran and load.skipped_reason:
        lines += [f"Load: {_cell(load.skipped_reason)}", ""]
    # index.html is written last, from every other file of the folder.
    links = [n for n in LINKED if n == "index.html" or (folder / n).is_file()]
    if links:
        lines.append(
            f"Report folder `{_cell(str(folder))}`: " + " · ".join(f"[{n}]({n})" for n in links)
        )
    return "\n".join(lines).rstrip() + "\n"


def write_step_summary(text: str) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when that is set; returns the file."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return path
