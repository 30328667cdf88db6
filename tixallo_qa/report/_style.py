"""The report's inline stylesheet: one file, no network, readable on a laptop screen, light or dark."""

from __future__ import annotations

CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d1d9e0;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --skip: #9a6700; --skip-bg: #fff8c5; --info: #0969da; --code: #eff2f5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d;
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1214;
    --skip: #d29922; --skip-bg: #272115; --info: #4493f8; --code: #1f2630;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 0 24px 48px; }
a { color: var(--info); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
header.verdict { padding: 28px 24px 20px; border-bottom: 1px solid var(--line); }
header.verdict.passed { background: var(--pass-bg); }
header.verdict.failed { background: var(--fail-bg); }
header .inner { max-width: 1072px; margin: 0 auto; }
.badge { display: inline-block; font-weight: 700; letter-spacing: .06em; color: #fff;
  padding: 4px 12px; border-radius: 6px; font-size: 14px; }
.passed .badge { background: var(--pass); } .failed .badge { background: var(--fail); }
h1 { font-size: 26px; margin: 10px 0 6px; line-height: 1.25; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h2 .count { color: var(--muted); font-weight: 400; font-size: 15px; }
h3 { font-size: 16px; margin: 0; }
.meta { color: var(--muted); margin: 0; }
.meta span + span::before { content: " · "; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 0; }
.tile { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 120px; }
.tile b { display: block; font-size: 22px; line-height: 1.2; }
.tile small { color: var(--muted); }
.tile.pass b { color: var(--pass); } .tile.fail b { color: var(--fail); } .tile.skip b { color: var(--skip); }
nav.toc { margin: 14px 0 0; font-size: 14px; }
nav.toc a { margin-right: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:hover td { background: var(--panel); }
.pill { display: inline-block; min-width: 58px; text-align: center; border-radius: 999px; padding: 0 8px;
  font-size: 12px; font-weight: 600; line-height: 20px; }
.pill.passed { background: var(--pass-bg); color: var(--pass); }
.pill.failed, .pill.error, .pill.interrupted { background: var(--fail-bg); color: var(--fail); }
.pill.skipped { background: var(--skip-bg); color: var(--skip); }
.pill.flaky, .pill.known { background: var(--skip-bg); color: var(--skip); border: 1px dashed currentColor; }
.stack { display: flex; height: 10px; border-radius: 5px; overflow: hidden; background: var(--panel); min-width: 120px; }
.stack i { display: block; height: 100%; }
.stack i.passed { background: var(--pass); } .stack i.failed { background: var(--fail); } .stack i.skipped { background: var(--skip); }
article.failure { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 6px;
  margin: 12px 0; padding: 12px 16px; background: var(--bg); }
article.failure .family, .family { color: var(--muted); font-weight: 400; font-size: 13px; }
article.failure p.what { margin: 6px 0; }
pre { background: var(--code); padding: 10px 12px; border-radius: 6px; overflow-x: auto; margin: 8px 0 0;
  white-space: pre-wrap; word-break: break-word; }
pre .hdr { color: var(--muted); font-weight: 600; }
pre .exp { color: var(--pass); } pre .act { color: var(--fail); font-weight: 600; }
pre .cmd { color: var(--info); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details > summary { cursor: pointer; padding: 7px 12px; display: grid; align-items: center; gap: 14px;
  grid-template-columns: 14px 150px 220px minmax(120px, 1fr); list-style: none; }
details > summary::-webkit-details-marker { display: none; }
details > summary::before { content: "▸"; color: var(--muted); transition: transform .1s; }
details[open] > summary::before { transform: rotate(90deg); }
details > summary:hover { background: var(--panel); }
details[open] > summary { border-bottom: 1px solid var(--line); }
details > table, details > div { margin: 0; }
details td.msg { color: var(--muted); max-width: 520px; }
.settings code { background: var(--code); padding: 1px 5px; border-radius: 4px; }
.grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(220px, 1fr); gap: 20px; align-items: start; }
@media (max-width: 820px) { .grid { grid-template-columns: 1fr; } }
figure { margin: 12px 0; padding: 12px; border: 1px solid var(--line); border-radius: 8px; }
figure figcaption { color: var(--muted); font-size: 13px; margin-bottom: 6px; }
figure svg { display: block; width: 100%; height: auto; max-height: 420px; }
svg.chart .bin { fill: var(--info); opacity: .85; } svg.chart .bin.overflow { fill: var(--skip); }
svg.chart .axis { stroke: var(--muted); }
svg.chart .tick, svg.chart .axis-label { fill: var(--muted); font-size: 11px; }
svg.chart .mark { stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .mark-label { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: var(--bg); stroke-width: 3px; stroke-linejoin: round; }
svg.chart line.p50 { stroke: var(--pass); } svg.chart text.p50 { fill: var(--pass); }
svg.chart line.p95 { stroke: var(--skip); } svg.chart text.p95 { fill: var(--skip); }
svg.chart line.p99 { stroke: var(--fail); } svg.chart text.p99 { fill: var(--fail); }
.note { color: var(--muted); }
.callout { border-radius: 6px; padding: 10px 14px; margin: 10px 0; background: var(--panel); border: 1px solid var(--line); }
.callout.error { background: var(--fail-bg); border-color: var(--fail); }
ul.files { columns: 2; padding-left: 18px; }
footer { color: var(--muted); font-size: 13px; margin-top: 40px; border-top: 1px solid var(--line); padding-top: 12px; }
"""
