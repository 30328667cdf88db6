"""Inline SVG: the webhook lag histogram, and other tools' SVGs made safe to inline."""

from __future__ import annotations

import math
import re
from html import escape

from tixallo_qa.core.histogram import percentile

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 40
MAX_BINS = 24


def _nice_step(span: float, bins: int) -> float:
    raw = span / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def format_seconds(value: float) -> str:
    """Lags read best in ms below a second, in s above."""
    if value == 0:
        return "0"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def lag_histogram(lags: list[float], *, title: str = "Webhook delivery lag") -> str:
    """A histogram of lags (seconds) with p50, p95 and p99 marked."""
    if not lags:
        return ""
    lags = sorted(lags)
    # A long tail would squash the body of the distribution into one bar: beyond twice the p99,
    # lags go into one overflow bar at the right, labelled with its count.
    p99 = percentile(lags, 99)
    top = max(lags)
    limit = top if top <= 2 * p99 or p99 <= 0 else 2 * p99
    step = _nice_step(limit if limit > 0 else 0.001, min(MAX_BINS, max(4, len(lags))))
    bins = max(1, math.ceil(limit / step) + (1 if limit % step == 0 else 0))
    overflow = sum(lag >= bins * step for lag in lags)
    counts = [0] * bins
    for lag in lags:
        if lag < bins * step:
            counts[min(bins - 1, int(max(lag, 0) / step))] += 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max([*counts, overflow])
    bar_w = plot_w / (bins + (1 if overflow else 0))
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" class="axis"/>',
    ]
    for i, count in enumerate(counts):
        if not count:
            continue
        h = max(1.0, plot_h * count / peak)
        x = LEFT + i * bar_w
        label = f"{format_seconds(i * step)}–{format_seconds((i + 1) * step)}: {count}"
        out.append(
            f'<rect class="bin" x="{x + 1:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(1.0, bar_w - 2):.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}</title></rect>'
        )
    if overflow:
        h = max(1.0, plot_h * overflow / peak)
        x = LEFT + bins * bar_w
        label = f"≥ {format_seconds(bins * step)}: {overflow} (max {format_seconds(top)})"
        out.append(
            f'<rect class="bin overflow" x="{x + 1:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(1.0, bar_w - 2):.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}</title></rect>'
        )
        out.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h - h - 4:.1f}" class="tick" text-anchor="middle">{overflow}</text>'
        )
    # y axis: 0 and the peak count; x axis: up to 6 tick labels
    out.append(f'<text x="{LEFT - 6}" y="{TOP + plot_h}" class="tick" text-anchor="end">0</text>')
    out.append(f'<text x="{LEFT - 6}" y="{TOP + 10}" class="tick" text-anchor="end">{peak}</text>')
    every = max(1, math.ceil(bins / 6))
    # With an overflow bar, its "more" label takes the place of the last tick.
    for i in range(0, bins + (0 if overflow else 1), every):
        x = LEFT + i * bar_w
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" class="tick" text-anchor="middle">{escape(format_seconds(i * step))}</text>'
        )
    if overflow:
        x = LEFT + (bins + 0.5) * bar_w
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" class="tick" text-anchor="middle">more</text>'
        )
    span = bins * step
    scale = bins * bar_w
    for row, (q, cls) in enumerate(((50, "p50"), (95, "p95"), (99, "p99"))):
        value = percentile(lags, q)
        x = LEFT + scale * min(value, span) / span
        # Labels sit at different heights so close percentiles stay readable.
        flip = x > LEFT + plot_w * 0.7
        anchor, dx = ("end", -4) if flip else ("start", 4)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" class="mark {cls}"/>'
        )
        out.append(
            f'<text x="{x + dx:.1f}" y="{TOP + 12 + row * 14}" text-anchor="{anchor}" '
            f'class="mark-label {cls}">p{q} {escape(format_seconds(value))}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" class="axis-label" text-anchor="middle">delivery lag ({len(lags)} events)</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.S | re.I)
_SCRIPT = re.compile(
    r"<script\b.*?</script\s*>|<foreignObject\b.*?</foreignObject\s*>", re.S | re.I
)
_HANDLER = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)
_EXTERNAL = re.compile(r"(?:xlink:)?href\s*=\s*([\"'])(?!#)[^\"']*\1", re.I)
_ID = re.compile(r"\bid\s*=\s*([\"'])([^\"']+)\1")


def inline_svg(text: str, prefix: str) -> str:
    """An SVG file's markup, safe to inline: no scripts, handlers or external links; ids prefixed."""
    text = _PROLOG.sub("", text)
    text = _SCRIPT.sub("", text)
    text = _HANDLER.sub("", text)
    text = _EXTERNAL.sub("", text)
    ids = {m.group(2) for m in _ID.finditer(text)}
    for old in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{old}"
        text = re.sub(rf"(\bid\s*=\s*[\"']){re.escape(old)}([\"'])", rf"\g<1>{new}\g<2>", text)
        text = text.replace(f"url(#{old})", f"url(#{new})")
        text = re.sub(
            rf"((?:xlink:)?href\s*=\s*[\"'])#{re.escape(old)}([\"'])", rf"\g<1>#{new}\g<2>", text
        )
    start = text.find("<svg")
    return text[start:].strip() if start >= 0 else ""
