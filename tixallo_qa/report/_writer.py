"""Writes the report folder: index.html, junit.xml, webhooks.jsonl, summary.json."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core.redact import Redactor

from ._events import write_events_jsonl
from ._folder import check_file, scrub_folder
from ._html import Chart, render_html
from ._junit import merged_junit
from ._markdown import render_markdown, write_step_summary
from ._model import RunRecord, record_to_json
from ._svg import inline_svg


@dataclass
class ReportFiles:
    """Where the report went, and any file that had to be scrubbed of a secret."""

    folder: Path
    index: Path
    junit: Path
    webhooks: Path | None
    summary: Path
    markdown: Path
    scrubbed: list[Path] = field(default_factory=list)


def _charts(record: RunRecord, redactor: Redactor) -> list[Chart]:
    charts: list[Chart] = []
    for i, path in enumerate(record.load.charts if record.load is not None else []):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        svg = inline_svg(redactor.text(text), prefix=f"chart{i}")
        if svg:
            title = path.stem.replace("_", " ").replace("-", " ")
            charts.append(Chart(title[:1].upper() + title[1:], svg))
    return charts


def write_check_files(record: RunRecord, folder: Path, redactor: Redactor) -> None:
    """One JSON file per check that did not pass: the message, and every exchange whole."""
    for check in record.checks:
        if check.outcome not in ("failed", "flaky", "known"):
            continue
        path = check_file(folder, check.name)
        path.parent.mkdir(exist_ok=True)
        data = {**dataclasses.asdict(check), "seed": record.seed, "profile": record.profile}
        path.write_text(redactor.text(json.dumps(data, indent=2)), encoding="utf-8")


def write_report(
    record: RunRecord,
    folder: Path,
    *,
    secrets: Iterable[str],
    contracts_junit: Path | None = None,
    events: Iterable[Any] | None = None,
) -> ReportFiles:
    """Write every file of the report into ``folder`` (which exists) and scrub it of ``secrets``."""
    secrets = tuple(s for s in secrets if s)
    redactor = Redactor(secrets)
    junit = folder / "junit.xml"
    junit.write_text(redactor.text(merged_junit(record, contracts_junit)), encoding="utf-8")
    webhooks: Path | None = None
    if events is not None:
        webhooks = folder / "webhooks.jsonl"
        write_events_jsonl(events, webhooks, redactor)
    summary = folder / "summary.json"
    summary.write_text(
        redactor.text(json.dumps(record_to_json(record), indent=2)), encoding="utf-8"
    )
    write_check_files(record, folder, redactor)
    markdown = folder / "summary.md"
    text = redactor.text(render_markdown(record, folder))
    markdown.write_text(text, encoding="utf-8")
    write_step_summary(text)
    index = folder / "index.html"
    files = sorted({*(p for p in folder.rglob("*") if p.is_file()), index})
    index.write_text(
        render_html(
            record, charts=_charts(record, redactor), files=files, folder=folder, redactor=redactor
        ),
        encoding="utf-8",
    )
    scrubbed = scrub_folder(folder, secrets)
    return ReportFiles(folder, index, junit, webhooks, summary, markdown, scrubbed)
