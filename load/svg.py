"""Small self-contained SVG charts (no network, no matplotlib): a line chart and a histogram."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 320
MARGIN = {"left": 64, "right": 150, "top": 36, "bottom": 44}
PALETTE = ("#2563eb", "#f59e0b", "#dc2626", "#059669", "#7c3aed", "#64748b")
FAMILY = 'font-family="system-ui, sans-serif"'
FONT = f'{FAMILY} font-size="11"'


def nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 x 10^n at or above ``value`` (an axis maximum people can read)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == 0 else f"{value:.2g}"


def _frame(
    title: str, x_label: str, y_label: str, x_max: float, y_max: float, x_min: float = 0.0
) -> list[str]:
    left, top = MARGIN["left"], MARGIN["top"]
    pw, ph = WIDTH - left - MARGIN["right"], HEIGHT - top - MARGIN["bottom"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" {FAMILY} font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for i in range(5):
        y = top + ph - ph * i / 4
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{_fmt(y_max * i / 4)}</text>'
        )
    for i in range(5):
        x = left + pw * i / 4
        out.append(
            f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle" {FONT}>{_fmt(x_min + (x_max - x_min) * i / 4)}</text>'
        )
    out.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#9ca3af"/>'
    )
    out.append(
        f'<text x="{left + pw / 2}" y="{HEIGHT - 8}" text-anchor="middle" {FONT}>{escape(x_label)}</text>'
    )
    out.append(
        f'<text x="14" y="{top + ph / 2}" text-anchor="middle" {FONT} transform="rotate(-90 14 {top + ph / 2})">{escape(y_label)}</text>'
    )
    return out


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, x_label: str, y_label: str
) -> str:
    """One polyline per named series of (x, y) points, with a legend; empty series are skipped."""
    points = [p for s in series.values() for p in s]
    x_min = min((p[0] for p in points), default=0.0)
    x_max = max((p[0] for p in points), default=1.0)
    if x_max <= x_min:
        x_max = x_min + 1.0
    y_max = nice_ceiling(max((p[1] for p in points), default=1.0))
    out = _frame(title, x_label, y_label, x_max, y_max, x_min)
    left, top = MARGIN["left"], MARGIN["top"]
    pw, ph = WIDTH - left - MARGIN["right"], HEIGHT - top - MARGIN["bottom"]
    if not points:
        out.append(
            f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" {FONT}>no data</text>'
        )
    for i, (name, data) in enumerate(s for s in series.items() if s[1]):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(
            f"{left + pw * (x - x_min) / (x_max - x_min):.1f},{top + ph - ph * min(y, y_max) / y_max:.1f}"
            for x, y in data
        )
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{coords}"/>')
        ly = top + 14 + 16 * i
        out.append(
            f'<line x1="{left + pw + 12}" y1="{ly - 4}" x2="{left + pw + 30}" y2="{ly - 4}" stroke="{color}" stroke-width="2"/>'
        )
        out.append(f'<text x="{left + pw + 36}" y="{ly}" {FONT}>{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def histogram_bins(values: Sequence[float], bins: int = 20) -> list[tuple[float, float, int]]:
    """(low, high, count) bins of equal width from 0 to the largest value."""
    if not values:
        return []
    top = nice_ceiling(max(values)) if max(values) > 0 else 1.0
    width = top / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v / width)))] += 1
    return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def histogram_chart(
    bins: Sequence[tuple[float, float, int]],
    *,
    title: str,
    x_label: str,
    y_label: str = "events",
    markers: Mapping[str, float] | None = None,
) -> str:
    """Bars for (low, high, count) bins, and labelled vertical markers (e.g. p50, p95, p99)."""
    x_max = bins[-1][1] if bins else 1.0
    y_max = nice_ceiling(max((b[2] for b in bins), default=1))
    out = _frame(title, x_label, y_label, x_max, y_max)
    left, top = MARGIN["left"], MARGIN["top"]
    pw, ph = WIDTH - left - MARGIN["right"], HEIGHT - top - MARGIN["bottom"]
    if not bins:
        out.append(
            f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" {FONT}>no data</text>'
        )
    for low, high, count in bins:
        x, w = left + pw * low / x_max, pw * (high - low) / x_max
        h = ph * count / y_max
        out.append(
            f'<rect x="{x:.1f}" y="{top + ph - h:.1f}" width="{max(w - 1, 0.5):.1f}" height="{h:.1f}" fill="{PALETTE[0]}"/>'
        )
    for i, (name, value) in enumerate((markers or {}).items()):
        if value is None or math.isnan(value):
            continue
        color = PALETTE[(i + 1) % len(PALETTE)]
        x = left + pw * min(value, x_max) / x_max
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="{color}" stroke-dasharray="4 3"/>'
        )
        ly = top + 14 + 16 * i
        out.append(
            f'<line x1="{left + pw + 12}" y1="{ly - 4}" x2="{left + pw + 30}" y2="{ly - 4}" stroke="{color}" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{left + pw + 36}" y="{ly}" {FONT}>{escape(f"{name} {value:.0f}")}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def stack(charts: Sequence[str], *, title: str) -> str:
    """Charts from this module one above the other in one SVG (panels sharing nothing but the file)."""
    panels = []
    for i, chart in enumerate(charts):
        body = chart[chart.index(">", chart.index("<svg")) + 1 : chart.rindex("</svg>")]
        panels.append(f'<g transform="translate(0 {i * HEIGHT})">{body}</g>')
    height = HEIGHT * max(1, len(charts))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">\n<title>{escape(title)}</title>\n'
        + "\n".join(panels)
        + "\n</svg>\n"
    )
