"""Payload validation, filters, fault rules, settings and the client's failure messages, without a server."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx
import pytest

from tixallo_qa.core.events import header_errors, payload_key
from tixallo_qa.webhook_sink.arrivals import Arrivals
from tixallo_qa.webhook_sink.client import Event, SinkClient
from tixallo_qa.webhook_sink.config import SinkConfig, add_arguments, from_args
from tixallo_qa.webhook_sink.delivery import Delivery
from tixallo_qa.webhook_sink.faults import Fault, FaultRule
from tixallo_qa.webhook_sink.payloads import schema_errors
from tixallo_qa.webhook_sink.query import Filter
from tixallo_qa.webhook_sink.testing import TEST_SECRET, message_created, ticket_created

pytestmark = pytest.mark.unit


def test_valid_payloads_have_no_schema_errors() -> None:
    assert schema_errors(ticket_created(), "ticket.created") == ("ticket.created", [])
    assert schema_errors(message_created(), None) == ("ticket.message.created", [])


def test_missing_field_is_a_schema_error() -> None:
    payload = ticket_created()
    del payload["subject"]
    event_type, errors = schema_errors(payload)
    assert event_type == "ticket.created"
    assert errors == ["payload: 'subject' is a required property"]


def test_wrong_types_and_formats_are_schema_errors() -> None:
    _, errors = schema_errors(
        ticket_created(ticket_id="not-a-uuid", ticket_number=0, priority="asap")
    )
    assert len(errors) == 3
    assert any(e.startswith("ticket_id:") for e in errors)
    assert any(e.startswith("priority:") for e in errors)


def test_unknown_event_type_and_header_mismatch() -> None:
    _, errors = schema_errors({"event_type": "customer.created"})
    assert "not in the spec's webhooks" in errors[0]
    assert schema_errors(ticket_created(), "ticket.message.created") == ("ticket.created", [])
    errors = header_errors("ticket.created", {"x-tixallo-event": "ticket.message.created"}, ())
    assert errors == [
        "X-Tixallo-Event 'ticket.message.created' differs from payload event_type 'ticket.created'"
    ]
    assert schema_errors([1, 2])[1] == ["payload is a JSON list, not an object"]


TIXALLO_HEADERS = ("X-Tixallo-Delivery", "X-Tixallo-Event")


@pytest.mark.parametrize(
    ("delivery_id", "valid"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("0F8FAD5B-D9CB-469F-A165-70867728950E", True),  # a UUID in any case
        ("dlv_0f8fad5bd9cb469fa1657086", False),
        ("0f8fad5bd9cb469fa16570867728950e", False),  # no hyphens
        ("{0f8fad5b-d9cb-469f-a165-70867728950e}", False),
        ("", False),
    ],
)
def test_delivery_header_must_be_a_uuid(delivery_id: str, valid: bool) -> None:
    headers = {"x-tixallo-delivery": delivery_id, "x-tixallo-event": "ticket.created"}
    errors = header_errors("ticket.created", headers, TIXALLO_HEADERS)
    assert (errors == []) is valid, errors
    if not valid:
        assert errors == [f"X-Tixallo-Delivery: {delivery_id!r} is not a 'uuid'"]


def test_documented_headers_must_be_there_and_valid() -> None:
    errors = header_errors(
        "ticket.message.created", {"x-tixallo-event": "ticket.updated"}, TIXALLO_HEADERS
    )
    assert errors == [
        "missing header X-Tixallo-Delivery",
        "X-Tixallo-Event: 'ticket.updated' is not one of ['ticket.created', 'ticket.message.created']",
        "X-Tixallo-Event 'ticket.updated' differs from payload event_type 'ticket.message.created'",
    ]
    # Another scheme documents none of them: only an event header present must agree.
    assert header_errors("ticket.created", {"webhook-id": "msg_1"}, ()) == []


def test_logical_key_by_event_type() -> None:
    t, m = ticket_created(), message_created()
    assert payload_key("ticket.created", t) == f"ticket.created:{t['ticket_id']}"
    assert payload_key("ticket.message.created", m) == f"ticket.message.created:{m['message_id']}"
    assert payload_key("ticket.created", {}) is None


def event(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "seq": 5,
        "received_at": 1_800_000_000.0,
        "event_type": "ticket.created",
        "ticket_id": "t1",
        "message_id": None,
        "verdict": "valid",
        "delivery_id": "d1",
        "status": 200,
        "retry": False,
        "double_fire": False,
        "injected": False,
        "payload": {"ticket_number": 7, "subject": "s", "flag": True},
    }
    base.update(values)
    return base


def test_filter_matches_columns_flags_and_payload_fields() -> None:
    assert Filter({"ticket_number": "7", "verdict": "valid", "retry": "false"}).matches(event())
    assert Filter({"flag": "true"}).matches(event())
    assert not Filter({"ticket_number": "8"}).matches(event())
    assert not Filter({"retry": "true"}).matches(event())
    assert not Filter({"missing": "x"}).matches(event())
    assert not Filter({"ticket_number": "7"}).matches(event(payload=None))


def test_filter_since_is_seq_or_time() -> None:
    assert Filter.from_params({"since": "4"}).since_seq == 4
    assert Filter.from_params({"since": "1800000000.5"}).since_time == 1_800_000_000.5
    assert not Filter.from_params({"since": "5"}).matches(event())
    where, args = Filter.from_params(
        {"event_type": "ticket.created", "since": "2", "limit": "3"}
    ).sql()
    assert where == " WHERE event_type = ? AND seq > ?" and args == ["ticket.created", 2]


def test_fault_rule_count() -> None:
    rule = FaultRule(status=503, count=2)
    drawn = [rule.draw() for _ in range(3)]
    assert [f.status if f else None for f in drawn] == [503, 503, None]
    assert rule.exhausted


def test_fault_rule_takes_any_4xx_or_5xx() -> None:
    for status in (400, 404, 410, 429, 500, 599):
        assert FaultRule(status=status, count=1).draw() == Fault(status)


def test_fault_plan_in_turn_on_first_attempts_only() -> None:
    rule = FaultRule.from_json(
        {"plan": [{"status": 500}, {"status": 400}, {"stall": 30}], "fresh": True}
    )
    assert rule.count == 3 and rule.describe()["plan"][2] == {"status": None, "stall": 30.0}
    assert rule.draw() == Fault(500)
    assert rule.draw(first_attempt=False) is None  # a retry: answered, and the plan waits
    assert [rule.draw(), rule.draw(), rule.draw()] == [Fault(400), Fault(stall=30), None]
    assert rule.exhausted


def test_fault_rule_share_is_seeded() -> None:
    rule = FaultRule(status=500, share=0.3, seed=7)
    hits = sum(rule.draw() is not None for _ in range(1000))
    assert 200 < hits < 400
    again = FaultRule(status=500, share=0.3, seed=7)
    assert sum(again.draw() is not None for _ in range(1000)) == hits


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"status": 302, "count": 1},
        {"status": 200, "count": 1},
        {"plan": [{"status": 200}]},
        {"plan": [{"status": 500}], "share": 0.5},
        {"plan": [{"status": 500}], "status": 500},
        {"plan": "500"},
        {"plan": [{"status": 500, "colour": "red"}]},
        {"status": 500, "count": 1, "fresh": "yes"},
        {"status": 500},
        {"status": 500, "share": 2},
        {"stall": -1, "count": 1},
        {"status": 500, "count": 1, "colour": "red"},
    ],
)
def test_fault_rule_rejects_bad_input(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultRule.from_json(data)


def test_config_from_flags_and_environment(tmp_path: pytest.TempPathFactory) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--port", "0", "--scheme", "hmac", "--hmac-header", "X-Hub-Signature-256", "--db", "x.db"]
    )
    config = from_args(
        args,
        environ={
            "TIXALLO_WEBHOOK_SECRET": TEST_SECRET,
            "TIXALLO_SINK_PATH": "/hooks",
            "TIXALLO_WEBHOOK_TOLERANCE": "60",
        },
    )
    assert (config.port, config.scheme, config.hmac_header) == (0, "hmac", "X-Hub-Signature-256")
    assert (config.path, config.tolerance, config.db_path) == ("/hooks", 60.0, "x.db")
    assert config.webhook_url == "http://127.0.0.1:0/hooks"
    assert SinkConfig(scheme="none", host="::1").base_url == "http://[::1]:8787"


def _client(events: list[dict[str, object]]) -> SinkClient:
    """A client whose sink is a stub answering from ``events`` (no server)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_sink/wait":
            return httpx.Response(200, json={"events": [], "satisfied": False, "count": 1})
        if request.url.path == "/_sink/events":
            wanted = {
                k: v for k, v in request.url.params.items() if k in ("event_type", "ticket_id")
            }
            found = [e for e in events if all(str(e.get(k)) == v for k, v in wanted.items())]
            return httpx.Response(200, json={"events": found, "last_seq": 3, "generation": 0})
        if request.url.path == "/_sink/stats":
            return httpx.Response(200, json={"total": len(events)})
        return httpx.Response(404)

    return SinkClient("http://sink.test", transport=httpx.MockTransport(handler))


