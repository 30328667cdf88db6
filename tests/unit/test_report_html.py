"""The report page: verdict, failures, skips, SLOs, charts; HTML escaped; no secret in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tixallo_qa.contracts._results import CheckResult
from tixallo_qa.core.redact import Redactor
from tixallo_qa.report import SAMPLE_SECRETS, RunRecord, render_html, sample_record
from tixallo_qa.report._svg import inline_svg, lag_histogram

pytestmark = pytest.mark.unit


def _page(tmp_path: Path, *, failing: bool = True) -> str:
    record = sample_record(tmp_path, failing=failing)
    charts_src = record.load.charts if record.load else []
    from tixallo_qa.report._html import Chart

    charts = [Chart("Latency", inline_svg(p.read_text(), "c0")) for p in charts_src]
    return render_html(record, charts=charts, folder=tmp_path, redactor=Redactor(SAMPLE_SECRETS))


def test_failing_run_shows_failed_verdict_first(tmp_path: Path) -> None:
    page = _page(tmp_path)
    verdict = re.search(r'id="verdict">([^<]+)<', page)
    assert verdict is not None and verdict.group(1) == "FAILED"
    assert "1 of 6 checks failed, 1 load SLO breached" in page
    # Failures come before the checks list.
    assert page.index('id="failures"') < page.index('id="checks"')


def test_passing_run_shows_passed(tmp_path: Path) -> None:
    page = _page(tmp_path, failing=False)
    assert 'id="verdict">PASSED<' in page
    assert 'id="failures"' not in page


def test_failure_details_are_escaped_and_highlighted(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;not found&lt;/b&gt;" in page
    assert '<span class="exp">  expected: {&quot;error&quot;: &quot;Not found&quot;}</span>' in page
    assert '<span class="cmd">  curl -i' in page


def test_no_secret_reaches_the_page(tmp_path: Path) -> None:
    page = _page(tmp_path)
    for secret in SAMPLE_SECRETS:
        assert secret not in page
    # The redaction marker is text, not a tag.
    assert "Bearer &lt;redacted&gt;" in page
    assert "<redacted>" not in page


def test_skips_name_the_setting_that_enables_them(tmp_path: Path) -> None:
    page = _page(tmp_path)
    skipped = page[page.index('id="skipped"') : page.index('id="webhooks"')]
    assert "<code>TIXALLO_OTHER_API_KEY</code>" in skipped
    assert "<code>TIXALLO_RATE_LIMIT_API_KEY</code>" in skipped


def test_slo_table_lists_every_row_with_its_verdict(tmp_path: Path) -> None:
    page = _page(tmp_path)
    table = page[page.index('id="slo-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 4  # header + 3 SLOs
    assert '<span class="pill failed">failed</span></td><td>error ratio</td>' in table


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "<link" not in page and "@import" not in page
    assert page.count("<svg") == 2  # the lag histogram and the load chart


def test_inlined_svg_is_defanged_and_its_ids_prefixed(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert "alert(1)" not in page and "onclick" not in page
    assert "example.com/track" not in page
    assert 'id="c0-g"' in page and "url(#c0-g)" in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_histogram_marks_percentiles_and_folds_a_long_tail() -> None:
    lags = [0.01 * i for i in range(1, 100)] + [30.0]
    svg = lag_histogram(lags)
    assert ">p50 " in svg and ">p95 " in svg and ">p99 " in svg
    assert 'class="bin overflow"' in svg and "max 30.0 s" in svg
    assert lag_histogram([]) == ""


def test_no_lag_and_no_checks_say_so() -> None:
    page = render_html(RunRecord(target="http://x/api/v1", embedded=False, profile="smoke"))
    assert "No contract check ran." in page
    assert "No webhook lag was recorded" in page
    assert 'id="verdict">FAILED<' in page  # nothing passed is not a pass


def test_settings_are_listed_without_secrets(tmp_path: Path) -> None:
    page = _page(tmp_path)
    settings = page[page.index('id="settings"') :]
    assert '<td class="mono">TIXALLO_OTHER_API_KEY</td><td class="note">not set</td>' in settings


def test_skip_reason_parsing() -> None:
    check = CheckResult(
        "n", "f", "skipped", "needs TIXALLO_NOTED_TICKET_ID and TIXALLO_INTERNAL_NOTE_MARKER"
    )
    assert check.enabled_by == ("TIXALLO_NOTED_TICKET_ID", "TIXALLO_INTERNAL_NOTE_MARKER")
