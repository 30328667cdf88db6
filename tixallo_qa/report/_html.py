"""Renders a ``RunRecord`` as one self-contained HTML page (inline CSS and SVG, no script, no network)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from tixallo_qa.contracts._results import FLAKY, KNOWN, OUTCOMES, CheckResult
from tixallo_qa.core.histogram import percentile
from tixallo_qa.core.redact import REDACTED, Redactor

from ._folder import check_file
from ._model import FAILED, PASSED, SKIPPED, RunRecord, redact_record
from ._style import CSS
from ._svg import format_seconds, lag_histogram

_EXPECTED = re.compile(r"^\s*expected\b.*:", re.I)
_ACTUAL = re.compile(r"^\s*actual\b.*:", re.I)
_SECTION = re.compile(r"^(request #\d+|response|request|closest recorded|events?)\b.*:\s*$", re.I)
_COMMAND = re.compile(r"^\s*curl\s")


@dataclass(frozen=True)
class Chart:
    """An SVG to show inline, with its caption (already made safe by ``inline_svg``)."""

    title: str
    svg: str


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _pill(outcome: str) -> str:
    return f'<span class="pill {_e(outcome)}">{_e(outcome)}</span>'


def _details_block(message: str) -> str:
    """A failure message as preformatted text, with expected/actual, sections and curl highlighted."""
    lines = []
    for line in message.splitlines():
        cls = (
            "exp" if _EXPECTED.match(line)
            else "act" if _ACTUAL.match(line)
            else "hdr" if _SECTION.match(line)
            else "cmd" if _COMMAND.match(line)
            else ""
        )  # fmt: skip
        lines.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def _first_line(message: str) -> tuple[str, str]:
    head, _, rest = message.strip().partition("\n")
    return head, rest


def _tiles(record: RunRecord) -> str:
    tiles = [
        ("pass", record.count(PASSED), "checks passed"),
        ("fail", record.count(FAILED), "checks failed"),
        ("skip", record.count(SKIPPED), "checks skipped"),
    ]
    out = [
        f'<div class="tile {cls}"><b>{n}</b><small>{label}</small></div>' for cls, n, label in tiles
    ]
    if record.webhook_lags:
        p95 = format_seconds(percentile(sorted(record.webhook_lags), 95))
        out.append(
            f'<div class="tile"><b>{_e(p95)}</b><small>webhook lag p95 ({len(record.webhook_lags)} events)</small></div>'
        )
    load = record.load
    if load is not None and load.ran and load.slos:
        met = sum(s.passed is not False for s in load.slos)
        cls = "pass" if met == len(load.slos) else "fail"
        out.append(
            f'<div class="tile {cls}"><b>{met}/{len(load.slos)}</b><small>load SLOs met</small></div>'
        )
    if record.requests_sent:
        out.append(
            f'<div class="tile"><b>{record.requests_sent}</b><small>contract requests sent</small></div>'
        )
    return '<div class="tiles">' + "".join(out) + "</div>"


def _header(record: RunRecord) -> str:
    verdict = record.verdict
    badge = record.badge
    where = "embedded reference deployment" if record.embedded else "remote target"
    meta = [
        f'<span class="mono">{_e(record.target)}</span>',
        _e(where),
        f"profile {_e(record.profile)}",
        _e(record.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        f"took {_e(format_duration(record.duration))}",
        f"exit code {record.exit_code}",
    ]
    toc = [
        ("failures", "Failures", bool(record.failures)),
        ("flaky", "Flaky", bool(record.count(FLAKY))),
        ("known", "Known", bool(record.count(KNOWN))),
        ("errors", "Errors", bool(record.errors)),
    ]
    toc += [
        ("checks", "Checks", True),
        ("skipped", "Skipped", bool(record.skips)),
        ("webhooks", "Webhooks", True),
    ]
    toc += [
        ("load", "Load", record.load is not None),
        ("phases", "Phases", True),
        ("files", "Files", True),
    ]
    links = "".join(f'<a href="#{a}">{t}</a>' for a, t, shown in toc if shown)
    return (
        f'<header class="verdict {verdict}"><div class="inner">'
        f'<span class="badge" id="verdict">{badge}</span>'
        f"<h1>{_e(record.headline())}</h1>"
        f'<p class="meta">{"".join(f"<span>{m}</span>" for m in meta)}</p>'
        f'{_tiles(record)}<nav class="toc">{links}</nav></div></header>'
    )


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _failures(record: RunRecord) -> str:
    return "".join(
        _articles(anchor, title, [c for c in record.checks if c.outcome == outcome])
        for anchor, title, outcome in (
            ("failures", "Failures", FAILED),
            ("flaky", "Flaky: failed, then passed when the suite ran again", FLAKY),
            ("known", "Known failures (the baseline accepts them)", KNOWN),
        )
    )


def _articles(anchor: str, title: str, checks: list[CheckResult]) -> str:
    if not checks:
        return ""
    out = [f'<h2 id="{anchor}">{title} <span class="count">({len(checks)})</span></h2>']
    for check in checks:
        head, rest = _first_line(check.explained)
        out.append(
            f'<article class="failure" id="check-{_e(check.name)}"><h3>{_e(check.name)} '
            f'<span class="family">{_e(check.family)}</span></h3>'
            + (f'<p class="note">{_e(check.description)}</p>' if check.description else "")
            + f'<p class="what">{_e(head) or "failed"}</p>'
            + (_details_block(rest) if rest.strip() else "")
            + (
                f'<p class="note"><a href="{_e(check_file(Path("."), check.name).as_posix())}">'
                f"every request and answer of this check, whole</a> (JSON)</p>"
                if check.exchanges
                else ""
            )
            + "</article>"
        )
    return "".join(out)


def _errors(record: RunRecord) -> str:
    if not record.errors:
        return ""
    items = "".join(
        f'<div class="callout error">{_details_block(e) if chr(10) in e else _e(e)}</div>'
        for e in record.errors
    )
    return f'<h2 id="errors">Errors <span class="count">({len(record.errors)})</span></h2>{items}'


def _stack(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    parts = "".join(
        f'<i class="{o}" style="width:{100 * counts[o] / total:.2f}%" title="{counts[o]} {o}"></i>'
        for o in (PASSED, FAILED, SKIPPED)
        if counts.get(o)
    )
    return f'<div class="stack">{parts}</div>'


def _checks(record: RunRecord) -> str:
    out = [
        f'<h2 id="checks">Checks <span class="count">({len(record.checks)}, by family; '
        "families with a failure are open)</span></h2>"
    ]
    if not record.checks:
        out.append('<p class="note">No contract check ran.</p>')
        return "".join(out)
    families: dict[str, list[CheckResult]] = defaultdict(list)
    for check in record.checks:
        families[check.family or "other"].append(check)
    for family, checks in families.items():
        failed = any(c.outcome == FAILED for c in checks)
        counts = {o: sum(c.outcome == o for c in checks) for o in OUTCOMES}
        summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        rows = []
        for c in checks:
            name = (
                f'<a href="#check-{_e(c.name)}">{_e(c.name)}</a>'
                if c.outcome in (FAILED, FLAKY, KNOWN)
                else _e(c.name)
            )
            note = _first_line(c.explained)[0] if c.outcome != PASSED else c.description
            rows.append(
                f"<tr><td>{_pill(c.outcome)}</td><td>{name}</td>"
                f'<td class="num">{c.duration:.2f} s</td><td class="msg">{_e(note)}</td></tr>'
            )
        body = "".join(rows)
        out.append(
            f'<details id="family-{_e(family)}"{" open" if failed else ""}><summary><b class="fam">{_e(family)}</b>'
            f'<span class="note cnt">{_e(summary)}</span>{_stack(counts)}</summary>'
            f"<table><tbody>{body}</tbody></table></details>"
        )
    return "".join(out)


def _skipped(record: RunRecord) -> str:
    skips = record.skips
    if not skips:
        return ""
    rows = []
    for c in skips:
        enable = (
            " ".join(f"<code>{_e(s)}</code>" for s in c.enabled_by)
            or '<span class="note">see reason</span>'
        )
        rows.append(
            f'<tr><td>{_e(c.name)}</td><td class="family">{_e(c.family)}</td><td class="settings">{enable}</td><td>{_e(c.message)}</td></tr>'
        )
    return (
        f'<h2 id="skipped">Skipped checks <span class="count">({len(skips)})</span></h2>'
        '<p class="note">A skipped check never passes silently: set what the third column names and run again.</p>'
        "<table><thead><tr><th>check</th><th>family</th><th>enable with</th><th>reason</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _webhooks(record: RunRecord) -> str:
    out = ['<h2 id="webhooks">Webhooks</h2>']
    if record.clock:
        # The freshness check trusts both clocks: the reader sees how far apart they were.
        out.append(f'<p class="note" id="clock">Clocks: {_e(record.clock)}</p>')
    lags = sorted(record.webhook_lags)
    if not lags:
        out.append('<p class="note">No webhook lag was recorded in this run.</p>')
    else:
        stats = (
            [("events", str(len(lags)))]
            + [(f"p{q}", format_seconds(percentile(lags, q))) for q in (50, 95, 99)]
            + [("max", format_seconds(max(lags)))]
        )
        table = "".join(f'<tr><th>{_e(k)}</th><td class="num">{_e(v)}</td></tr>' for k, v in stats)
        out.append(
            '<div class="grid"><figure id="lag-histogram"><figcaption>Delivery lag per event: from the API\'s '
            "answer to the sink's first valid delivery (contract suite and load run)</figcaption>"
            f"{lag_histogram(lags)}</figure><table>{table}</table></div>"
        )
    if record.webhook_verdicts:
        cells = "".join(
            f'<tr><td>{_pill(PASSED if v == "valid" else FAILED)} {_e(v)}</td><td class="num">{n}</td></tr>'
            for v, n in sorted(record.webhook_verdicts.items())
        )
        out.append(
            f'<table style="max-width:420px"><thead><tr><th>sink verdict</th><th class="num">deliveries</th></tr></thead><tbody>{cells}</tbody></table>'
        )
    return "".join(out)


def _load(record: RunRecord, charts: Sequence[Chart], folder: Path | None) -> str:
    load = record.load
    if load is None:
        return ""
    out = ['<h2 id="load">Load</h2>']
    if not load.ran:
        cls = "callout error" if load.error else "callout"
        out.append(
            f'<div class="{cls}">{_e(load.error or load.skipped_reason or "the load run did not run")}</div>'
        )
        return "".join(out)
    status = "passed" if load.passed else "failed"
    out.append(
        f"<p>{_pill(status)} {format_duration(load.duration)} run, exit code {_e(load.exit_code)}</p>"
    )
    if load.error:
        out.append(f'<div class="callout error">{_details_block(load.error)}</div>')
    if load.slos:
        rows = "".join(
            f"<tr><td>{_pill('skipped' if s.passed is None else ('passed' if s.passed else 'failed'))}</td>"
            f'<td>{_e(s.slo)}</td><td class="num">{_e(s.threshold)}</td><td class="num">{_e(s.shown)}</td></tr>'
            for s in load.slos
        )
        out.append(
            '<table id="slo-table"><thead><tr><th>verdict</th><th>SLO</th><th class="num">threshold</th>'
            f'<th class="num">measured</th></tr></thead><tbody>{rows}</tbody></table>'
        )
    for chart in charts:
        out.append(
            f'<figure class="external"><figcaption>{_e(chart.title)}</figcaption>{chart.svg}</figure>'
        )
    main = [p for p in load.files if p.suffix in (".html", ".csv") and "history" not in p.name]
    links = [_file_link(p, folder) for p in main]
    if links:
        out.append(
            "<p>Locust's own report and data: "
            + ", ".join(links)
            + ' <span class="note">(every file: below)</span></p>'
        )
    return "".join(out)


def _file_link(path: Path, folder: Path | None) -> str:
    try:
        rel = path.relative_to(folder).as_posix() if folder is not None else path.name
    except ValueError:
        rel = path.name
    return f'<a href="{_e(rel)}">{_e(rel)}</a>'


def _phases(record: RunRecord) -> str:
    rows = "".join(
        f'<tr><td>{_pill(p.status)}</td><td>{_e(p.name)}</td><td class="num">{_e(format_duration(p.duration))}</td>'
        f"<td>{_e(p.note)}</td></tr>"
        for p in record.phases
    )
    out = ['<h2 id="phases">Phases</h2>']
    if rows:
        out.append(
            '<table><thead><tr><th>status</th><th>phase</th><th class="num">time</th>'
            f"<th>note</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if record.notes:
        out.append(
            '<ul class="note">' + "".join(f"<li>{_e(n)}</li>" for n in record.notes) + "</ul>"
        )
    if record.baseline:
        out.append(
            '<h3 id="baseline">Baseline</h3><ul class="note">'
            + "".join(f"<li>{_e(b.strip())}</li>" for b in record.baseline)
            + "</ul>"
        )
    if record.settings:
        cells = []
        for name, value in record.settings:
            cls = ' class="note"' if value == "not set" else ""
            cells.append(f'<tr><td class="mono">{_e(name)}</td><td{cls}>{_e(value)}</td></tr>')
        out.append(
            '<details id="settings"><summary><b class="fam">settings</b><span class="note cnt">what this run '
            f"was given</span></summary><table><tbody>{''.join(cells)}</tbody></table></details>"
        )
    return "".join(out)


def _files(files: Iterable[Path], folder: Path | None) -> str:
    items = "".join(f"<li>{_file_link(p, folder)}</li>" for p in sorted(files))
    return f'<h2 id="files">Files in this report</h2><ul class="files">{items}</ul>'


def render_html(
    record: RunRecord,
    *,
    charts: Sequence[Chart] = (),
    files: Iterable[Path] = (),
    folder: Path | None = None,
    redactor: Redactor | None = None,
) -> str:
    """The whole page, secrets redacted before escaping (so ``<redacted>`` shows as text)."""
    if redactor is not None:
        record = redact_record(record, redactor)
    title = f"tixallo-qa {record.verdict}: {record.target}"
    body = "".join(
        [
            _header(record),
            "<main>",
            _failures(record),
            _errors(record),
            _checks(record),
            _skipped(record),
            _webhooks(record),
            _load(record, charts, folder),
            _phases(record),
            _files(files, folder),
            '<footer>Written by tixallo-qa. Keys are shown only as fingerprints (<span class="mono">key:…</span>);'
            " secrets are redacted. This page needs no network.</footer>",
            "</main>",
        ]
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
    if redactor is not None:
        # Last line of defence, for anything that reached the page some other way.
        page = redactor.text(page).replace(REDACTED, escape(REDACTED))
    return page
