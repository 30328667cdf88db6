"""Every check family can fail: each against a reference deployment that breaks exactly its rule."""

from __future__ import annotations

import pytest

from tixallo_qa.contracts.runner import run_suite
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.selfcheck

# family -> (planted fault, checks to run, the check that must fail, words its message must hold)
CASES = {
    "schema": ("roundtrip-timestamp-no-zone", "schema-positive", "schema-positive", "date-time"),
    "auth": (
        "auth-any-scheme-accepted",
        "auth",
        "bad-credentials-401[token-scheme]",
        "token-scheme credentials: GET /api/v1/tickets must be refused",
    ),
    "isolation": (
        "isolation-message-other-workspace",
        "isolation",
        "other-workspace-message-404",
        "the main key posts to the other workspace's ticket",
    ),
    "validation": (
        "validation-priority-enum",
        "validation",
        "create-required-and-enums",
        "priority 'critical'",
    ),
    "listing": (
        "list-oldest-first",
        "listing",
        "list-newest-first",
        "the later one is listed first",
    ),
    "notes": (
        "notes-as-agent-message",
        "notes",
        "note-marker-never-returned",
        "internal-note marker",
    ),
    "customers": (
        "customer-name-overwritten",
        "customers",
        "customer-name-only-for-new",
        "must not rename a customer",
    ),
    "round-trip": (
        "roundtrip-message-author-agent",
        "round-trip",
        "posted-message-round-trip",
        "expected: customer",
    ),
    "errors": ("errors-merged-400", "errors", "merged-ticket-409", "posting to a merged ticket"),
    "rate-limit": (
        "ratelimit-no-retry-after",
        "rate-limit",
        "rate-limit-429",
        "Retry-After is present",
    ),
    "webhooks": (
        "webhook-payload-wrong-value",
        "webhook-payload-matches-api",
        "webhook-payload-matches-api",
        "ticket_number",
    ),
}


@pytest.mark.parametrize("family", list(CASES))
def test_family_catches_its_planted_fault(family: str) -> None:
    fault, select, check_name, words = CASES[family]
    with Target.start(Settings(profile="smoke"), faults=[fault], pool_size=20) as running:
        result = run_suite(running.settings, profile="smoke", select=select.split(","), timeout=300)
        secrets = running.settings.secrets
    assert not result.errors, result.errors
    check = result.by_name(check_name)
    assert check.family == family
    assert check.outcome == "failed", f"{fault} was not caught by {check_name}: {check.outcome}"
    assert words in check.message, check.message
    # A failure shows the request as curl and never the key.
    assert not any(secret in check.message for secret in secrets)
    if family != "schema":
        assert "curl" in check.message or "summary" in check.message or "event" in check.message
    assert not result.ok


def test_faithful_deployment_passes_the_same_selection() -> None:
    with Target.start(Settings(profile="smoke"), pool_size=20) as running:
        result = run_suite(
            running.settings,
            profile="smoke",
            select=sorted({c[1] for c in CASES.values()}),
            timeout=300,
        )
    assert result.ok, [(c.name, c.message[:300]) for c in result.failed()] + result.errors
