"""Refusals before anything starts: non-loopback targets, rate plans, durations (no locust, no servers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tixallo_qa.core.settings import Settings
from tixallo_qa.load import LoadOptions, LoadRefusedError, run_load
from tixallo_qa.load.safety import MAX_DURATION, check_target, parse_duration

pytestmark = pytest.mark.unit
KEYS = ("tq_key_aaaaaaaaaaaaaaaa", "tq_key_bbbbbbbbbbbbbbbb")


def test_loopback_runs_freely_and_remote_needs_the_opt_in() -> None:
    check_target("http://127.0.0.1:8000/api/v1", allow_remote=False)
    check_target("http://localhost:8000/api/v1", allow_remote=False)
    check_target("https://tixallo.com/api/v1", allow_remote=True)
    with pytest.raises(LoadRefusedError, match="--allow-remote"):
        check_target("https://tixallo.com/api/v1", allow_remote=False)


def test_run_load_refuses_a_remote_target_before_sending_anything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(base_url="https://tixallo.example/api/v1", api_keys=KEYS)
    with pytest.raises(LoadRefusedError, match="not a loopback address"):
        run_load(settings, duration=5, report_dir=tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())


def test_run_load_refuses_a_rate_the_keys_cannot_carry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(base_url="http://127.0.0.1:9/api/v1", api_keys=KEYS, rate_limit=60)
    with pytest.raises(
        LoadRefusedError, match=r"needs \d+ keys at TIXALLO_RATE_LIMIT=60/min, but 2 are set"
    ):
        run_load(settings, LoadOptions(users=20), duration=5, report_dir=tmp_path, quiet=True)


def test_durations_are_bounded() -> None:
    assert (
        parse_duration("90") == 90 and parse_duration("2m") == 120 and parse_duration("1h") == 3600
    )
    for bad in ("0", "2h", "soon", "-5s"):
        with pytest.raises(LoadRefusedError):
            parse_duration(bad)
    assert MAX_DURATION == 3600


def test_cli_refusals_exit_2_with_the_reason_and_no_key() -> None:
    env = {"PATH": "/usr/bin:/bin", "TIXALLO_API_KEY": ",".join(KEYS)}
    remote = subprocess.run(
        [sys.executable, "-m", "tixallo_qa", "load", "--base-url", "https://tixallo.example/api/v1", "--duration", "5s"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert remote.returncode == 2 and "--allow-remote" in remote.stderr
    planned = subprocess.run(
        [sys.executable, "-m", "tixallo_qa", "load", "--base-url", "http://127.0.0.1:9/api/v1", "--users", "50", "--no-webhooks"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert planned.returncode == 2
    assert "keys" in planned.stderr and "--measure-limiter" in planned.stderr
    for key in KEYS:
        assert key not in remote.stderr + remote.stdout + planned.stderr + planned.stdout
