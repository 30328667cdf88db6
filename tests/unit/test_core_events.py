"""core.events: the event names match the spec, payloads are built from the spec's field lists."""

from __future__ import annotations

import pytest

from tixallo_qa.core import events, spec

pytestmark = pytest.mark.unit


def test_event_names_are_the_ones_the_spec_documents() -> None:
    assert {
        "ticket": spec.fired_by("createTicket"),
        "message": spec.fired_by("addMessage"),
    } == events.EVENT_OF
    assert set(events.EVENT_OF.values()) <= set(spec.webhook_event_types())
    assert spec.fired_by("listTickets") is None


@pytest.mark.parametrize("event_type", spec.webhook_event_types())
def test_a_built_payload_is_valid_and_holds_the_api_values(event_type: str) -> None:
    ticket = {
        "id": "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3",
        "ticket_number": 7,
        "subject": "s",
        "description": "d",
        "status": "new",
        "priority": "high",
        "source": "api",
        "customer_id": "c-1",
        "created_at": "2026-05-04T10:00:00Z",
        "updated_at": "2026-05-04T10:05:00Z",
    }
    message = {
        "id": "m-1",
        "author_type": "customer",
        "body": "b",
        "created_at": "2026-05-04T10:05:00Z",
    }
    payload = events.payload(event_type, ticket, message)
    assert list(payload) == events.payload_fields(event_type)
    assert not list(spec.webhook_validator(event_type).iter_errors(payload))
    assert payload["ticket_id"] == ticket["id"] and payload["event_type"] == event_type
    # part B 11: a message event carries the message's created_at, a ticket event the ticket's.
    own = message if event_type == events.MESSAGE_CREATED else ticket
    assert payload["created_at"] == own["created_at"]


def test_the_logical_event_key() -> None:
    assert events.event_key(events.TICKET_CREATED, "t1", "m1") == "ticket.created:t1"
    assert events.event_key(events.MESSAGE_CREATED, "t1", "m1") == "ticket.message.created:m1"
    assert events.event_key(events.MESSAGE_CREATED, "t1", None) is None
    assert (
        events.payload_key(events.MESSAGE_CREATED, {"message_id": 5}) == "ticket.message.created:5"
    )
    assert events.payload_key(events.TICKET_CREATED, {"ticket_id": True}) is None


def test_lag_is_never_negative() -> None:
    assert events.lag(10.0, 9.5) == 0.0 and events.lag(10.0, 10.25) == 0.25
