"""The webhook sweep without a server: every attempt judged, delivery ids, retries' timestamps."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import requests

from tixallo_qa.contracts._exchanges import ExchangeLog
from tixallo_qa.contracts._ledger import Ledger
from tixallo_qa.contracts._state import SuiteState
from tixallo_qa.contracts._sweep import RESTAMP_SLACK, Scheme, Sweep, collect
from tixallo_qa.webhook_sink.client import SinkClient
from tixallo_qa.webhook_sink.testing import message_created, ticket_created

pytestmark = pytest.mark.unit

BASE = "http://127.0.0.1:9/api/v1"
TIXALLO = Scheme(("X-Tixallo-Delivery", "X-Tixallo-Event"), "x-tixallo-timestamp")
NOW = 1_800_000_000.0


def _create(ledger: Ledger, path: str, data: dict[str, Any]) -> None:
    exchange = ExchangeLog().new("POST", BASE + path, {}, None)
    exchange.status, exchange.identity, exchange.started_at = 201, "main", NOW
    exchange.response_body = json.dumps({"data": data}).encode()
    ledger.observe(exchange, requests.Response())


def _delivery(
    seq: int,
    payload: dict[str, Any],
    delivery_id: str,
    *,
    at: float = 0.0,
    stamp: float | None = None,
    drop: tuple[str, ...] = (),
    status: int = 200,
) -> dict[str, Any]:
    headers = {
        "x-tixallo-delivery": delivery_id,
        "x-tixallo-event": payload["event_type"],
        "x-tixallo-timestamp": str(int(NOW + (at if stamp is None else stamp))),
    }
    return {
        "seq": seq,
        "verdict": "valid",
        "status": status,
        "received_at": NOW + at,
        "received_monotonic": at,
        "event_type": payload["event_type"],
        "delivery_id": delivery_id,
        "ticket_id": payload["ticket_id"],
        "message_id": payload.get("message_id"),
        "payload": payload,
        "headers": {k: v for k, v in headers.items() if k not in drop},
        "schema_errors": [],
    }


def _sweep(deliveries: list[dict[str, Any]], ledger: Ledger) -> Sweep:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"events": deliveries, "last_seq": 0, "generation": 0})

    sink = SinkClient("http://sink.test", transport=httpx.MockTransport(handler))
    return collect(sink, ledger, 0, 3.0, SuiteState(), TIXALLO)


@pytest.fixture
def run() -> tuple[Ledger, dict[str, Any], dict[str, Any]]:
    """A ledger with one ticket and one message, and the payloads a faithful deployment sends."""
    ledger = Ledger(BASE)
    ticket = ticket_created(ticket_number=7)
    message = message_created(ticket_id=ticket["ticket_id"], ticket_number=7)
    _create(
        ledger,
        "/tickets",
        {**{k: v for k, v in ticket.items() if k != "ticket_id"}, "id": ticket["ticket_id"]},
    )
    _create(
        ledger,
        f"/tickets/{ticket['ticket_id']}/messages",
        {
            "id": message["message_id"],
            "author_type": "customer",
            "body": message["body"],
            "created_at": message["created_at"],
        },
    )
    return ledger, ticket, message


def _problems(sweep: Sweep) -> dict[str, int]:
    return {k: len(v) for k, v in sweep.problems.items() if v}


def test_faithful_deliveries_and_their_retries_pass(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    a, b = str(uuid.uuid4()), str(uuid.uuid4()).upper()  # a UUID in any case
    sweep = _sweep(
        [
            _delivery(1, ticket, a, status=500),
            _delivery(2, ticket, a, at=1.2),  # its retry, stamped with its own time
            _delivery(3, message, b, at=0.1, status=0),  # no answer: the sender hung up
            _delivery(4, message, b, at=10.4, stamp=10.4 - RESTAMP_SLACK + 1),  # a little early
        ],
        ledger,
    )
    assert _problems(sweep) == {}


def test_a_retry_without_a_header_is_caught(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    a = str(uuid.uuid4())
    sweep = _sweep(
        [
            _delivery(1, ticket, a, status=500),
            _delivery(2, ticket, a, at=1.0, drop=("x-tixallo-event",)),
            _delivery(3, message, str(uuid.uuid4())),
        ],
        ledger,
    )
    assert _problems(sweep) == {"headers": 1}
    [problem] = sweep.problems["headers"]
    assert problem.startswith("missing header X-Tixallo-Event\n  attempt 2 of 2: #2 ticket.created")


def test_a_delivery_id_not_a_uuid_is_caught_once_per_event(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    sweep = _sweep(
        [
            _delivery(1, ticket, "dlv_1", status=503),
            _delivery(2, ticket, "dlv_1", at=1.0),
            _delivery(3, message, "dlv_2"),
        ],
        ledger,
    )
    assert _problems(sweep) == {"headers": 2}
    assert sweep.problems["headers"][0].startswith(
        "X-Tixallo-Delivery: 'dlv_1' is not a 'uuid'\n  attempt 1 of 2"
    )


def test_one_delivery_id_for_two_events_is_caught(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    shared = str(uuid.uuid4())
    sweep = _sweep([_delivery(1, ticket, shared), _delivery(2, message, shared, at=0.1)], ledger)
    assert _problems(sweep) == {"delivery-id": 1}
    [problem] = sweep.problems["delivery-id"]
    assert problem.startswith(f"delivery id {shared} stands for 2 different events")
    assert "#1 ticket.created" in problem and "#2 ticket.message.created" in problem


def test_a_retry_stamped_with_the_first_attempts_time_is_caught(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    a = str(uuid.uuid4())
    sweep = _sweep(
        [
            _delivery(1, ticket, a, status=0),
            _delivery(2, ticket, a, at=10.3, stamp=0.0),
            _delivery(3, message, str(uuid.uuid4())),
        ],
        ledger,
    )
    assert _problems(sweep) == {"signature": 1}
    assert "each attempt carries its own time" in sweep.problems["signature"][0]


def test_a_retry_with_another_payload_is_caught(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    a = str(uuid.uuid4())
    sweep = _sweep(
        [
            _delivery(1, ticket, a, status=500),
            _delivery(2, {**ticket, "ticket_number": 8}, a, at=1.0),
            _delivery(3, message, str(uuid.uuid4())),
        ],
        ledger,
    )
    assert _problems(sweep) == {"payload": 1}
    assert sweep.problems["payload"][0].startswith(
        "payload differs from the API's answer: ticket_number: API 7, event 8\n  attempt 2 of 2"
    )


def test_lateness_behind_a_held_delivery_is_not_the_deployments(
    run: tuple[Ledger, dict[str, Any], dict[str, Any]],
) -> None:
    ledger, ticket, message = run
    # A sender that delivers one at a time: both events waited behind a delivery the sink held
    # from before the creates until 10 s after them.
    late = [
        _delivery(1, ticket, str(uuid.uuid4()), at=10.05),
        _delivery(2, message, str(uuid.uuid4()), at=10.1),
    ]
    sink = SinkClient(
        "http://sink.test",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"events": late, "last_seq": 0, "generation": 0})
        ),
    )
    held = collect(sink, ledger, 0, 3.0, SuiteState(), TIXALLO, held=(NOW - 0.1, NOW + 10.0))
    assert _problems(held) == {}
    assert _problems(_sweep(late, ledger)) == {"delivery": 2}
    # Created after the hold ended, an event has no excuse.
    after = collect(sink, ledger, 0, 3.0, SuiteState(), TIXALLO, held=(NOW - 9.0, NOW - 0.5))
    assert _problems(after) == {"delivery": 2}
