"""The contract suite against the embedded reference deployment: it passes, and leaks no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tixallo_qa.contracts._catalogue import FAMILIES
from tixallo_qa.contracts._results import SuiteResult
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reference() -> Iterator[Target]:
    # A short rate-limit window, so the smoke profile waits out a Retry-After at its end.
    running = Target.start(Settings(profile="smoke"), pool_size=50, rate_window=10)
    try:
        yield running
    finally:
        running.stop()


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}
    return {**env, **settings.to_env()}


def test_collect_only_needs_no_configuration() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "contracts", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_schema_positive" in done.stdout and "test_every_create_fires_once" in done.stdout


def test_command_passes_with_every_check_and_no_secret_in_any_output(
    reference: Target, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "tixallo_qa", "contracts", "--json", "--junit", str(junit)],
        cwd=ROOT, env=_env(reference.settings), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    result = SuiteResult.from_dict(json.loads(done.stdout))
    failed = {c.name: c.message for c in result.checks if c.outcome != "passed"}
    assert done.returncode == 0 and result.ok, f"not every check passed: {failed} {result.errors}"
    families = {c.family for c in result.checks}
    assert families >= set(FAMILIES)
    # Every webhook-bearing create was matched, and their lags measured.
    assert result.webhook_lags and max(result.webhook_lags) < reference.settings.webhook_timeout
    assert result.requests_by_identity.get("main", 0) > 50 and result.own_429s == 0
    outputs = done.stdout + done.stderr + junit.read_text()
    leaked = [name for name, secret in _named_secrets(reference.settings) if secret in outputs]
    assert not leaked, f"secrets in the output: {leaked}"


def _named_secrets(settings: Settings) -> list[tuple[str, str]]:
    named = [("api key", key) for key in settings.api_keys]
    for attr in (
        "other_api_key",
        "revoked_api_key",
        "rate_limit_api_key",
        "internal_note_marker",
        "webhook_secret",
    ):
        value = getattr(settings, attr)
        if value:
            named.append((attr, value))
    return named
