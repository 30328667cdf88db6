"""Error statuses and their exact bodies (family: errors)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tixallo_qa.contracts import _lookalikes as lookalikes
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
    ticket_body,
)
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.settings import Settings

VALIDATION_ERROR = "#/components/schemas/ValidationError"
ERROR = "#/components/schemas/Error"
# Methods a 405's Allow may name beyond the documented ones: frameworks answer HEAD wherever
# they answer GET, and OPTIONS everywhere (CORS); the docs say nothing against either.
IMPLIED_METHODS = frozenset({"HEAD", "OPTIONS"})


@pytest.fixture(scope="module")
def ticket(api: ApiClient, expect: Expect) -> dict[str, Any]:
    """One ticket of the main workspace the checks of this module aim at."""
    return create_ticket(api, expect, label="errors target")[1]


def _exact(
    expect: Expect, response: requests.Response, status: int, component: str, what: str
) -> None:
    expect.status(response, status, what)
    body = {"error": _spec.error_text(component)}
    actual = expect.json(response, what)
    expect.equal(actual, body, f"{what}: the body is the documented one", responses=[response])


@check(
    "unknown-ticket-404",
    "errors",
    "an unknown ticket id is 404 Not found on GET and on POST message",
)
def test_unknown_ticket(api: ApiClient, expect: Expect) -> None:
    unknown = str(uuid.uuid4())
    _exact(
        expect, api.get(f"/tickets/{unknown}"), 404, "NotFoundError", "reading an unknown ticket"
    )
    _exact(
        expect,
        api.post(f"/tickets/{unknown}/messages", json={"body": "tixallo-qa"}),
        404,
        "NotFoundError",
        "posting to an unknown ticket",
    )


@check(
    "non-uuid-ticket-id",
    "errors",
    "a ticket id that is not a UUID is answered 404 or 400, never 5xx (part B 8)",
)
def test_non_uuid_id(api: ApiClient, expect: Expect) -> None:
    response = api.get("/tickets/not-a-uuid")
    expect.status(response, (404, 400), "a malformed ticket id is a client error")
    errors = _spec.validate(ERROR, expect.json(response, "a malformed id"))
    expect.that(
        not errors,
        "the error body has the documented shape",
        expected='{"error": "..."}',
        actual=errors,
        responses=[response],
    )


@check(
    "uuid-forms-never-5xx",
    "errors",
    "a ticket id in a form a lenient UUID parser takes (upper case, no hyphens, braces, a URN) is "
    "never a 5xx on any ticket operation (part B 8); which non-5xx answer is open: 404, 400, or "
    "the ticket itself when the form is that ticket's UUID",
)
def test_uuid_forms(api: ApiClient, expect: Expect, ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        if "{ticket_id}" not in op["path"]:
            continue
        # A read aims at a real ticket (its forms may find it); a write at an unknown one, so a
        # deployment that reads the form as the UUID stores nothing.
        real = str(ticket["id"]) if op["method"] == "GET" else str(uuid.uuid4())
        body = request_body(op, "uuid form")
        for case in lookalikes.ticket_id(real):
            if case.expect != lookalikes.OPEN:
                continue
            response = api.request(op["method"], fill(op["path"], case.value), json=body)
            expect.that(
                response.status_code < 500,
                f"{op['operation_id']} for the id {case.value!r} ({case.kind}; part B 8: never 5xx)",
                expected="404, 400" + (" or 200" if op["method"] == "GET" else "") + ", not 5xx",
                actual=response.status_code,
                responses=[response],
            )


@check(
    "merged-ticket-409",
    "errors",
    "a merged ticket is readable (200) and refuses messages with 409 Ticket has been merged",
)
def test_merged_ticket(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "merged_ticket_id")
    response = api.get(f"/tickets/{target.merged_ticket_id}")
    expect.status(response, 200, "a merged ticket stays readable by id (part B 9)")
    _exact(
        expect,
        api.post(
            f"/tickets/{target.merged_ticket_id}/messages",
            json={"body": "tixallo-qa: to a merged ticket"},
        ),
        409,
        "MergedError",
        "posting to a merged ticket",
    )


@check(
    "invalid-body-before-merged",
    "errors",
    "an invalid body to a merged ticket is a 400: the body is checked before the ticket (part B 13)",
)
def test_invalid_body_to_merged(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "merged_ticket_id")
    response = api.post(f"/tickets/{target.merged_ticket_id}/messages", json={"body": ""})
    expect.status(response, 400, "validation comes before the merged check")


@check(
    "validation-error-shape",
    "errors",
    "a validation failure is 400 Invalid input with fieldErrors keyed by field and formErrors",
)
def test_validation_error_shape(api: ApiClient, expect: Expect) -> None:
    response = api.post("/tickets", json=ticket_body("bad email", customer_email="not-an-email"))
    expect.status(response, 400, "an invalid customer_email is a 400 (validation does not use 422)")
    body = expect.json(response, "validation error")
    errors = _spec.validate(VALIDATION_ERROR, body)
    expect.that(
        not errors,
        "the 400 body matches the spec's ValidationError",
        expected="ValidationError",
        actual=errors,
        responses=[response],
    )
    field_errors = (body.get("details") or {}).get("fieldErrors") or {}
    expect.that(
        bool(field_errors.get("customer_email")),
        "fieldErrors names the invalid field",
        expected="fieldErrors.customer_email",
        actual=field_errors,
        responses=[response],
    )


@check(
    "malformed-json-400", "errors", "a malformed JSON body is a 400 with an error string, not a 5xx"
)
def test_malformed_json(api: ApiClient, expect: Expect, ticket: dict[str, Any]) -> None:
    for path in ("/tickets", f"/tickets/{ticket['id']}/messages"):
        response = api.post(path, data='{"subject": "unterminated')
        expect.status(response, 400, f"malformed JSON to POST {path}")
        errors = _spec.validate(ERROR, expect.json(response, "malformed JSON"))
        expect.that(
            not errors,
            "the 400 body has an error string",
            expected='{"error": "..."}',
            actual=errors,
            responses=[response],
        )


@check(
    "unsupported-method-405",
    "errors",
    "every documented path asked with a method it does not support (GET, POST, PUT, PATCH, "
    "DELETE) answers 405 with an Allow header naming exactly the path's documented methods; HEAD "
    "and OPTIONS may be added, as frameworks do (assumption, part B 10)",
)
def test_unsupported_method(api: ApiClient, expect: Expect) -> None:
    for template, documented in path_methods().items():
        # An unknown ticket: the method is refused before the ticket is looked up (part B 13).
        path = fill(template, str(uuid.uuid4()))
        for method in PROBED_METHODS:
            if method in documented:
                continue
            response = api.request(method, path)
            expect.status(response, 405, f"{method} {template} is not a documented operation")
            header = response.headers.get("Allow")
            allow = {m.strip().upper() for m in (header or "").split(",") if m.strip()}
            expect.that(
                documented <= allow and allow - documented <= IMPLIED_METHODS,
                f"the Allow of {method} {template} names the methods {template} supports, "
                "and no other (HEAD and OPTIONS may be added)",
                expected=", ".join(sorted(documented)),
                actual=header,
                responses=[response],
            )


@check(
    "unknown-path-404",
    "errors",
    "an undocumented path is 404 Not found as JSON (assumption, part B 10)",
)
def test_unknown_path(api: ApiClient, expect: Expect) -> None:
    _exact(expect, api.get("/no-such-resource"), 404, "NotFoundError", "an undocumented path")
