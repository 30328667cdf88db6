"""The run folder's pictures and summary, and the SLO table people read in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tixallo_qa.core.redact import Redactor
from tixallo_qa.load import files
from tixallo_qa.load.percentiles import histogram_percentile, merge, percentile
from tixallo_qa.load.slo import FAIL, PASS, SloRow
from tixallo_qa.load.svg import histogram_bins, histogram_chart, line_chart

_STYLE = {PASS: "green", FAIL: "bold red"}


def timeline_series(
    timeline: Mapping[str, Mapping[str, Mapping[str, int]]],
) -> dict[str, list[tuple[float, float]]]:
    """p50/p95/p99/max of all API requests per second, x in seconds since the first."""
    per_second: dict[int, dict[int, int]] = {}
    for seconds in timeline.values():
        for raw_second, raw_hist in seconds.items():
            hist = {int(float(b)): int(c) for b, c in raw_hist.items()}
            merge(per_second.setdefault(int(raw_second), {}), hist)
    if not per_second:
        return {}
    first = min(per_second)
    series: dict[str, list[tuple[float, float]]] = {"p50": [], "p95": [], "p99": [], "max": []}
    for second in sorted(per_second):
        counts = per_second[second]
        x = float(second - first)
        for q in (50, 95, 99):
            series[f"p{q}"].append((x, histogram_percentile(counts, q)))
        series["max"].append((x, float(max(counts))))
    return series


def write_pictures(
    run_dir: Path, timeline: Mapping[str, Any], lags: Mapping[str, Sequence[float]]
) -> dict[str, Path]:
    """latency.svg (over time) and webhook-lag.svg (distribution); returns their paths."""
    paths = {"latency_svg": run_dir / files.LATENCY_SVG}
    paths["latency_svg"].write_text(
        line_chart(
            timeline_series(timeline),
            title="API latency over time (all endpoints)",
            x_label="seconds into the run",
            y_label="ms",
        ),
        encoding="utf-8",
    )
    values = sorted(v for vs in lags.values() for v in vs)
    markers = {f"p{q}": percentile(values, q) for q in (50, 95, 99)} if values else {}
    paths["lag_svg"] = run_dir / files.LAG_SVG
    paths["lag_svg"].write_text(
        histogram_chart(
            histogram_bins(values),
            title=f"Webhook delivery lag ({len(values)} events)",
            x_label="ms from the API's 201 to the first accepted delivery",
            markers=markers,
        ),
        encoding="utf-8",
    )
    return paths


def make_console(quiet: bool = False) -> Console:
    """stderr, wide enough for the SLO table even when it is not a terminal (CI logs)."""
    return Console(stderr=True, quiet=quiet, width=max(110, Console(stderr=True).width))


def slo_table(rows: Sequence[SloRow], title: str = "SLO gates") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("SLO", "threshold", "measured", "verdict"):
        table.add_column(column, justify="right" if column == "measured" else "left")
    for row in rows:
        verdict = (
            f"[{_STYLE[row.verdict]}]{row.verdict}[/]" if row.verdict in _STYLE else row.verdict
        )
        table.add_row(row.slo, row.threshold, row.measured, verdict)
    return table


def print_slo_table(
    rows: Sequence[SloRow], console: Console | None = None, redactor: Redactor | None = None
) -> None:
    console = console or Console()
    console.print(slo_table(rows))
    for row in rows:
        if row.failed and row.detail:
            text = redactor.text(row.detail) if redactor else row.detail
            console.print(f"[red]{row.slo}[/]: {text}", markup=True, highlight=False)
