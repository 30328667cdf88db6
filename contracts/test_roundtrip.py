"""Round trip: what a client sends comes back unchanged, with the documented defaults (family: round-trip)."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import (
    create_ticket,
    get_ticket,
    ticket_body,
    unique,
    unique_email,
)
from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._time import is_rfc3339
from tixallo_qa.contracts._transport import ApiClient

# Documented for tickets created through the API (API reference example; part B 5).
NEW_STATUS = "new"
API_SOURCE = "api"
CUSTOMER = "customer"


@pytest.fixture(scope="module")
def full_ticket(api: ApiClient, expect: Expect) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """A ticket created with every request field set to an awkward but valid value."""
    props = _spec.request_properties("CreateTicketRequest")
    # Surrounding spaces, non-ASCII and the full length: trimming or truncating shows at once.
    subject = f"  Ünïcødé ✓ <b>&amp; {unique('round trip')}  "
    subject = subject + "x" * (props["subject"]["maxLength"] - len(subject))
    body = {
        "subject": subject,
        # Surrounding whitespace (the description becomes the first message: trimmed there or
        # here, it shows), markup and entities (escaped on some read, it shows).
        "description": (
            ' \tLine one\nLine two — with "quotes", <b>tags</b> & an &amp; entity, a \\ '
            "backslash\n\n  indented  \n"
        ),
        "customer_email": unique_email("roundtrip"),
        "customer_name": "Zoë O'Brien-Łukasz",
        "priority": next(p for p in _spec.priority()["enum"] if p != _spec.priority()["default"]),
    }
    response = api.post("/tickets", json=body)
    expect.status(response, 201, "creating a ticket with every field set must succeed")
    return body, response, expect.json(response, "createTicket")["data"]


@check(
    "request-fields-round-trip",
    "round-trip",
    "subject, description, priority and the customer's email and name come back unchanged",
)
def test_fields_round_trip(
    api: ApiClient, expect: Expect, full_ticket: tuple[dict[str, Any], Any, dict[str, Any]]
) -> None:
    sent, created_response, created = full_ticket
    for field in ("subject", "description", "priority"):
        expect.equal(
            created.get(field),
            sent[field],
            f"createTicket returns {field} unchanged",
            responses=[created_response],
        )
    response, detail = get_ticket(api, expect, created["id"])
    for field in ("subject", "description", "priority"):
        expect.equal(
            detail.get(field),
            sent[field],
            f"getTicket returns {field} unchanged",
            responses=[response],
        )
    customer = detail.get("customer") or {}
    expect.equal(
        customer.get("email"),
        sent["customer_email"],
        "the customer's email round-trips",
        responses=[response],
    )
    expect.equal(
        customer.get("name"),
        sent["customer_name"],
        "a new customer's name round-trips",
        responses=[response],
    )
    expect.equal(
        detail.get("customer_id"),
        created.get("customer_id"),
        "customer_id is stable between create and read",
        responses=[created_response, response],
    )


@check(
    "new-ticket-status-and-source",
    "round-trip",
    "a ticket created through the API has status 'new' and source 'api', and RFC 3339 timestamps",
)
def test_status_and_source(
    api: ApiClient, expect: Expect, full_ticket: tuple[dict[str, Any], Any, dict[str, Any]]
) -> None:
    _, created_response, created = full_ticket
    response, detail = get_ticket(api, expect, created["id"])
    for where, data, resp in (
        ("createTicket", created, created_response),
        ("getTicket", detail, response),
    ):
        expect.equal(
            data.get("status"), NEW_STATUS, f"{where}: status of a new API ticket", responses=[resp]
        )
        expect.equal(
            data.get("source"), API_SOURCE, f"{where}: source of an API ticket", responses=[resp]
        )
        for field in ("created_at", "updated_at"):
            expect.that(
                is_rfc3339(data.get(field)),
                f"{where}: {field} is an RFC 3339 timestamp with a zone (part B 15)",
                expected="e.g. 2026-05-04T10:55:02Z",
                actual=data.get(field),
                responses=[resp],
            )


@check(
    "priority-default", "round-trip", "a ticket created without priority gets the spec's default"
)
def test_priority_default(api: ApiClient, expect: Expect) -> None:
    default = _spec.priority()["default"]
    response, created = create_ticket(api, expect, label="default priority")
    expect.equal(
        created.get("priority"),
        default,
        "a missing priority takes the spec's default",
        responses=[response],
    )


@check(
    "description-first-message",
    "round-trip",
    "the description is the ticket's first message, from the customer",
)
def test_description_first_message(
    api: ApiClient, expect: Expect, full_ticket: tuple[dict[str, Any], Any, dict[str, Any]]
) -> None:
    sent, _, created = full_ticket
    response, detail = get_ticket(api, expect, created["id"])
    messages = detail.get("messages") or []
    expect.that(
        bool(messages),
        "a new ticket has its description as a message (part B 4)",
        expected="one message",
        actual=messages,
        responses=[response],
    )
    first = messages[0]
    expect.equal(
        first.get("body"),
        sent["description"],
        "the first message is the description",
        responses=[response],
    )
    expect.equal(
        first.get("author_type"),
        CUSTOMER,
        "the first message is the customer's",
        responses=[response],
    )


@check(
    "posted-message-round-trip",
    "round-trip",
    "a posted message is stored as the customer's, unchanged, after the earlier ones (oldest first)",
)
def test_posted_message(api: ApiClient, expect: Expect) -> None:
    _, ticket = create_ticket(api, expect, label="messages")
    # Surrounding whitespace, markup, entities, quotes and a backslash: stored as sent, read as sent.
    text = f"  <p>{unique('message')}</p> & &lt; \"quoted\" 'single' — ünïcødé\n\tsecond \\ line  "
    posted = api.post(f"/tickets/{ticket['id']}/messages", json={"body": text})
    expect.status(posted, 201, "posting a message to a ticket of the workspace must succeed")
    data = expect.json(posted, "addMessage")["data"]
    expect.equal(
        data.get("author_type"),
        CUSTOMER,
        "messages posted through the API are the customer's",
        responses=[posted],
    )
    expect.equal(
        data.get("body"), text, "the message body round-trips unchanged", responses=[posted]
    )
    response, detail = get_ticket(api, expect, ticket["id"])
    messages = detail.get("messages") or []
    ids = [m.get("id") for m in messages]
    expect.that(
        ids[-1:] == [data.get("id")] and len(ids) >= 2,
        "the new message is last, after the description (oldest first, part B 4)",
        expected=f"[..., {data.get('id')}]",
        actual=ids,
        responses=[posted, response],
    )
    stored = messages[-1]
    expect.that(
        stored.get("author_type") == CUSTOMER and stored.get("body") == text,
        "the stored message is the customer's, unchanged",
        expected={"author_type": CUSTOMER, "body": text},
        actual={k: stored.get(k) for k in ("author_type", "body")},
        responses=[response],
    )


@check(
    "ticket-number-increasing",
    "round-trip",
    "ticket_number is unique and increases with creation order, also for concurrent creates",
)
def test_ticket_numbers(api: ApiClient, expect: Expect, budget: Budget) -> None:
    before_response, before = create_ticket(api, expect, label="number before")
    bodies = [ticket_body("number concurrent") for _ in range(budget.concurrent_creates)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(10, len(bodies))) as pool:
        responses = list(pool.map(lambda b: api.post("/tickets", json=b), bodies))
    for response in responses:
        expect.status(response, 201, "concurrent creates must all succeed")
    numbers = [expect.json(r, "createTicket")["data"].get("ticket_number") for r in responses]
    after_response, after = create_ticket(api, expect, label="number after")
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    expect.that(
        not duplicates,
        f"{len(numbers)} tickets created at once must get distinct ticket_numbers",
        expected="all distinct",
        actual=f"shared: {duplicates} in {numbers}",
        responses=[r for r in responses if r.json()["data"].get("ticket_number") in duplicates][:2],
    )
    low, high = before["ticket_number"], after["ticket_number"]
    outside = [n for n in numbers if not (isinstance(n, int) and low < n < high)]
    expect.that(
        not outside,
        "ticket_numbers increase with creation order (part B 6)",
        expected=f"all between {low} (created before) and {high} (created after)",
        actual=numbers,
        responses=[before_response, after_response],
    )
