"""Error statuses and their exact bodies (family: errors)."""

from __future__ import annotations

import uuid

import requests

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, require, ticket_body
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.settings import Settings

VALIDATION_ERROR = "#/components/schemas/ValidationError"
ERROR = "#/components/schemas/Error"


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
def test_malformed_json(api: ApiClient, expect: Expect) -> None:
    _, ticket = create_ticket(api, expect, label="malformed json target")
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
    "a method a documented path does not support is 405 with an Allow header (assumption, part B 10)",
)
def test_unsupported_method(api: ApiClient, expect: Expect) -> None:
    for method, path, allowed in (
        ("DELETE", "/tickets", {"GET", "POST"}),
        ("PUT", f"/tickets/{uuid.uuid4()}", {"GET"}),
    ):
        response = api.request(method, path)
        expect.status(response, 405, f"{method} {path} is not a documented operation")
        allow = {
            m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()
        }
        expect.that(
            allowed <= allow,
            f"Allow lists the methods {path} supports",
            expected=sorted(allowed),
            actual=response.headers.get("Allow"),
            responses=[response],
        )


@check(
    "unknown-path-404",
    "errors",
    "an undocumented path is 404 Not found as JSON (assumption, part B 10)",
)
def test_unknown_path(api: ApiClient, expect: Expect) -> None:
    _exact(expect, api.get("/no-such-resource"), 404, "NotFoundError", "an undocumented path")
