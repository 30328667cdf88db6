"""The run folder's pictures: well-formed, self-contained SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tixallo_qa.core.histogram import Histogram
from tixallo_qa.load.report import timeline_series
from tixallo_qa.load.svg import histogram_bins, histogram_chart, line_chart, nice_ceiling, stack

pytestmark = pytest.mark.unit
SVG = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # no external resources
    return root


def test_line_chart_has_one_polyline_per_series_and_escapes_names() -> None:
    series = {"p50": [(0, 1), (1, 2)], "p99 <&>": [(0, 5), (1, 900)], "empty": []}
    root = _parse(line_chart(series, title="t", x_label="s", y_label="ms"))
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert any(t.text == "p99 <&>" for t in root.iter(f"{SVG}text"))


def test_empty_charts_say_no_data() -> None:
    for text in (
        line_chart({}, title="t", x_label="x", y_label="y"),
        histogram_chart([], title="t", x_label="x"),
    ):
        assert any(t.text == "no data" for t in _parse(text).iter(f"{SVG}text"))


def test_histogram_bins_count_everything() -> None:
    values = [1.0, 2.0, 2.5, 9.9, 10.0, 47.0]
    bins = histogram_bins(values, bins=10)
    assert len(bins) == 10 and sum(c for _, _, c in bins) == len(values)
    assert bins[-1][1] == nice_ceiling(47.0) == 50.0
    root = _parse(
        histogram_chart(bins, title="lag", x_label="ms", markers={"p50": 2.5, "p99": 47.0})
    )
    assert len([r for r in root.findall(f"{SVG}rect") if r.get("fill") == "#2563eb"]) == 10


def _hist(*values: float) -> Histogram:
    h = Histogram()
    for v in values:
        h.record(v)
    return h


def test_timeline_series_merges_endpoints_per_window() -> None:
    windows = {
        "GET /tickets": {100: _hist(*[10.0] * 99, 1000.0), 101: _hist(20.0)},
        "POST /tickets": {101: _hist(30.0)},
    }
    series = timeline_series(windows, 2.0)
    assert [x for x, _ in series["p50"]] == [0.0, 2.0]
    assert [round(y) for _, y in series["p50"]] == [10, 20]
    assert [round(y) for _, y in series["max"]] == [1000, 30]
    assert round(series["p99"][0][1]) == 10


def test_stacked_panels_are_one_well_formed_svg() -> None:
    one = line_chart({"a": [(0, 1), (1, 2)]}, title="one", x_label="x", y_label="y")
    two = line_chart({"b": [(0, 1)], "c": [(0, 2), (1, 3)]}, title="two", x_label="x", y_label="y")
    root = _parse(stack([one, two], title="both"))
    assert len(root.findall(f"{SVG}g")) == 2 and len(list(root.iter(f"{SVG}polyline"))) == 3