def stored(seq: int, **values: object) -> dict[str, object]:
    record = {
        "seq": seq,
        "verdict": "valid",
        "status": 200,
        "received_at": 1.0,
        "received_monotonic": 1.0,
        "event_type": "ticket.created",
        "delivery_id": f"d{seq}",
        "ticket_id": "t1",
        "message_id": None,
        "payload": {"ticket_id": "t1", "ticket_number": 7},
        "schema_errors": [],
    }
    record.update(values)
    return record


def test_wait_for_timeout_lists_the_closest_events() -> None:
    client = _client(
        [
            stored(1, verdict="bad_signature", status=401),
            stored(2, ticket_id="t2", payload={"ticket_id": "t2"}),
            stored(3, event_type="ticket.message.created"),
        ]
    )
    with pytest.raises(AssertionError) as failure:
        client.wait_for(
            "ticket.created", timeout=0.01, ticket_id="t1", ticket_number=7, verdict="valid"
        )
    message = str(failure.value)
    assert (
        message.splitlines()[0]
        == "expected 1 x ticket.created with ticket_id='t1', ticket_number=7, verdict='valid' within 0.01 s; 0 matched"
    )
    assert "closest recorded events:" in message
    closest = message.splitlines()[2]
    assert closest.startswith("  #1 ticket.created verdict=bad_signature status=401")
    assert closest.endswith("differs: verdict='bad_signature'")


