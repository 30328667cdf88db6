"""Suite results: JSON round trip, verdict, and the runner's child command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tixallo_qa.contracts._results import FAILED, PASSED, SKIPPED, CheckResult, SuiteResult
from tixallo_qa.contracts.runner import _child_env, pytest_command
from tixallo_qa.core.settings import Settings

pytestmark = pytest.mark.unit


def _result(*outcomes: str) -> SuiteResult:
    return SuiteResult(
        checks=[
            CheckResult(f"check-{i}", "auth", o, "why" if o != PASSED else "")
            for i, o in enumerate(outcomes)
        ],
        profile="smoke",
        requests_sent=12,
        requests_by_identity={"main": 10, "none": 2},
        webhook_lags=[0.01, 0.2],
    )


def test_round_trips_through_json(tmp_path: Path) -> None:
    result = _result(PASSED, FAILED, SKIPPED)
    result.write(tmp_path / "r.json")
    again = SuiteResult.read(tmp_path / "r.json")
    assert again.checks == result.checks
    assert again.counts == {PASSED: 1, FAILED: 1, SKIPPED: 1, "error": 0, "flaky": 0, "known": 0}
    assert again.requests_by_identity == {"main": 10, "none": 2}
    assert again.webhook_lags == [0.01, 0.2]
    assert again.by_name("check-1").outcome == FAILED


@pytest.mark.parametrize(
    ("outcomes", "errors", "ok"),
    [
        ((PASSED, SKIPPED), [], True),
        ((PASSED, FAILED), [], False),
        ((SKIPPED,), [], False),
        ((PASSED,), ["the run broke"], False),
    ],
)
def test_ok_only_when_every_check_that_ran_passed(
    outcomes: tuple[str, ...], errors: list[str], ok: bool
) -> None:
    result = _result(*outcomes)
    result.errors = errors
    assert result.ok is ok


def test_rejects_unknown_outcomes_and_versions() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        CheckResult.from_dict({"name": "x", "outcome": "xpassed"})
    with pytest.raises(ValueError, match="format version"):
        SuiteResult.from_dict({"version": 99})


def test_by_name_lists_the_checks_when_missing() -> None:
    with pytest.raises(KeyError, match="check-0"):
        _result(PASSED).by_name("nope")


def test_child_gets_settings_through_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIXALLO_BASE_URL", "https://stale.example/api/v1")
    monkeypatch.setenv("TIXALLO_ENV_FILE", "/nope")
    settings = Settings(api_keys=("tx_secret_key_1",), profile="standard")
    env = _child_env(settings, "smoke")
    assert "TIXALLO_BASE_URL" not in env and "TIXALLO_ENV_FILE" not in env
    assert env["TIXALLO_API_KEY"] == "tx_secret_key_1" and env["TIXALLO_PROFILE"] == "smoke"
    command = pytest_command("/tmp/r.json", junit_path="/tmp/j.xml", select=["auth", "webhooks"])
    assert "tx_secret_key_1" not in " ".join(command)
    assert command[command.index("--tixallo-select") + 1] == "auth,webhooks"
    assert command[command.index("--junitxml") + 1] == "/tmp/j.xml"


def test_waiting_checks_run_after_the_generated_ones_unless_the_run_stops_at_its_first_failure() -> (
    None
):
    from types import SimpleNamespace

    from tixallo_qa.contracts import test_webhooks
    from tixallo_qa.contracts._catalogue import first, late
    from tixallo_qa.contracts.plugin import place

    def named() -> None: ...

    generated = late(lambda: None)
    starter = first(lambda: None)
    waiting = test_webhooks.test_no_event_for_rejected
    items = {
        "named": named,
        "generated": generated,
        "starter": starter,
        "waiting": waiting,
        "sweep": test_webhooks.test_every_create_fires_once,
    }

    def order(stops_at_first: bool) -> list[str]:
        def key(name: str) -> float:
            return place(SimpleNamespace(function=items[name]), stops_at_first)  # type: ignore[arg-type]

        return sorted(items, key=key)

    assert order(False) == ["starter", "named", "generated", "waiting", "sweep"]
    assert order(True) == ["starter", "named", "waiting", "generated", "sweep"]
