"""Every always-on oracle fails against a fault that breaks its property on one path or channel only;
the rate-limit truth and the lookalike checks fail against faults of theirs.

Faults that touch different oracles share a deployment (one suite run per group), so this stays
a few runs; each oracle must name the one path its fault broke.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tixallo_qa.contracts._oracles import (
    AUTHOR,
    ISOLATION,
    LISTS,
    NOTE_MARKER,
    NUMBERS,
    ORDER_SLACK,
    SAME_FIELDS,
    SCHEMA,
    TIMESTAMPS,
)
from tixallo_qa.contracts._results import SuiteResult
from tixallo_qa.contracts.runner import run_suite
from tixallo_qa.core.redact import Secrets
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.selfcheck

# group -> {check that must fail: (planted fault, words its message must hold)}
GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "oracles-a": {
        f"oracle-{NOTE_MARKER}": ("notes-marker-in-webhook", "in the body of webhook delivery"),
        f"oracle-{ISOLATION}": (
            "isolation-list-leak-small=5",
            "but was listed with the",
        ),
        f"oracle-{AUTHOR}": ("roundtrip-author-agent-older", "has author_type 'agent' here"),
        f"oracle-{TIMESTAMPS}": ("roundtrip-message-offset=2", "+02:00' is not in UTC"),
    },
    "oracles-b": {
        f"oracle-{NUMBERS}": ("ticket-number-reused=2", "is held by two tickets"),
        f"oracle-{SAME_FIELDS}": ("list-subject-truncated=100", "subject is"),
        f"oracle-{SCHEMA}": ("list-priority-capitalized", "listTickets 200: data/"),
        f"oracle-{LISTS}": ("list-oldest-first-small=3", "newest"),
    },
    "truth-and-lookalikes": {
        "rate-limit-retry-after-honest": ("ratelimit-retry-after-lie=0.3", "was answered 429"),
        "rate-limit-counts-every-status": (
            "ratelimit-status-not-counted=404",
            "404 answers were not counted",
        ),
        "lookalike-query-rejected": ("validation-limit-parse-int", "trailing junk"),
        "lookalike-ticket-id-not-found": ("errors-uuid-prefix", "expected: 404 or 400"),
    },
}
SELECT = {
    "oracles-a": ["oracles", "webhooks"],
    "oracles-b": ["oracles"],
    "truth-and-lookalikes": [
        "rate-limit",
        "lookalike-query-rejected",
        "lookalike-ticket-id-not-found",
    ],
}
# A short rate-limit window, so the smoke profile waits out a Retry-After.
WINDOW = 10.0


def _run(select: list[str], faults: list[str]) -> tuple[SuiteResult, Secrets]:
    base = Settings(profile="smoke", webhook_timeout=3.0)
    with Target.start(
        base, faults=faults, pool_size=20, rate_window=WINDOW, webhook_retries="0.3,1,2"
    ) as running:
        # The order oracle lets tickets within ORDER_SLACK of each other stand in either order
        # (whole-second stamps are allowed), so a list that holds the seeded tickets instead of
        # the newest is visible only once the seed is older than that, as a real workspace's
        # tickets are: the suite starts when it is.
        seeded = time.monotonic()
        while time.monotonic() < seeded + ORDER_SLACK + 0.5:
            time.sleep(0.05)
        result = run_suite(running.settings, profile="smoke", select=select, timeout=300)
        return result, running.settings.secrets


@pytest.fixture(scope="module", params=list(GROUPS))
def group_run(request: pytest.FixtureRequest) -> Iterator[tuple[str, SuiteResult, Secrets]]:
    group = request.param
    faults = [fault for fault, _ in GROUPS[group].values()]
    result, secrets = _run(SELECT[group], faults)
    yield group, result, secrets


def test_each_check_names_the_one_path_its_fault_broke(
    group_run: tuple[str, SuiteResult, Secrets],
) -> None:
    group, result, secrets = group_run
    assert not result.errors, result.errors
    for name, (fault, words) in GROUPS[group].items():
        check = result.by_name(name)
        assert check.outcome == "failed", f"{fault} was not caught by {name}: {check.message[:500]}"
        assert words in check.message, f"{name} against {fault}:\n{check.message[:3000]}"
        assert "curl" in check.message or "webhook delivery" in check.message
        assert not any(secret in check.message for secret in secrets)
    if group.startswith("oracles"):
        # The check whose requests showed a violation fails with it too, not only the report.
        tour = result.by_name("oracle-tour")
        assert tour.outcome == "failed", tour
        assert "the always-on oracles caught what this check's requests showed" in tour.message


def test_the_faithful_deployment_passes_the_same_checks() -> None:
    result, _ = _run(sorted({s for names in SELECT.values() for s in names}), [])
    assert result.ok, [(c.name, c.message[:500]) for c in result.failed()] + result.errors
    skipped = [c.name for c in result.checks if c.outcome == "skipped"]
    assert skipped == [], skipped
