"""Rate limit (opt-in spare key): 429 with Retry-After and the documented body, per key (family: rate-limit)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import require
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.settings import Settings

# Requests past the configured limit we allow before calling the limit unenforced.
SLACK = 5


@check(
    "rate-limit-ignores-401",
    "rate-limit",
    "requests refused 401 count against no key: more of them than the limit stay 401 and the main key is still served (assumption, part B 14)",
)
def test_unauthenticated_requests_spend_no_budget(
    api: ApiClient, expect: Expect, target: Settings
) -> None:
    # Runs before the spare key is exhausted below: nothing here should touch any key's budget.
    if target.rate_limit <= 0:
        pytest.skip(
            "TIXALLO_RATE_LIMIT is 0 (no limit enforced): set it to the deployment's per-key limit to enable this check"
        )
    unknown = f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}"
    statuses: list[int] = []
    last = None
    with api.session.raw_429():
        for _ in range(target.rate_limit + SLACK):
            last = api.get("/tickets", params={"limit": 1}, identity=None, authorization=unknown)
            statuses.append(last.status_code)
            if last.status_code != 401:
                break
        expect.that(
            set(statuses) == {401},
            f"{target.rate_limit + SLACK} requests with an unknown key are all 401, never 429",
            expected="401 every time",
            actual=f"statuses {sorted(set(statuses))} after {len(statuses)} requests",
            responses=[last] if last is not None else [],
        )
        served = api.get("/tickets", params={"limit": 1})
    expect.status(served, 200, "the main key is still served after a burst of 401s")


@pytest.fixture(scope="module")
def exhausted(api: ApiClient, expect: Expect, target: Settings) -> tuple[list[Any], Any]:
    """Spend the spare key's budget: the successes, and the first 429 (fails if none within limit + slack)."""
    require(target, "rate_limit_api_key")
    if target.rate_limit <= 0:
        pytest.skip(
            "TIXALLO_RATE_LIMIT is 0 (no limit enforced): set it to the deployment's per-key limit to enable this check"
        )
    sent: list[Any] = []
    with api.session.raw_429():
        for _ in range(target.rate_limit + SLACK):
            response = api.get(
                "/tickets",
                params={"limit": 1},
                identity=None,
                authorization=f"Bearer {target.rate_limit_api_key}",
            )
            if response.status_code == 429:
                return sent, response
            sent.append(response)
    expect.that(
        False,
        f"the spare key must be refused within {target.rate_limit} + {SLACK} requests",
        expected="429",
        actual=f"{len(sent)} requests, none refused",
        responses=sent[-1:],
    )
    raise AssertionError("unreachable")


@check(
    "rate-limit-429",
    "rate-limit",
    "the request over the per-key limit gets 429, a positive integer Retry-After and the documented body",
)
def test_rate_limited(exhausted: tuple[list[Any], Any], expect: Expect, target: Settings) -> None:
    sent, refused = exhausted
    expect.that(
        len(sent) <= target.rate_limit,
        f"at most {target.rate_limit} requests are served per window",
        expected=f"<= {target.rate_limit}",
        actual=len(sent),
        responses=[refused],
    )
    retry_after = refused.headers.get("Retry-After")
    expect.that(
        retry_after is not None and retry_after.strip().isdigit() and int(retry_after) >= 1,
        "Retry-After is present and a positive integer",
        expected="e.g. Retry-After: 60",
        actual=retry_after,
        responses=[refused],
    )
    body = expect.json(refused, "429")
    errors = _spec.validate("#/components/schemas/RateLimitError", body)
    expect.that(
        not errors,
        "the 429 body matches the spec's RateLimitError",
        expected="RateLimitError",
        actual=errors,
        responses=[refused],
    )
    expect.equal(
        body.get("limit"),
        target.rate_limit,
        "the body's limit is the enforced one (TIXALLO_RATE_LIMIT)",
        responses=[refused],
    )


@check(
    "rate-limit-per-key", "rate-limit", "spending one key's budget leaves other keys' budgets alone"
)
def test_budget_is_per_key(
    exhausted: tuple[list[Any], Any], api: ApiClient, expect: Expect
) -> None:
    with api.session.raw_429():
        response = api.get("/tickets", params={"limit": 1})
    expect.status(response, 200, "the main key still works while the spare key is rate limited")
