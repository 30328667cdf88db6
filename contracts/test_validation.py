"""Validation limits and required fields, read from the spec's request schemas (family: validation)."""

from __future__ import annotations

from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import (
    RUN_ID,
    create_ticket,
    rejected,
    ticket_body,
    unique_email,
    unique_tag,
)
from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._transport import ApiClient

CREATE = "CreateTicketRequest"
MESSAGE = "AddMessageRequest"
# Characters of one UTF-16 unit each (what a JavaScript length counts), two or three bytes in
# UTF-8, unchanged by Unicode normalisation: a limit counted in bytes refuses them long before.
WIDE = "éü語ñ€ß漢ø"
# Valid, if unusual: capitals (the domain is case-insensitive, the local part may be either),
# plus-addressing, a subdomain with a hyphen.
UNUSUAL_EMAIL = "QA.Mixed+{tag}@Mail-Box.Example.COM"


def _email_of_length(length: int) -> str:
    """A plausible address exactly ``length`` characters long (DNS labels of 63, local part padded)."""
    domain = ".".join(["d" * 63] * 3) + ".com"
    local = (f"qa.{RUN_ID}." + "x" * length)[: max(1, length - len(domain) - 1)]
    return f"{local}@{domain}"


def _value(field: str, length: int) -> str:
    if field == "customer_email":
        return _email_of_length(length)
    return ("b" * length) if length else ""


def _length_cases(component: str, all_boundaries: bool) -> list[tuple[str, int, bool]]:
    """(field, length, accepted) at each string field's bounds; the sharpest few unless all."""
    cases = []
    for field, schema in _spec.request_properties(component).items():
        if schema.get("type") != "string" or "enum" in schema:
            continue
        if "maxLength" in schema:
            if all_boundaries or field in ("subject", "body"):
                cases.append((field, int(schema["maxLength"]), True))
            cases.append((field, int(schema["maxLength"]) + 1, False))
        if schema.get("minLength", 0) >= 1 and (all_boundaries or field in ("subject", "body")):
            cases.append((field, int(schema["minLength"]) - 1, False))
    return cases


@check(
    "create-field-limits",
    "validation",
    "createTicket accepts each field at its spec limit and rejects it one past, with fieldErrors",
)
def test_create_limits(api: ApiClient, expect: Expect, budget: Budget) -> None:
    for field, length, accepted in _length_cases(CREATE, budget.all_boundaries):
        body = ticket_body(f"limit {field}", **{field: _value(field, length)})
        what = f"createTicket with {field} of {length} characters"
        response = api.post("/tickets", json=body)
        if accepted:
            expect.status(response, 201, f"{what} is within the spec and must be accepted")
            data = expect.json(response, what)["data"]
            expect.that(
                data.get(field, body[field]) == body[field],
                f"{what}: the value is stored whole",
                expected=f"{length} characters",
                actual=f"{len(str(data.get(field)))} characters",
                responses=[response],
            )
        else:
            rejected(expect, response, field, f"{what} breaks the spec")


def _wide(label: str, length: int) -> str:
    """A unique string of exactly ``length`` characters, all but its short ASCII tag non-ASCII."""
    tag = f"{RUN_ID}-{label} "[:length]
    return tag + "".join(WIDE[i % len(WIDE)] for i in range(length - len(tag)))


def _accepted(
    api: ApiClient, expect: Expect, path: str, body: dict[str, Any], what: str
) -> dict[str, Any]:
    """POST ``body``: a 201 whose answer holds every field it echoes exactly as sent."""
    response = api.post(path, json=body)
    expect.status(response, 201, f"{what}: valid, so accepted")
    data: dict[str, Any] = expect.json(response, what)["data"]
    for field in (f for f in body if f in data):
        expect.equal(
            data[field], body[field], f"{what}: {field} is stored whole", responses=[response]
        )
    return data


@check(
    "valid-input-accepted-whole",
    "validation",
    "every string field at its spec maximum in non-ASCII characters (lengths count characters, "
    "not bytes) and at its minimum in whitespace (the spec's minLength counts every character), "
    "and an email with capitals, plus-addressing and a subdomain, are accepted and stored whole "
    "by createTicket and addMessage",
)
def test_valid_input_accepted(api: ApiClient, expect: Expect) -> None:
    longest: dict[str, Any] = {"customer_email": UNUSUAL_EMAIL.format(tag=unique_tag())}
    shortest: dict[str, Any] = {"customer_email": unique_email("shortest")}
    for field, schema in _spec.request_properties(CREATE).items():
        if schema.get("type") == "string" and "maxLength" in schema and field not in longest:
            longest[field] = _wide(field, int(schema["maxLength"]))
            shortest[field] = " " * max(1, int(schema.get("minLength", 1)))
    ticket = _accepted(
        api,
        expect,
        "/tickets",
        longest,
        "createTicket with every field at its maximum in non-ASCII characters and the email "
        f"{longest['customer_email']!r}",
    )
    _accepted(
        api, expect, "/tickets", shortest, "createTicket with every field at its minimum in spaces"
    )
    rule = _spec.request_properties(MESSAGE)["body"]
    path = f"/tickets/{ticket['id']}/messages"
    limit = int(rule["maxLength"])
    body = _wide("body", limit)
    _accepted(
        api, expect, path, {"body": body}, f"addMessage with a body of {limit} non-ASCII characters"
    )
    blank = " " * max(1, int(rule.get("minLength", 1)))
    _accepted(
        api, expect, path, {"body": blank}, f"addMessage with a body of {len(blank)} space(s)"
    )


