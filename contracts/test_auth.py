"""Authentication: every kind of bad credential is a 401 with the documented body (family: auth)."""

from __future__ import annotations

import base64
import secrets

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import require, ticket_body
from tixallo_qa.contracts._transport import MAIN, ApiClient, placeholder
from tixallo_qa.core.settings import Settings

# Header values built from a real key (None = no header); the key itself is filled in per test.
BAD_CREDENTIALS = {
    "missing": lambda key: None,
    "token-scheme": lambda key: f"Token {key}",
    "basic-scheme": lambda key: "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    "bare-key": lambda key: key,
    "unknown-key": lambda key: f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}",
}


def _assert_unauthorized(
    api: ApiClient, expect: Expect, authorization: str | None, what: str
) -> None:
    body = {"error": _spec.error_text("UnauthorizedError")}
    # Both a read and a write: a deployment may guard them differently.
    for response in (
        api.get("/tickets", identity=None, authorization=authorization),
        api.post(
            "/tickets", json=ticket_body("unauthorized"), identity=None, authorization=authorization
        ),
    ):
        request = f"{response.request.method} {response.request.path_url.split('?')[0]}"
        expect.status(response, 401, f"{what}: {request} must be refused")
        actual = expect.json(response, what)
        expect.equal(
            actual, body, f"{what}: the 401 body is the documented one", responses=[response]
        )


@pytest.mark.parametrize("kind", list(BAD_CREDENTIALS))
@check(
    "bad-credentials-401",
    "auth",
    "missing, non-Bearer (Token, Basic, bare key) and unknown credentials get 401 Unauthorized",
)
def test_bad_credentials_rejected(
    kind: str, api: ApiClient, expect: Expect, target: Settings
) -> None:
    assert target.api_key is not None
    _assert_unauthorized(api, expect, BAD_CREDENTIALS[kind](target.api_key), f"{kind} credentials")


@check("revoked-key-401", "auth", "a revoked key gets 401 Unauthorized")
def test_revoked_key_rejected(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "revoked_api_key")
    _assert_unauthorized(api, expect, f"Bearer {target.revoked_api_key}", "a revoked key")


@check(
    "bearer-scheme-case-insensitive",
    "auth",
    "the scheme name is case-insensitive: 'bearer KEY' works (assumption, part B 12)",
)
def test_bearer_case_insensitive(api: ApiClient, expect: Expect) -> None:
    response = api.get("/tickets", params={"limit": 1}, authorization=f"bearer {placeholder(MAIN)}")
    expect.status(
        response, 200, "'bearer' in lower case is the same scheme as 'Bearer' (RFC 7235; part B 12)"
    )
