"""The contract itself: valid OpenAPI 3.1, loadable by schemathesis, assumptions marked."""

from __future__ import annotations

import pytest
import schemathesis
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tixallo_qa.core import spec

pytestmark = pytest.mark.unit

OPERATIONS = {"listTickets", "createTicket", "getTicket", "addMessage"}


def test_spec_is_valid_openapi_31() -> None:
    document, _ = read_from_filename(str(spec.SPEC_PATH))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_schemathesis_loads_every_operation() -> None:
    schema = schemathesis.openapi.from_path(str(spec.SPEC_PATH))
    ids = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert ids == OPERATIONS


def test_links_chain_create_to_get_and_add_message() -> None:
    links = spec.load_spec()["paths"]["/tickets"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"getTicket", "addMessage"}


def test_webhook_payload_schemas_resolve_through_the_registry() -> None:
    assert set(spec.webhook_event_types()) == {"ticket.created", "ticket.message.created"}
    good = {
        "event_type": "ticket.message.created",
        "created_at": "2026-05-04T11:02:48Z",
        "ticket_id": "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3",
        "ticket_number": 1042,
        "message_id": "m2",
        "author_type": "customer",
        "body": "hi",
    }
    assert not list(spec.webhook_validator("ticket.message.created").iter_errors(good))
    bad = {**good, "author_type": "internal"}
    assert list(spec.webhook_validator("ticket.message.created").iter_errors(bad))


def test_every_part_b_item_is_marked_as_an_assumption() -> None:
    document = spec.load_spec()
    for event in document["webhooks"].values():
        assert "x-tixallo-assumption" in event["post"]
    for name in (
        "WebhookEvent",
        "WebhookDelivery",
        "WebhookTimestamp",
        "WebhookSignature",
        "Limit",
    ):
        assert "x-tixallo-assumption" in document["components"]["parameters"][name]
    schemas = document["components"]["schemas"]
    for name in ("TicketCreatedEvent", "TicketMessageCreatedEvent", "AuthorType", "Timestamp"):
        assert "x-tixallo-assumption" in schemas[name]


def test_documented_limits_are_in_the_request_schemas() -> None:
    create = spec.component("CreateTicketRequest")["properties"]
    assert (create["subject"]["minLength"], create["subject"]["maxLength"]) == (1, 300)
    assert create["description"]["maxLength"] == 20000
    email = create["customer_email"]
    assert (email["format"], email["maxLength"]) == ("email", 255)
    assert create["customer_name"]["maxLength"] == 120
    assert spec.component("Priority")["enum"] == ["low", "medium", "high", "urgent"]
    assert spec.limit_parameter() == {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}