def test_wait_for_timeout_with_nothing_recorded() -> None:
    with pytest.raises(AssertionError, match="no similar events recorded"):
        _client([]).wait_for("ticket.created", timeout=0.01, ticket_id="t1")


def test_event_from_json_ignores_unknown_fields() -> None:
    e = Event.from_json({**stored(1), "new_field": 1, "schema_errors": ["x"]})
    assert e.schema_errors == ("x",) and e.get("ticket_number") == 7 and e.get("verdict") == "valid"
    assert json.loads(json.dumps(e.payload)) == e.payload


def _arrival(delivery_id: str | None, payload: dict[str, Any], verdict: str = "valid") -> Delivery:
    event_type = payload["event_type"]
    return Delivery(
        verdict=verdict,
        status=200,
        received_at=1.0,
        received_monotonic=1.0,
        headers={},
        body=b"",
        body_size=0,
        payload=payload,
        event_type=event_type,
        delivery_id=delivery_id,
        ticket_id=payload["ticket_id"],
        message_id=payload.get("message_id"),
        logical_key=payload_key(event_type, payload),
        schema_errors=[],
        injected=False,
        detail="",
    )


def test_a_delivery_id_that_carried_another_event_is_no_retry() -> None:
    arrivals = Arrivals()
    ticket = ticket_created()
    message = message_created(ticket_id=ticket["ticket_id"])
    judged = [
        _arrival("d1", ticket),
        _arrival("d1", ticket),
        _arrival("d1", message),
        _arrival("d1", message),
    ]
    for d in judged:
        arrivals.judge(d)
    flags = [(d.retry, d.double_fire) for d in judged]
    assert flags == [(False, False), (True, False), (False, False), (True, False)]
    reused = (
        f"delivery id d1 already carried ticket.created:{ticket['ticket_id']} (#1): "
        "one id stands for one event (part B 1)"
    )
    assert [d.schema_errors for d in judged] == [[], [], [reused], [reused]]
    assert arrivals.known("d1") and arrivals.known("d1", judged[2].logical_key)
    assert not arrivals.known("d1", "ticket.created:other") and not arrivals.known(None)
    # A forged (badly signed) delivery never claims an id for its event.
    arrivals.judge(_arrival("d2", message_created(), verdict="bad_signature"))
    later = _arrival("d2", ticket_created())
    arrivals.judge(later)
    assert not later.retry and later.schema_errors == []


def test_arrivals_rebuilt_from_rows_know_what_each_id_carried() -> None:
    arrivals = Arrivals()
    arrivals.load([(4, "d1", "ticket.created:t1", "valid")], {}, 5)
    again, other = _arrival("d1", ticket_created(ticket_id="t1")), _arrival("d1", ticket_created())
    arrivals.judge(again)
    arrivals.judge(other)
    assert again.retry and not other.retry
    assert other.schema_errors[0].startswith(
        "delivery id d1 already carried ticket.created:t1 (#4)"
    )
