"""``tixallo-qa doctor`` against the embedded reference: all ok, and one line per planted problem."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tixallo_qa._doctor import diagnose
from tixallo_qa.cli import main
from tixallo_qa.core.netutil import free_port
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration


def _start() -> Target:
    return Target.start(Settings(webhook_timeout=5.0), pool_size=3)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    embedded = _start()
    try:
        yield embedded
    finally:
        embedded.stop()


def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings | None,
    *args: str,
) -> tuple[int, list[str]]:
    for name, value in (settings.to_env() if settings else {}).items():
        monkeypatch.setenv(name, value)
    code = main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def _problem_lines(lines: list[str]) -> list[str]:
    # Columns are padded to the longest area name: compare with single spaces.
    return [" ".join(line.split()) for line in lines if line.strip().startswith("problem")]


def test_embedded_reference_is_all_ok(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _cli(clean_env, capsys, None, "--webhook-timeout", "5")
    text = "\n".join(lines)
    assert code == 0, text
    assert "(embedded reference deployment)" in lines[0]
    assert "no TIXALLO_BASE_URL: checked the embedded reference deployment" in text
    assert "signature valid" in text
    assert "share one workspace" in text and "in a different workspace" in text
    assert _problem_lines(lines) == []
    assert lines[-1] == "No problem found."


def test_all_ok_as_json(
    target: Target, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _cli(clean_env, capsys, target.settings, "--json")
    data = json.loads("\n".join(lines))
    assert code == 0 and data["ok"] is True and data["problems"] == 0
    areas = {f["area"] for f in data["findings"]}
    assert areas >= {"target", "keys", "workspace", "tickets", "sink", "webhook"}
    text = "\n".join(lines)
    for secret in target.settings.secrets:
        assert secret not in text


def test_target_down_is_one_line_with_its_fix(
    target: Target, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    down = target.settings.replace(
        base_url=f"http://127.0.0.1:{port}/api/v1", sink_port=free_port()
    )
    code, lines = _cli(clean_env, capsys, down)
    assert code == 3  # unreachable (core.exitcodes)
    assert _problem_lines(lines) == [
        f"problem target the deployment at http://127.0.0.1:{port}/api/v1 is unreachable: nothing "
        f"listens on 127.0.0.1:{port} (connection refused): start it, or fix the host and port in "
        "TIXALLO_BASE_URL"
    ]


def test_wrong_key_is_one_line_with_its_fix(target: Target) -> None:
    report = diagnose(target.settings.replace(api_keys=("tq_not_a_real_key_0000",)))
    [problem] = report.problems
    assert problem.area == "keys"
    assert problem.message.endswith(
        "is rejected (401): unknown or revoked; create a key in the Tixallo app and put it in TIXALLO_API_KEY"
    )
    assert "tq_not_a_real_key_0000" not in problem.message


def test_other_key_of_the_same_workspace_is_caught(target: Target) -> None:
    keys = target.settings.api_keys
    report = diagnose(target.settings.replace(api_keys=keys[:1], other_api_key=keys[1]))
    [problem] = report.problems
    assert problem.area == "workspace"
    assert "set it to a key of a second workspace" in problem.message


def test_wrong_webhook_secret_is_one_line_with_its_fix(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded = _start()
    try:
        # The endpoint signs with the seeded secret; doctor starts a sink that verifies another.
        embedded.children[0].stop()
        wrong = embedded.settings.replace(webhook_secret="whsec_not_the_endpoint_secret")
        code, lines = _cli(clean_env, capsys, wrong)
    finally:
        embedded.stop()
    assert code == 2  # a setting to fix (core.exitcodes)
    assert _problem_lines(lines) == [
        "problem webhook the webhook secret does not match the endpoint's signing secret: copy it from "
        "the Tixallo app's webhook settings into TIXALLO_WEBHOOK_SECRET"
    ]
    assert "whsec_not_the_endpoint_secret" not in "\n".join(lines)
