"""Rate-limit planning: refuse, with the number of keys needed, before a run starts."""

from __future__ import annotations

import math

import pytest

from tixallo_qa.core.ratelimit import required_keys
from tixallo_qa.load.options import LoadOptions
from tixallo_qa.load.planning import asked_rate, plan

pytestmark = pytest.mark.unit


def test_closed_rate_is_users_over_mean_think_time_plus_the_bursts() -> None:
    assert asked_rate(LoadOptions(users=20, think_min=0.5, think_max=1.5)) == 20.0 + 12.0
    quiet = LoadOptions(users=20, think_min=0.5, think_max=1.5, burst_size=0)
    assert asked_rate(quiet) == 20.0
    assert asked_rate(quiet.replace(burst_size=8, burst_every=2.0)) == 24.0
    assert math.isinf(asked_rate(LoadOptions(users=2, think_min=0, think_max=0)))


def test_enough_keys_passes() -> None:
    p = plan(LoadOptions(users=10, think_min=1, think_max=1), keys=30, limit_per_minute=60)
    assert p.ok and p.keys_needed == required_keys(10 + 12, 60)


def test_too_few_keys_is_refused_with_how_many_are_needed() -> None:
    options = LoadOptions(users=20, think_min=0.05, think_max=0.25)
    p = plan(options, keys=3, limit_per_minute=60)
    needed = required_keys(20 / 0.15 + 12, 60)
    assert not p.ok
    assert f"needs {needed} keys" in p.message
    assert "TIXALLO_API_KEY" in p.message and "--measure-limiter" in p.message


def test_open_model_uses_the_peak_of_the_ramp() -> None:
    options = LoadOptions(model="open", rate=10, ramp_to=100)
    p = plan(options, keys=50, limit_per_minute=60)
    assert not p.ok and f"needs {required_keys(100, 60)} keys" in p.message


def test_measure_limiter_and_unlimited_targets_are_not_refused() -> None:
    options = LoadOptions(users=50, think_min=0, think_max=0, measure_limiter=True)
    assert plan(options, keys=1, limit_per_minute=60).ok
    assert plan(LoadOptions(users=50, think_min=0, think_max=0), keys=1, limit_per_minute=0).ok


def test_no_think_time_is_refused_under_a_limit() -> None:
    p = plan(LoadOptions(users=5, think_min=0, think_max=0), keys=100, limit_per_minute=60)
    assert not p.ok and "--think-time" in p.message


def test_each_process_needs_its_own_keys() -> None:
    p = plan(
        LoadOptions(users=1, think_min=5, think_max=5, processes=4), keys=2, limit_per_minute=60
    )
    assert not p.ok and "4 processes" in p.message


def test_unlimited_keys_may_be_shared_between_processes() -> None:
    assert plan(LoadOptions(users=4, processes=4), keys=1, limit_per_minute=0).ok
