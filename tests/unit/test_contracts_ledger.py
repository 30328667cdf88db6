"""The ledger of creates: which 201s it records, and the events they must fire."""

from __future__ import annotations

import json

import pytest
import requests

from tixallo_qa.contracts._exchanges import Exchange, ExchangeLog
from tixallo_qa.contracts._ledger import Ledger
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED

pytestmark = pytest.mark.unit

BASE = "http://127.0.0.1:9/api/v1"
TICKET = {"id": "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3", "ticket_number": 3, "subject": "s"}


def _observe(
    ledger: Ledger, method: str, path: str, status: int, body: object, identity: str | None = "main"
) -> Exchange:
    exchange = ExchangeLog().new(method, BASE + path, {}, None)
    exchange.status, exchange.identity, exchange.started_at = status, identity, 1000.0
    exchange.response_body = json.dumps(body).encode()
    ledger.observe(exchange, requests.Response())
    return exchange


def test_records_created_tickets_and_messages() -> None:
    ledger = Ledger(BASE)
    seen: list[str] = []
    ledger.listeners.append(lambda c: seen.append(c.key))
    _observe(ledger, "POST", "/tickets", 201, {"data": TICKET})
    _observe(
        ledger,
        "POST",
        f"/tickets/{TICKET['id']}/messages",
        201,
        {"data": {"id": "m-1", "body": "hi"}},
    )
    created = list(ledger)
    assert [c.event_type for c in created] == [TICKET_CREATED, MESSAGE_CREATED]
    assert created[1].ticket_id == TICKET["id"] and created[1].message_id == "m-1"
    assert seen == [TICKET["id"], "m-1"]
    assert ledger.ticket(TICKET["id"]) is created[0]
    assert ledger.ticket_ids("main") == {TICKET["id"]} and ledger.ticket_ids("other") == set()


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("POST", "/tickets", 400, {"error": "Invalid input"}),
        ("GET", "/tickets", 201, {"data": TICKET}),
        ("POST", "/tickets", 201, "not an object"),
        ("POST", "/elsewhere", 201, {"data": TICKET}),
        ("POST", "/tickets", 201, {"data": {"no": "id"}}),
    ],
)
def test_ignores_everything_but_successful_creates(
    method: str, path: str, status: int, body: object
) -> None:
    ledger = Ledger(BASE)
    _observe(ledger, method, path, status, body)
    assert len(ledger) == 0


def test_ignores_other_base_paths() -> None:
    ledger = Ledger("http://127.0.0.1:9/other/v1")
    _observe(ledger, "POST", "/tickets", 201, {"data": TICKET})
    assert len(ledger) == 0


def test_failed_requests_are_not_recorded() -> None:
    ledger = Ledger(BASE)
    exchange = ExchangeLog().new("POST", BASE + "/tickets", {}, None)
    ledger.observe(exchange, None)
    assert len(ledger) == 0
