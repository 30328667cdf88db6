"""The capacity search: doubling, then bisection; what bounded the answer; keys rested between steps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tixallo_qa.load.capacity import CapacityResult, KeyRota, Step, chart, next_rate, pool_ceiling

pytestmark = pytest.mark.unit


def _search(capacity: float, max_rate: float, steps: int = 20) -> list[tuple[float, bool]]:
    """Run the search against a deployment that holds exactly up to ``capacity``."""
    done: list[tuple[float, bool]] = []
    for _ in range(steps):
        rate = next_rate(done, max_rate)
        if rate is None:
            break
        done.append((rate, rate <= capacity))
    return done


def test_doubling_then_bisection_brackets_the_break() -> None:
    done = _search(capacity=300, max_rate=1000)
    rates = [r for r, _ in done]
    assert rates[:6] == [31, 62, 124, 248, 496, 372]  # doubling from max/32, then halves
    held = max(r for r, ok in done if ok)
    broke = min(r for r, ok in done if not ok)
    assert held <= 300 < broke and broke - held <= 0.05 * broke
    assert len(done) <= 10


def test_a_deployment_that_holds_everything_stops_at_max_rate() -> None:
    done = _search(capacity=10_000, max_rate=500)
    assert done[-1] == (500, True) and all(ok for _, ok in done)


def test_a_break_at_the_first_step_is_searched_below_it() -> None:
    done = _search(capacity=5, max_rate=1000)
    assert done[0] == (31, False)
    assert max(r for r, ok in done if ok) <= 5 < min(r for r, ok in done if not ok)


def test_a_noisy_pass_above_a_break_does_not_move_the_bracket() -> None:
    history = [(100.0, True), (200.0, False), (150.0, False), (175.0, True)]
    assert next_rate(history, 1000) == 125.0


def test_the_key_pool_ceiling_and_what_bounded_the_answer(tmp_path: Path) -> None:
    assert pool_ceiling(10, 60) == pytest.approx(9.9) and pool_ceiling(10, 0) is None

    def result(steps: list[Step], ceiling: float | None, max_rate: float = 1000) -> CapacityResult:
        return CapacityResult(steps, max_rate, ceiling, 120, 100, tmp_path)

    pool = result([Step(4.9, True), Step(9.9, True)], ceiling=9.9)
    assert pool.capacity == 9.9 and "key pool allows" in pool.verdict()
    broke = result(
        [Step(100, True), Step(200, False, ("GET /tickets p99",), "GET /tickets p99 (...)")], None
    )
    assert broke.capacity == 100 and broke.broke_at == 200 and "GET /tickets p99" in broke.verdict()
    generator = result(
        [Step(100, True), Step(200, False, ("open model: late starts",), "late")], None
    )
    assert "load generator" in generator.verdict()
    assert "--max-rate" in result([Step(500, True), Step(1000, True)], None).verdict()
    none = result([Step(31, False, ("error ratio",), "error ratio (...)")], None)
    assert none.capacity is None and none.exit_code == 1 and "lowest rate" in none.verdict()
    assert broke.exit_code == 0 and broke.as_dict()["first_breach"] == "GET /tickets p99 (...)"


def test_each_step_starts_on_rested_keys_at_both_ends() -> None:
    keys = [f"k{i}" for i in range(40)]
    rota = KeyRota(keys, 60)
    first = rota.order(rate=50, seconds=10, readback=60, now=0.0)  # 500 requests: 9+2 keys, 1+2
    second = rota.order(rate=50, seconds=10, readback=60, now=15.0)
    assert sorted(first) == sorted(keys) == sorted(second)
    assert not set(first[:11]) & set(second[:11])  # the run's keys
    assert not set(first[-3:]) & set(second[-3:])  # the read-back's keys (from the back)
    assert not set(first[:11]) & set(second[-3:])
    assert KeyRota(keys, 0).order(50, 10, 60, 0.0) == keys  # no limit: nothing to rest


def test_the_chart_has_latency_and_error_panels() -> None:
    steps = [
        Step(31, True, p50_ms=3, p99_ms=9, error_ratio=0.0, webhook_p99_ms=4),
        Step(62, False, ("error ratio",), p50_ms=5, p99_ms=90, error_ratio=0.02, webhook_p99_ms=40),
    ]
    root = ET.fromstring(chart(steps))
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) == 4
