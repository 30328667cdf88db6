"""The run folder's pictures and summary, and the SLO table people read in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tixallo_qa.core.histogram import Histogram, percentile
from tixallo_qa.core.redact import Redactor
from tixallo_qa.load import files
from tixallo_qa.load.options import BURST
from tixallo_qa.load.slo import FAIL, PASS, SloRow
from tixallo_qa.load.svg import histogram_bins, histogram_chart, line_chart, stack
from tixallo_qa.load.trend import series, steady_windows

_STYLE = {PASS: "green", FAIL: "bold red"}


def timeline_series(
    windows: Mapping[str, Mapping[int, Histogram]], window: float
) -> dict[str, list[tuple[float, float]]]:
    """p50/p95/p99/max of all API requests per time window, x in seconds since the first."""
    merged: dict[int, Histogram] = {}
    for per in windows.values():
        for w, hist in per.items():
            merged.setdefault(w, Histogram()).add(hist)
    if not merged:
        return {}
    first = min(merged)
    out: dict[str, list[tuple[float, float]]] = {"p50": [], "p95": [], "p99": [], "max": []}
    for w in sorted(merged):
        qs = merged[w].percentiles((50.0, 95.0, 99.0, 100.0))
        x = (w - first) * window
        for name, q in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0)):
            out[name].append((x, qs[q]))
    return out


def write_pictures(
    run_dir: Path,
    windows: Mapping[str, Mapping[int, Histogram]],
    window: float,
    lags: Mapping[str, Sequence[float]],
    *,
    created_at: Sequence[float] = (),
    trend_percentile: float = 75.0,
) -> dict[str, Path]:
    """latency.svg (over time), trend.svg (per endpoint vs time and size), webhook-lag.svg."""
    paths = {"latency_svg": run_dir / files.LATENCY_SVG}
    paths["latency_svg"].write_text(
        line_chart(
            timeline_series(windows, window),
            title=f"API latency over time (all endpoints, {window:g} s windows)",
            x_label="seconds into the run",
            y_label="ms",
        ),
        encoding="utf-8",
    )
    steady = {
        name: dict(steady_windows(per)) for name, per in windows.items() if not name.endswith(BURST)
    }
    by_time, by_size = series(steady, window, created_at, trend_percentile)
    q = f"p{trend_percentile:g}"
    paths["trend_svg"] = run_dir / files.TREND_SVG
    paths["trend_svg"].write_text(
        stack(
            [
                line_chart(
                    by_time,
                    title=f"Latency trend: {q} per endpoint and time window",
                    x_label="seconds into the run",
                    y_label="ms",
                ),
                line_chart(
                    by_size,
                    title=f"{q} per endpoint against workspace size",
                    x_label="tickets created by the run so far",
                    y_label="ms",
                ),
            ],
            title="Latency trend per endpoint",
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
