"""The open model's timetable: constant and ramping arrivals, split into interleaved streams."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from tixallo_qa.load.schedule import ArrivalSchedule, picker

pytestmark = pytest.mark.unit


def test_constant_rate_is_evenly_spaced() -> None:
    s = ArrivalSchedule.constant(10, 2.0)
    times = list(s.times())
    assert len(times) == s.total == 20
    assert times[:3] == [0.0, 0.1, 0.2]
    assert all(b - a == pytest.approx(0.1) for a, b in itertools.pairwise(times))


def test_ramp_delivers_the_area_under_the_rate() -> None:
    s = ArrivalSchedule(10, 30, 10.0)
    times = list(s.times())
    assert len(times) == s.total == 200
    first_half = sum(1 for t in times if t < 5.0)
    assert first_half == pytest.approx(75, abs=1)  # (10 + 20) / 2 * 5
    assert times == sorted(times) and times[-1] <= 10.0


def test_ramp_from_zero_and_falling_ramp() -> None:
    assert len(list(ArrivalSchedule(0, 20, 4.0).times())) == 40
    assert len(list(ArrivalSchedule(20, 0, 4.0).times())) == 40


def test_streams_interleave_and_cover_everything_once() -> None:
    s = ArrivalSchedule.constant(50, 1.0)
    parts = [list(s.times(i, 3)) for i in range(3)]
    assert sorted(t for p in parts for t in p) == list(s.times())
    assert parts[0][0] < parts[1][0] < parts[2][0]


@pytest.mark.parametrize("rate", [7.0, 333.3, 2000.0])
def test_every_stream_of_a_constant_rate_is_its_share_of_time_of(rate: float) -> None:
    s = ArrivalSchedule.constant(rate, 1.7)
    for streams in (1, 3):
        for i in range(streams):
            expected = [s.time_of(k) for k in range(i, s.total, streams)]
            assert list(s.times(i, streams)) == [t for t in expected if t <= s.duration]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        ArrivalSchedule(-1, 1, 1)
    with pytest.raises(ValueError):
        ArrivalSchedule(1, 1, 0)
    with pytest.raises(ValueError):
        list(ArrivalSchedule.constant(1, 1).times(2, 2))


def test_picker_draws_by_weight_and_never_an_action_of_weight_zero() -> None:
    random.seed(7)
    choose = picker({"list": 0.5, "get": 0.3, "create": 0.2, "message": 0.0})
    drawn = Counter(choose() for _ in range(20_000))
    assert set(drawn) == {"list", "get", "create"}
    for action, share in (("list", 0.5), ("get", 0.3), ("create", 0.2)):
        assert abs(drawn[action] / 20_000 - share) < 0.02


def test_picker_of_one_action_always_gives_it() -> None:
    choose = picker({"create": 1.0, "list": 0.0})
    assert {choose() for _ in range(100)} == {"create"}
