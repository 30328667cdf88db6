"""``tixallo-qa load`` flags and config file -> LoadOptions and SloConfig (defaults < file < flags)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tixallo_qa.commands import load as command
from tixallo_qa.load.safety import LoadRefusedError

pytestmark = pytest.mark.unit


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_a_short_closed_run() -> None:
    options, slo = command.build(_parse())
    assert options.model == "closed" and options.duration == 15 and options.users == 20
    assert slo.p95_ms == 300 and slo.max_webhook_lost == 0


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "load.toml"
    config.write_text(
        '[scenario]\nusers = 7\nduration = "1m"\ntask_weights = {create = 1, message = 0, list = 1, get = 1}\n'
        "[slo]\np95_ms = 150\nwebhook_lag_p95_ms = 400\n"
    )
    options, slo = command.build(
        _parse("--config", str(config), "--users", "9", "--slo-p95-ms", "120")
    )
    assert options.users == 9 and options.duration == 60 and options.task_weights["message"] == 0
    assert slo.p95_ms == 120 and slo.webhook_lag_p95_ms == 400


def test_rate_means_the_open_model_and_weights_parse() -> None:
    options, _ = command.build(
        _parse(
            "--rate",
            "30",
            "--ramp-to",
            "60",
            "--think-time",
            "0:0.5",
            "--user-weights",
            "integrator=2,agent=1",
        )
    )
    assert options.model == "open" and options.peak_rate == 60
    assert options.user_weights == {"integrator": 2.0, "agent": 1.0} and options.think_max == 0.5


@pytest.mark.parametrize(
    "argv",
    [
        ("--user-weights", "robot=1"),
        ("--think-time", "slow"),
        ("--duration", "3h"),
        ("--users", "0"),
    ],
)
def test_bad_flags_are_refused(argv: tuple[str, ...]) -> None:
    with pytest.raises(LoadRefusedError):
        command.build(_parse(*argv))


def test_burst_readback_and_new_gates_from_flags() -> None:
    options, slo = command.build(
        _parse(
            "--burst-size", "4", "--burst-every", "2", "--readback-sample", "50",
            "--readback-seconds", "5", "--slo-server-errors", "3", "--slo-webhook-lag-p99-ms",
            "1500", "--slo-webhook-late", "2", "--slo-trend-growth-ms", "50",
        )
    )  # fmt: skip
    assert (options.burst_size, options.burst_every, options.burst_rate) == (4, 2.0, 2.0)
    assert options.readback_sample == 50 and options.readback_seconds == 5
    assert slo.max_server_errors == 3 and slo.webhook_lag_p99_ms == 1500
    assert slo.max_webhook_late == 2 and slo.trend_max_growth_ms == 50
    defaults, gates = command.build(_parse())
    assert defaults.burst_size == 12 and defaults.readback_sample is None
    assert gates.max_server_errors == 0 and gates.webhook_lag_p99_ms == 2000 and gates.trend


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("--find-capacity", "--rate", "50"), "--max-rate"),
        (("--find-capacity", "--max-rate", "0"), "--max-rate"),
        (("--find-capacity", "--duration", "5s", "--step-duration", "10s"), "budget"),
        (("--burst-size", "-1"), "--burst-size"),
    ],
)
def test_bad_capacity_and_burst_flags_are_refused_before_anything_starts(
    argv: tuple[str, ...], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command.run(_parse(*argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused" in err[0] and needle in err[0], err
