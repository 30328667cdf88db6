"""The run report opened from disk in headless Chromium: verdict shown, charts drawn, no network used."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tixallo_qa.report import SAMPLE_SECRETS, sample_record, write_report

pytestmark = pytest.mark.browser


def _open(browser: Browser, tmp_path: Path, *, failing: bool) -> tuple[Page, list[str]]:
    folder = tmp_path / "report"
    folder.mkdir()
    files = write_report(
        sample_record(folder, failing=failing), folder, secrets=SAMPLE_SECRETS, events=[]
    )
    page = browser.new_page(viewport={"width": 1366, "height": 800})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(files.index.as_uri())
    return page, requests


def test_failing_report_renders_verdict_and_visible_charts(
    browser: Browser, tmp_path: Path
) -> None:
    page, requests = _open(browser, tmp_path, failing=True)
    try:
        expect(page.locator("#verdict")).to_have_text("FAILED")
        expect(page.locator("h1")).to_contain_text("1 of 6 checks failed")
        charts = page.locator("svg")
        assert charts.count() == 2  # the webhook lag histogram and the embedded load chart
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100, box
        bars = page.locator("#lag-histogram rect.bin")
        assert bars.count() > 3
        bar = bars.first.bounding_box()
        assert bar is not None and bar["width"] > 0 and bar["height"] > 0
        # The failing family is open; the failure's details are on the page, secret redacted.
        expect(page.locator("article.failure pre")).to_contain_text("Bearer <redacted>")
        expect(page.locator("#slo-table tbody tr")).to_have_count(3)
        assert all(url.startswith("file://") for url in requests), requests
    finally:
        page.close()


def test_passing_report_says_passed(browser: Browser, tmp_path: Path) -> None:
    page, _ = _open(browser, tmp_path, failing=False)
    try:
        expect(page.locator("#verdict")).to_have_text("PASSED")
        expect(page.locator("header.verdict")).to_have_class("verdict passed")
        assert page.locator("#failures").count() == 0
    finally:
        page.close()
