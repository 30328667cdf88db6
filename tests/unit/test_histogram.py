"""The one histogram/percentile module: nearest rank on values, HDR histograms exact to 0.1 %."""

from __future__ import annotations

import math
import random

import pytest

from tixallo_qa.core.histogram import Histogram, percentile, rank, summarize

pytestmark = pytest.mark.unit


def test_nearest_rank_on_values() -> None:
    values = list(range(1, 101))
    assert [percentile(values, q) for q in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert rank(95, 20) == 19 and rank(95, 21) == 20 and rank(50, 1) == 1


def test_one_slow_request_in_a_hundred_is_the_p100_not_the_p99() -> None:
    values = [10.0] * 99 + [1000.0]
    assert percentile(values, 99) == 10.0
    assert percentile(sorted([10.0] * 98 + [1000.0] * 2), 99) == 1000.0
    hist = Histogram()
    for v in values:
        hist.record(v)
    assert hist.percentile(99) == pytest.approx(10.0, rel=1e-3)
    assert hist.percentile(100) == pytest.approx(1000.0, rel=1e-3)


def test_bad_percentile_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    with pytest.raises(ValueError):
        Histogram().percentile(101)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_histogram_percentiles_are_the_true_ones_within_a_tenth_of_a_percent(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(2.0, 1.2) for _ in range(5000)] + [
        rng.uniform(250, 350) for _ in range(300)
    ]
    hist = Histogram()
    for v in values:
        hist.record(v)
    ordered = sorted(values)
    for q in (50, 75, 90, 95, 99, 99.9, 100):
        true, got = percentile(ordered, q), hist.percentile(q)
        # Never below the truth (the upper edge of its bucket), at most 0.1 % (or 1 µs) above.
        assert true - 1e-9 <= got <= true * 1.001 + 0.001, (q, true, got)


def test_301_ms_fails_a_300_ms_gate_and_300_does_not_read_as_much_more() -> None:
    for value, over in ((301.0, True), (300.5, True), (299.0, False)):
        hist = Histogram()
        for _ in range(100):
            hist.record(value)
        assert (hist.percentile(95) > 300) is over, (value, hist.percentile(95))
    hist = Histogram()
    hist.record(300.0)
    assert 300.0 <= hist.percentile(50) <= 300.3


def test_merge_is_exactly_recording_everything_in_one() -> None:
    rng = random.Random(7)
    parts = [[rng.expovariate(1 / 20) for _ in range(800)] for _ in range(4)]
    one, merged = Histogram(), Histogram()
    for part in parts:
        h = Histogram()
        for v in part:
            h.record(v)
            one.record(v)
        merged.add(Histogram.decode(h.encode()))  # through the wire format, as between processes
    assert merged.count == one.count == 3200
    assert merged.summary() == one.summary()
    assert list(merged.buckets()) == list(one.buckets())
    assert Histogram.merged([]).count == 0


def test_encoding_round_trip_and_bad_input() -> None:
    hist = Histogram()
    for v in (0.0, -3.0, 0.4, 12.5, 9_999_999.0):  # negatives count as 0, beyond an hour as an hour
        hist.record(v)
    back = Histogram.decode(hist.encode())
    assert back.count == 5 and back.percentile(100) == pytest.approx(3_600_000, rel=1e-3)
    assert back.percentile(20) == 0.0
    assert Histogram.decode(Histogram().encode()).count == 0
    with pytest.raises(ValueError, match="not an encoded HDR histogram"):
        Histogram.decode("not base64 at all")


def test_summaries_of_values_and_histograms_agree() -> None:
    s = summarize([3.0, 1.0, 2.0])
    assert s["count"] == 3 and s["p50"] == 2.0 and s["max"] == 3.0 and s["mean"] == 2.0
    assert summarize([])["p95"] is None and Histogram().summary()["p95"] is None
    hist = Histogram()
    for v in (3.0, 1.0, 2.0):
        hist.record(v)
    h = hist.summary()
    assert h["count"] == 3 and h["p50"] == pytest.approx(2.0, rel=1e-3)
    assert h["mean"] == pytest.approx(2.0, rel=1e-3)
    assert math.isnan(Histogram().percentile(50)) and math.isnan(Histogram().max)


def test_recording_fills_the_very_counters_hdrhistogram_would() -> None:
    from hdrh.histogram import HdrHistogram

    from tixallo_qa.core.histogram import HIGHEST_US, SIGNIFICANT_DIGITS, US_PER_MS

    rng = random.Random(7)
    # Every bucket boundary region, the ends of the range, and values spread over it.
    values = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, HIGHEST_US - 1, HIGHEST_US]
    values += [2**k + d for k in range(1, 32) for d in (-1, 0, 1) if 0 <= 2**k + d <= HIGHEST_US]
    values += [int(rng.lognormvariate(8, 3)) % (HIGHEST_US + 1) for _ in range(5000)]
    ours, theirs = Histogram(), HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)
    for us in values:
        ms = us / US_PER_MS  # what it was before: the value rounded up to the microsecond
        ours.record(ms, 2)
        theirs.record_value(min(math.ceil(ms * US_PER_MS), HIGHEST_US), 2)
    ours.record(-5.0)  # as 0
    theirs.record_value(0)
    ours.record(HIGHEST_US)  # an hour and more: as an hour
    theirs.record_value(HIGHEST_US)
    hdr = ours._hdr
    assert bytes(hdr.counts) == bytes(theirs.counts)
    assert (hdr.total_count, hdr.min_value, hdr.max_value) == (
        theirs.total_count,
        theirs.min_value,
        theirs.max_value,
    )
