"""Percentile math of the load tool (nearest rank, histograms, locust-style buckets)."""

from __future__ import annotations

import math

import pytest

from tixallo_qa.load.percentiles import (
    bucket_ms,
    histogram_percentile,
    merge,
    percentile,
    summarize,
)

pytestmark = pytest.mark.unit


def test_nearest_rank_on_values() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_one_slow_request_in_a_hundred_is_the_p100_not_the_p99() -> None:
    values = [10.0] * 99 + [1000.0]
    assert percentile(values, 99) == 10.0
    assert percentile(sorted([10.0] * 98 + [1000.0] * 2), 99) == 1000.0


def test_histogram_matches_raw_values() -> None:
    values = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]
    hist: dict[int, int] = {}
    for v in values:
        hist[v] = hist.get(v, 0) + 1
    for q in (10, 50, 90, 95, 99, 100):
        assert histogram_percentile(hist, q) == percentile(sorted(values), q)
    assert math.isnan(histogram_percentile({}, 50))


def test_bad_percentile_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    with pytest.raises(ValueError):
        histogram_percentile({1: 1}, 101)


def test_buckets_keep_two_significant_digits_above_100ms() -> None:
    assert bucket_ms(42.4) == 42
    assert bucket_ms(147.0) == 150
    assert bucket_ms(1234.0) == 1200
    assert bucket_ms(12345.0) == 12000
    assert all(isinstance(bucket_ms(v), int) for v in (1.5, 150.2, 1500.7, 15000.1))


def test_merge_and_summarize() -> None:
    assert merge({1: 2}, {1: 1, 5: 3}) == {1: 3, 5: 3}
    s = summarize([3.0, 1.0, 2.0])
    assert s["count"] == 3 and s["p50"] == 2.0 and s["max"] == 3.0 and s["mean"] == 2.0
    assert summarize([])["p95"] is None
