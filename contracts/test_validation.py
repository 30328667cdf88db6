"""Validation limits and required fields, read from the spec's request schemas (family: validation)."""

from __future__ import annotations

from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import RUN_ID, create_ticket, rejected, ticket_body
from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._transport import ApiClient

CREATE = "CreateTicketRequest"
MESSAGE = "AddMessageRequest"


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
