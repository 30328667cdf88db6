"""From the tools' own results (contracts' SuiteResult, load's LoadResult) to the report's model.

Duck-typed on purpose: the report must not import ``load`` (locust patches the stdlib), and
reading attributes by name keeps it working across small changes in either tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._model import Check, LoadOutcome, SloRow

# Files of the load run the report links to; SVGs are also embedded.
LINKED_SUFFIXES = (".html", ".csv", ".json", ".svg")


def checks_from_suite(result: Any) -> list[Check]:
    """The suite's per-check results."""
    out = []
    for c in getattr(result, "checks", []) or []:
        out.append(
            Check(
                name=str(getattr(c, "name", "?")),
                family=str(getattr(c, "family", "") or "other"),
                outcome=str(getattr(c, "outcome", "failed")),
                message=str(getattr(c, "message", "") or ""),
                duration=float(getattr(c, "duration", 0.0) or 0.0),
                description=str(getattr(c, "description", "") or ""),
            )
        )
    return out


def _slo(row: Any) -> SloRow:
    if isinstance(row, dict):
        get = row.get
    else:

        def get(name: str, default: Any = None) -> Any:
            return getattr(row, name, default)

    name = get("slo") or get("name") or "?"
    passed = get("passed")
    if passed is None:
        verdict = str(get("verdict", "") or "").lower()
        passed = (
            True
            if verdict in ("pass", "passed", "ok")
            else False
            if verdict in ("fail", "failed", "breached")
            else None
        )
    measured = str(get("measured", "") or "")
    detail = str(get("detail", "") or "")
    return SloRow(
        str(name),
        str(get("threshold", "") or ""),
        f"{measured} ({detail})" if detail else measured,
        passed,
    )


def _paths(value: Any) -> Iterable[Path]:
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [Path(value)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths(v)]
    if isinstance(value, list | tuple | set):
        return [p for v in value for p in _paths(v)]
    return []


def load_from_result(result: Any, report_dir: Path, duration: float) -> LoadOutcome:
    """The load phase as the report shows it: SLO rows, charts to embed, files to link."""
    rows = (
        getattr(result, "rows", None)
        or getattr(result, "slo_rows", None)
        or getattr(result, "slos", None)
        or []
    )
    exit_code = getattr(result, "exit_code", None)
    named = [
        p
        for attr in ("paths", "report_paths", "files", "charts")
        for p in _paths(getattr(result, attr, None))
    ]
    found = [p for p in sorted(report_dir.rglob("*")) if p.is_file()] if report_dir.is_dir() else []
    files = list(dict.fromkeys([*found, *(p for p in named if p.is_file())]))
    error = str(getattr(result, "error", "") or "")
    if not error and getattr(result, "errors", None):
        error = "\n".join(str(e) for e in result.errors)
    return LoadOutcome(
        ran=True,
        exit_code=int(exit_code) if exit_code is not None else None,
        duration=duration,
        slos=[_slo(r) for r in rows],
        summary=dict(getattr(result, "summary", None) or {}),
        charts=[p for p in files if p.suffix == ".svg"],
        files=[p for p in files if p.suffix in LINKED_SUFFIXES],
        error=error,
    )
