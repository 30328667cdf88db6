"""The trend statistic: a deployment that degrades as its data grows fails, a noisy flat one does not."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from tixallo_qa.core.histogram import Histogram
from tixallo_qa.load.trend import (
    INCONCLUSIVE,
    RISING,
    STEADY,
    TrendConfig,
    assess,
    assess_all,
    series,
)

pytestmark = pytest.mark.unit
CONFIG = TrendConfig()


def _windows(
    n: int, per_window: int, latency: Callable[[int, random.Random], float], seed: int = 1
) -> dict[int, Histogram]:
    """``n`` one-second windows of ``per_window`` requests each; latency(window, rng) in ms."""
    rng = random.Random(seed)
    out = {}
    for w in range(n):
        h = Histogram()
        for _ in range(per_window):
            h.record(latency(w, rng))
        out[1_000_000 + w] = h
    return out


def _base(rng: random.Random) -> float:
    return rng.lognormvariate(1.2, 0.4)  # a few ms, like the reference on loopback


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_latency_growing_with_the_workspace_fails(seed: int) -> None:
    # +20 ms per 100 tickets at 40 tickets/s: the planted load-slow-as-data-grows, roughly.
    windows = _windows(15, 20, lambda w, rng: _base(rng) + 8.0 * w, seed)
    trend = assess("GET /tickets", windows, CONFIG)
    assert trend.verdict == RISING, trend
    assert trend.first is not None and trend.last is not None and trend.last > trend.first + 30


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_a_noisy_flat_deployment_passes(seed: int) -> None:
    def noisy(w: int, rng: random.Random) -> float:
        spike = rng.random() < 0.08  # 8 % of requests 50-400 ms (GC, a busy neighbour)
        return _base(rng) + (rng.uniform(50, 400) if spike else 0.0)

    trend = assess("GET /tickets", _windows(30, 30, noisy, seed), CONFIG)
    assert trend.verdict == STEADY, trend


def test_a_slower_faithful_deployment_with_a_slow_end_burst_passes() -> None:
    # Around 80 ms with noise, and the last three windows (of 20) much slower: a burst, not a trend.
    def latency(w: int, rng: random.Random) -> float:
        return rng.gauss(80, 15) + (300 if w >= 17 else 0)

    trend = assess("POST /tickets", _windows(20, 30, latency), CONFIG)
    assert trend.verdict == STEADY and "burst" in trend.reason, trend


def test_periodic_stalls_are_not_a_trend() -> None:
    # Every fourth window is stalled (the planted stall fault's shape).
    trend = assess(
        "GET /tickets/{id}",
        _windows(24, 30, lambda w, rng: _base(rng) + (900 if w % 4 == 3 else 0)),
        CONFIG,
    )
    assert trend.verdict == STEADY, trend


def test_small_growth_passes_on_either_margin() -> None:
    # +100 % but only ~+10 ms: under the absolute margin.
    small = assess("GET /tickets", _windows(15, 30, lambda w, rng: 8 + w), CONFIG)
    assert small.verdict == STEADY, small
    # +40 ms but only +20 % of a slow endpoint: under the relative margin.
    slow = assess("GET /tickets", _windows(15, 30, lambda w, rng: 200 + 3.0 * w), CONFIG)
    assert slow.verdict == STEADY, slow


def test_thin_data_is_inconclusive_never_a_failure() -> None:
    steep = lambda w, rng: 5 + 50.0 * w  # noqa: E731
    few_windows = assess("GET /tickets", _windows(5, 50, steep), CONFIG)
    assert few_windows.verdict == INCONCLUSIVE and "windows" in few_windows.reason
    few_requests = assess("GET /tickets", _windows(15, 3, steep), CONFIG)
    assert few_requests.verdict == INCONCLUSIVE and "requests" in few_requests.reason
    assert assess("GET /tickets", {}, CONFIG).verdict == INCONCLUSIVE


def test_series_against_time_and_workspace_size() -> None:
    windows = {"GET /tickets": _windows(4, 10, lambda w, rng: 10.0 * (w + 1))}
    start = 1_000_000
    created = [start + 0.5, start + 1.5, start + 1.6, start + 3.2]
    by_time, by_size = series(windows, 1.0, created, 75)
    assert [x for x, _ in by_time["GET /tickets"]] == [0.0, 1.0, 2.0, 3.0]
    assert [x for x, _ in by_size["GET /tickets"]] == [1.0, 3.0, 3.0, 4.0]
    assert by_time["GET /tickets"][0][1] == pytest.approx(10.0, rel=1e-3)


def test_everything_slowing_together_is_the_machine_not_a_trend() -> None:
    # Contention rising through the run slows every endpoint alike (seen in a selftest run):
    # none of them is judged rising on its own data.
    rising = lambda w, rng: _base(rng) + 20 + 5.0 * w  # noqa: E731
    names = ["GET /tickets", "GET /tickets/{id}", "POST /tickets", "POST /m"]
    windows = {name: _windows(15, 30, rising, seed) for seed, name in enumerate(names)}
    trends = assess_all(windows, CONFIG)
    assert [t.verdict for t in trends] == [STEADY] * 4, trends
    assert all("other endpoints" in t.reason for t in trends)
    assert all(t.others_ratio > 0.5 and t.others_ms > 10 for t in trends)


def test_one_endpoint_rising_beyond_the_others_is_caught() -> None:
    # The list slows with the workspace; the other endpoints only drift with the machine.
    drift = lambda w, rng: _base(rng) + 1.0 * w  # noqa: E731
    windows = {
        "GET /tickets": _windows(15, 30, lambda w, rng: _base(rng) + 10.0 * w),
        "GET /tickets/{id}": _windows(15, 30, drift, 2),
        "POST /tickets": _windows(15, 30, drift, 3),
    }
    verdicts = {t.endpoint: t.verdict for t in assess_all(windows, CONFIG)}
    assert verdicts == {
        "GET /tickets": RISING,
        "GET /tickets/{id}": STEADY,
        "POST /tickets": STEADY,
    }
    # ... and two of four rising still stand out from the median of the others.
    windows["GET /tickets/{id}"] = _windows(15, 30, lambda w, rng: _base(rng) + 9.0 * w, 4)
    windows["POST /m"] = _windows(15, 30, drift, 5)
    verdicts = {t.endpoint: t.verdict for t in assess_all(windows, CONFIG)}
    assert verdicts["GET /tickets"] == verdicts["GET /tickets/{id}"] == RISING, verdicts


def test_a_busier_machine_adding_ms_to_fast_endpoints_does_not_excuse_a_slow_one() -> None:
    # The selftest run that missed load-slow-as-data-grows=40: reads and writes went from about
    # 2 to 10 ms (a neighbour job took the CPU), the list from 64 to 232 ms with the workspace.
    def climbing(start: float, end: float) -> Callable[[int, random.Random], float]:
        return lambda w, rng: start + (end - start) * w / 14 + rng.uniform(-0.2, 0.2)

    windows = {
        "GET /tickets": _windows(15, 30, climbing(50, 250)),
        "GET /tickets/{id}": _windows(15, 30, climbing(1.5, 11), 2),
        "POST /tickets": _windows(15, 30, climbing(2, 13), 3),
        "POST /m": _windows(15, 30, climbing(1.6, 7.5), 4),
    }
    verdicts = {t.endpoint: t.verdict for t in assess_all(windows, CONFIG)}
    assert verdicts["GET /tickets"] == RISING, verdicts
    assert [v for e, v in verdicts.items() if e != "GET /tickets"] == [STEADY] * 3
