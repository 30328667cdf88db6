"""From the tools' own results (contracts' SuiteResult, load's LoadResult) to the report's model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tixallo_qa.contracts._results import CheckResult, SuiteResult

from ._model import LoadOutcome

if TYPE_CHECKING:
    from tixallo_qa.load.runner import LoadResult

# Files of the load run the report links to; SVGs are also embedded.
LINKED_SUFFIXES = (".html", ".csv", ".json", ".svg")


def checks_from_suite(result: SuiteResult) -> list[CheckResult]:
    """The suite's per-check results."""
    return list(result.checks)


def load_from_result(result: LoadResult, report_dir: Path, duration: float) -> LoadOutcome:
    """The load phase as the report shows it: SLO rows, charts to embed, files to link."""
    named = [p for p in result.paths.values() if p.is_file()]
    found = [p for p in sorted(report_dir.rglob("*")) if p.is_file()] if report_dir.is_dir() else []
    files = list(dict.fromkeys([*found, *named]))
    return LoadOutcome(
        ran=True,
        exit_code=result.exit_code,
        duration=duration,
        slos=list(result.rows),
        summary=dict(result.summary),
        charts=[p for p in files if p.suffix == ".svg"],
        files=[p for p in files if p.suffix in LINKED_SUFFIXES],
        error=str(result.summary.get("error", "")),
    )