@check(
    "optional-fields-null",
    "validation",
    "createTicket with every optional field given as null is refused (400 naming one) or taken "
    "as if they were left out (201, the spec's defaults), never a 5xx: which, the docs leave open",
)
def test_optional_fields_null(api: ApiClient, expect: Expect) -> None:
    required = set(_spec.required(CREATE))
    optional = [f for f in _spec.request_properties(CREATE) if f not in required]
    body = {**ticket_body("null optionals"), **dict.fromkeys(optional)}
    what = f"createTicket with {', '.join(optional)} null"
    response = api.post("/tickets", json=body)
    expect.status(response, (201, 400), f"{what}: refused or read as left out, never a failure")
    found = expect.json(response, what)
    if response.status_code == 400:
        names = set(((found.get("details") or {}).get("fieldErrors")) or {})
        expect.that(
            bool(names & set(optional)),
            f"{what}: the 400 names a field given as null",
            expected=f"one of {optional}",
            actual=sorted(names),
            responses=[response],
        )
        return
    data = found.get("data") or {}
    for field, schema in _spec.request_properties(CREATE).items():
        if field in optional and field in data and "default" in schema:
            expect.equal(
                data[field],
                schema["default"],
                f"{what}: {field} takes its default",
                responses=[response],
            )


# JSON that is not an object: every JSON reader takes an array, so refusing one is validation
# (the documented body); a bare string may also be read as malformed JSON (an error string).
NOT_OBJECTS = {"an array": ("[]", True), "a string": ('"text"', False)}


@check(
    "non-object-body-rejected",
    "validation",
    "a JSON body that is not an object (an array, a string) is a 400 on every operation with a "
    "body, never a 5xx; for an array, the documented validation error (fieldErrors and formErrors)",
)
def test_non_object_body(api: ApiClient, expect: Expect, message_ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        if not op["request"]:
            continue
        path = str(op["path"]).replace("{ticket_id}", str(message_ticket["id"]))
        for kind, (raw, validation) in NOT_OBJECTS.items():
            what = f"{op['operation_id']} with {kind} as its body"
            response = api.request(op["method"], path, data=raw.encode())
            expect.status(response, 400, f"{what} is invalid input")
            found = expect.json(response, what)
            shapes = ["ValidationError"] if validation else ["ValidationError", "Error"]
            problems = [_spec.validate(f"#/components/schemas/{s}", found) for s in shapes]
            expect.that(
                any(not p for p in problems),
                f"{what}: the body is the documented " + " or ".join(shapes),
                expected=" or ".join(shapes),
                actual=problems[0],
                responses=[response],
            )


@check(
    "create-required-and-enums",
    "validation",
    "createTicket rejects a missing required field, a bad email and an unknown priority",
)
def test_create_required(api: ApiClient, expect: Expect, budget: Budget) -> None:
    required = _spec.required(CREATE)
    for field in required if budget.all_boundaries else required[-1:]:
        body = ticket_body(f"missing {field}")
        del body[field]
        rejected(expect, api.post("/tickets", json=body), field, f"createTicket without {field}")
    rejected(
        expect,
        api.post("/tickets", json=ticket_body("bad email", customer_email="not-an-email")),
        "customer_email",
        "createTicket with customer_email 'not-an-email'",
    )
    rejected(
        expect,
        api.post("/tickets", json=ticket_body("bad priority", priority="critical")),
        "priority",
        "createTicket with priority 'critical' (not in the spec's enum)",
    )


@pytest.fixture(scope="module")
def message_ticket(api: ApiClient, expect: Expect) -> dict[str, Any]:
    return create_ticket(api, expect, label="message limits")[1]


@check(
    "message-body-limits",
    "validation",
    "addMessage accepts a body at its spec limit and rejects one past it, an empty one and a missing one",
)
def test_message_limits(
    api: ApiClient, expect: Expect, budget: Budget, message_ticket: dict[str, Any]
) -> None:
    path = f"/tickets/{message_ticket['id']}/messages"
    for field, length, accepted in _length_cases(MESSAGE, budget.all_boundaries):
        what = f"addMessage with {field} of {length} characters"
        response = api.post(path, json={field: _value(field, length)})
        if accepted:
            expect.status(response, 201, f"{what} is within the spec and must be accepted")
        else:
            rejected(expect, response, field, f"{what} breaks the spec")
    rejected(expect, api.post(path, json={}), "body", "addMessage without body")


@check(
    "list-limit-bounds",
    "validation",
    "listTickets rejects a limit one below its spec minimum and one above its maximum, with fieldErrors",
)
def test_list_limit_bounds(api: ApiClient, expect: Expect) -> None:
    # Only the coverage phase (not in the smoke profile) would otherwise send these: a deployment
    # that clamps instead of rejecting passes every generated smoke test.
    bounds = _spec.limit()
    for limit in (int(bounds["minimum"]) - 1, int(bounds["maximum"]) + 1):
        response = api.get("/tickets", params={"limit": limit})
        rejected(expect, response, "limit", f"listTickets with limit={limit} (outside the spec)")
