"""Per-key sliding-window rate limit of the reference deployment (small window for speed)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tixallo_qa.reference.testing import ReferenceDeployment, ReferenceFactory

pytestmark = pytest.mark.integration

LIMIT = 5
WINDOW = 2


@pytest.fixture(scope="module")
def limited(reference_factory: ReferenceFactory) -> ReferenceDeployment:
    return reference_factory(rate_limit=LIMIT, rate_window=WINDOW, pool_size=2)


def test_limit_per_key_with_retry_after_and_body(limited: ReferenceDeployment) -> None:
    key = limited.settings["TIXALLO_RATE_LIMIT_API_KEY"]
    with httpx.Client(
        base_url=limited.base_url, headers=limited.headers(key), trust_env=False
    ) as c:
        # Every authenticated request counts, whatever its status (part B 14).
        statuses = [
            c.get("/tickets").status_code,
            c.get(f"/tickets/{uuid.uuid4()}").status_code,
            c.get("/tickets", params={"limit": 0}).status_code,
            c.post("/tickets", json={}).status_code,
            c.get("/tickets").status_code,
        ]
        assert statuses == [200, 404, 400, 400, 200]
        limited_at = time.monotonic()
        response = c.get("/tickets")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(WINDOW)
        assert response.json() == {
            "error": "Rate limit exceeded",
            "limit": LIMIT,
            "window_seconds": WINDOW,
        }
        # Order of checks: 429 comes before validation.
        assert c.post("/tickets", json={}).status_code == 429

        # Another key of the same workspace has its own budget.
        other = limited.api_keys[1]
        assert c.get("/tickets", headers={"Authorization": f"Bearer {other}"}).status_code == 200

        # The window slides: once it has passed, the key is served again.
        deadline = limited_at + WINDOW + 5
        while (status := c.get("/tickets").status_code) == 429 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200
        assert time.monotonic() - limited_at >= WINDOW - 1.0


def test_unauthenticated_requests_count_against_no_key(limited: ReferenceDeployment) -> None:
    key = limited.api_keys[0]
    with httpx.Client(base_url=limited.base_url, trust_env=False) as c:
        for _ in range(LIMIT * 2):
            unknown = c.get("/tickets", headers={"Authorization": "Bearer txk_nope"})
            assert unknown.status_code == 401
            assert c.get("/tickets").status_code == 401
        answers = [
            c.get("/tickets", headers={"Authorization": f"Bearer {key}"}).status_code
            for _ in range(LIMIT + 1)
        ]
    assert answers == [200] * LIMIT + [429]
