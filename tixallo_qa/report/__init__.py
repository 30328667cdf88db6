"""The run report: a self-contained HTML page, merged JUnit, the sink's events as JSON lines."""

from __future__ import annotations

from ._adapters import checks_from_suite, load_from_result
from ._console import print_summary
from ._folder import new_run_folder, scrub_folder
from ._html import render_html
from ._junit import merged_junit
from ._model import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    LoadOutcome,
    Phase,
    RunRecord,
    record_to_json,
)
from ._progress import PhaseHandle, RunProgress
from ._sample import SAMPLE_SECRETS, sample_record
from ._writer import ReportFiles, write_report

__all__ = [
    "ERROR",
    "FAILED",
    "PASSED",
    "SAMPLE_SECRETS",
    "SKIPPED",
    "LoadOutcome",
    "Phase",
    "PhaseHandle",
    "ReportFiles",
    "RunProgress",
    "RunRecord",
    "checks_from_suite",
    "load_from_result",
    "merged_junit",
    "new_run_folder",
    "print_summary",
    "record_to_json",
    "render_html",
    "sample_record",
    "scrub_folder",
    "write_report",
]
