"""Authentication: every kind of bad credential is a 401 with the documented body (family: auth).

Every check here is run on every operation of the spec (read from it, never listed by hand),
against a ticket the workspace owns, so a credential wrongly accepted shows as a 200 or 201
rather than hiding behind a 404. 401s cost no key's budget (part B 14).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import (
    PROBED_METHODS,
    create_ticket,
    fill,
    path_methods,
    request_body,
    require,
)
from tixallo_qa.contracts._transport import MAIN, ApiClient, placeholder
from tixallo_qa.core.settings import Settings


def _other_char(char: str) -> str:
    """Another character of the same kind (digit, lower, upper), so the key keeps its alphabet."""
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if char in alphabet:
            return alphabet[(alphabet.index(char) + 1) % len(alphabet)]
    return "A"


# Header values built from a real key (None = no header); the key itself is filled in per test.
# The near misses are refused because Tixallo compares a one-way hash of the whole key (part A).
BAD_CREDENTIALS: dict[str, Callable[[str], str | None]] = {
    "missing": lambda key: None,
    "token-scheme": lambda key: f"Token {key}",
    "basic-scheme": lambda key: "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    "bare-key": lambda key: key,
    "empty-bearer": lambda key: "Bearer",
    "blank-bearer": lambda key: "Bearer   ",
    "unknown-key": lambda key: f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}",
    "key-with-suffix": lambda key: f"Bearer {key}x",
    "key-one-short": lambda key: f"Bearer {key[:-1]}",
    "key-last-changed": lambda key: f"Bearer {key[:-1]}{_other_char(key[-1])}",
    "key-other-case": lambda key: f"Bearer {key.swapcase()}",
}
# Query parameters a lenient deployment might read a key from (RFC 6750 names access_token).
QUERY_KEY_NAMES = ("api_key", "key", "token", "access_token")
# Paths no operation documents, under the root and under a ticket.
UNKNOWN_PATHS = ("/no-such-resource", "/tickets/{ticket_id}/no-such-resource")


@pytest.fixture(scope="module")
def owned(api: ApiClient, expect: Expect) -> str:
    """A ticket of the main workspace: a wrongly accepted credential reads it (200), not a 404."""
    return str(create_ticket(api, expect, label="auth target")[1]["id"])


def _unauthorized(expect: Expect, response: requests.Response, what: str) -> None:
    """401 with the documented body."""
    request = f"{response.request.method} {str(response.request.path_url).split('?')[0]}"
    expect.status(response, 401, f"{what}: {request} must be refused")
    actual = expect.json(response, f"{what}: {request}")
    expect.equal(
        actual,
        {"error": _spec.error_text("UnauthorizedError")},
        f"{what}: the 401 body of {request} is the documented one",
        responses=[response],
    )


def _credential(header: str | None) -> str | None:
    """What follows the scheme in a header value (a near miss of a key, its Basic encoding...)."""
    _, sep, rest = (header or "").strip().partition(" ")
    return rest.strip() if sep else None


def _every_operation(
    api: ApiClient,
    expect: Expect,
    authorization: str | None,
    what: str,
    ticket_id: str,
    *,
    params: dict[str, Any] | None = None,
) -> None:
    """Each operation of the spec, aimed at ``ticket_id`` with a valid body: all 401."""
    # A near miss is most of a key: kept out of every output like the key itself (pytest's own
    # tracebacks show the arguments of some calls).
    expect.redactor.add(_credential(authorization))
    for op in _spec.operations():
        response = api.request(
            op["method"],
            fill(op["path"], ticket_id),
            identity=None,
            authorization=authorization,
            json=request_body(op, "unauthorized"),
            params=params,
        )
        _unauthorized(expect, response, what)


@pytest.mark.parametrize("kind", list(BAD_CREDENTIALS))
@check(
    "bad-credentials-401",
    "auth",
    "on every operation, aimed at a ticket the workspace owns: missing, non-Bearer (Token, Basic, "
    "bare key), empty Bearer, unknown keys and near misses of a real key (a character more, one "
    "less, the last one changed, another case) get 401 with the documented body",
)
def test_bad_credentials_rejected(
    kind: str, api: ApiClient, expect: Expect, target: Settings, owned: str
) -> None:
    key = target.api_key
    assert key is not None
    authorization = BAD_CREDENTIALS[kind](key)
    if authorization == f"Bearer {key}":
        pytest.skip("the key has no letters, so it has no other case")
    _every_operation(api, expect, authorization, f"{kind} credentials", owned)


@check(
    "revoked-key-401",
    "auth",
    "a revoked key gets 401 Unauthorized on every operation, aimed at a ticket of its workspace",
)
def test_revoked_key_rejected(api: ApiClient, expect: Expect, target: Settings, owned: str) -> None:
    require(target, "revoked_api_key")
    _every_operation(api, expect, f"Bearer {target.revoked_api_key}", "a revoked key", owned)


@check(
    "key-in-query-401",
    "auth",
    "a key sent only in the query (api_key, key, token, access_token), with no Authorization "
    "header, gets 401 on every operation: the docs name the Bearer header as the one way",
)
def test_key_in_query_rejected(
    api: ApiClient, expect: Expect, target: Settings, owned: str
) -> None:
    key = target.api_key
    assert key is not None
    # The key stands in the URL here: keep its encoded forms out of every message too.
    expect.redactor.add(quote(key, safe=""), quote_plus(key))
    for name in QUERY_KEY_NAMES:
        _every_operation(
            api, expect, None, f"no header, the key as ?{name}=", owned, params={name: key}
        )


@check(
    "unauthorized-before-ticket-lookup",
    "auth",
    "bad or missing credentials to an unknown ticket id and to the merged ticket get 401 on every "
    "ticket operation, not 404 or 409: the key is checked before the ticket (assumption, part B 13)",
)
def test_unauthorized_before_ticket(api: ApiClient, expect: Expect, target: Settings) -> None:
    credentials: dict[str, str | None] = {
        "missing credentials": None,
        "an unknown key": f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}",
    }
    if target.revoked_api_key:
        credentials["a revoked key"] = f"Bearer {target.revoked_api_key}"
    tickets = {"an unknown ticket": str(uuid.uuid4())}
    if target.merged_ticket_id:
        tickets["the merged ticket"] = target.merged_ticket_id
    for op in _spec.operations():
        if "{ticket_id}" not in op["path"]:
            continue
        for ticket, ticket_id in tickets.items():
            for who, authorization in credentials.items():
                response = api.request(
                    op["method"],
                    fill(op["path"], ticket_id),
                    identity=None,
                    authorization=authorization,
                    json=request_body(op, "unauthorized"),
                )
                _unauthorized(expect, response, f"{who}, to {ticket}")


@check(
    "routing-before-auth",
    "auth",
    "without a valid key (none, or an unknown one) an undocumented path is still 404 Not found "
    "and a method a documented path does not support still 405: routing comes before the key "
    "(assumption, part B 10 and 13)",
)
def test_routing_before_auth(api: ApiClient, expect: Expect) -> None:
    not_found = {"error": _spec.error_text("NotFoundError")}
    for who, authorization in (
        ("no credentials", None),
        ("an unknown key", f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}"),
    ):
        for template in UNKNOWN_PATHS:
            path = fill(template, str(uuid.uuid4()))
            response = api.get(path, identity=None, authorization=authorization)
            what = f"GET {path}, with {who}: no such path"
            expect.status(response, 404, what)
            expect.equal(
                expect.json(response, what),
                not_found,
                f"{what}: the 404 body is the documented one",
                responses=[response],
            )
        for template, documented in path_methods().items():
            path = fill(template, str(uuid.uuid4()))
            for method in PROBED_METHODS:
                if method in documented:
                    continue
                response = api.request(method, path, identity=None, authorization=authorization)
                expect.status(
                    response, 405, f"{method} {template}, with {who}: not a documented operation"
                )


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
