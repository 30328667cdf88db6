"""Webhook accounting: every create matched once; lag, loss, retries and double fires."""

from __future__ import annotations

from typing import Any

import pytest

from tixallo_qa.load.accounting import join

pytestmark = pytest.mark.unit


def _ticket(tid: str, at: float = 100.0) -> dict[str, Any]:
    return {"kind": "ticket", "ticket_id": tid, "ticket_number": 1, "acked_at": at}


def _message(tid: str, mid: str, at: float = 100.0) -> dict[str, Any]:
    return {"kind": "message", "ticket_id": tid, "message_id": mid, "acked_at": at}


def _event(
    event_type: str,
    tid: str,
    *,
    mid: str | None = None,
    at: float = 100.05,
    delivery: str | None = "d1",
    verdict: str = "valid",
    status: int = 200,
) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "ticket_id": tid,
        "message_id": mid,
        "received_at": at,
        "delivery_id": delivery,
        "verdict": verdict,
        "status": status,
    }


def test_every_create_matched_with_its_lag() -> None:
    created = [_ticket("t1"), _ticket("t2", at=200.0), _message("t1", "m1")]
    events = [
        _event("ticket.created", "t1", at=100.010, delivery="a"),
        _event("ticket.created", "t2", at=200.250, delivery="b"),
        _event("ticket.message.created", "t1", mid="m1", at=100.002, delivery="c"),
    ]
    result = join(created, events)
    assert (result.expected, result.delivered, result.lost, result.double_fires) == (3, 3, 0, 0)
    assert sorted(round(v) for v in result.by_type["ticket.created"].lags_ms) == [10, 250]
    assert result.by_type["ticket.message.created"].lags_ms == [pytest.approx(2.0, abs=0.01)]


def test_loss_retries_double_fires_and_rejected_deliveries() -> None:
    created = [_ticket("t1"), _ticket("t2"), _ticket("t3"), _ticket("t4")]
    events = [
        _event("ticket.created", "t1", delivery="a"),
        _event("ticket.created", "t1", delivery="a", at=101.0),  # a retry: same delivery id
        _event("ticket.created", "t2", delivery="b"),
        _event("ticket.created", "t2", delivery="c"),  # a second event for the same ticket
        _event("ticket.created", "t3", verdict="bad_signature"),  # not accepted: t3 is lost
        _event("ticket.created", "t4", status=500),  # the sink refused it: lost too
        _event("ticket.created", "someone-else", delivery="z"),
    ]
    result = join(created, events).as_dict()
    assert result["lost"] == 2
    assert result["by_event_type"]["ticket.created"]["lost_sample"] == ["t3", "t4"]
    assert result["double_fires"] == 1 and result["retries"] == 1
    assert result["rejected"] == 2 and result["unexpected"] == 1


def test_a_record_reported_twice_is_one_action_and_early_deliveries_count_as_zero_lag() -> None:
    created = [_ticket("t1", at=100.0), _ticket("t1", at=100.0)]
    result = join(created, [_event("ticket.created", "t1", at=99.99)])
    assert result.expected == 1 and result.lags_ms == [0.0]


def test_deliveries_without_ids_cannot_be_retries() -> None:
    twice = [_event("ticket.created", "t1", delivery=None) for _ in range(2)]
    result = join([_ticket("t1")], twice)
    assert result.double_fires == 1


def test_late_deliveries_are_counted_and_the_tail_summarised() -> None:
    created = [_ticket(f"t{i}") for i in range(100)]
    events = [_event("ticket.created", f"t{i}", at=100.002, delivery=f"d{i}") for i in range(97)]
    events += [
        _event("ticket.created", "t97", at=103.0, delivery="x"),  # 3 s: in the tail, not late
        _event("ticket.created", "t98", at=112.0, delivery="y"),  # 12 s: later than 10 s
        _event("ticket.created", "t99", at=125.0, delivery="z"),
    ]
    result = join(created, events, late_after_ms=10_000).as_dict()
    assert result["late"] == 2 and result["lost"] == 0 and result["late_after_ms"] == 10_000
    assert result["by_event_type"]["ticket.created"]["late_sample"] == ["t98", "t99"]
    lag = result["lag_ms"]
    assert lag["p50"] == pytest.approx(2.0, abs=0.01) and lag["p95"] == pytest.approx(2.0, abs=0.01)
    # Three slow events in a hundred: the p95 hides them, the p99 and the maximum do not.
    assert lag["p99"] == pytest.approx(12_000, abs=1) and lag["max"] == pytest.approx(25_000, abs=1)
    assert join(created, events).late == 0  # no timeout given: nothing is late


def test_payloads_must_carry_what_the_api_answered() -> None:
    ticket = {
        **_ticket("t1"), "ticket_number": 7,
        "returned": {"subject": "Hello", "status": "new", "created_at": "2026-01-01T00:00:00.000Z"},
    }  # fmt: skip
    message = {**_message("t1", "m1"), "returned": {"body": "hi", "author_type": "customer"}}

    def delivered(event_type: str, mid: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        return {**_event(event_type, "t1", mid=mid, delivery=f"d-{mid}"), "payload": payload}

    faithful = [
        # Other fields, another precision of the same instant, fields the API never said: fine.
        delivered("ticket.created", None, {"ticket_id": "t1", "ticket_number": 7, "subject": "Hello",
                                           "created_at": "2026-01-01T00:00:00Z", "extra": 1}),
        delivered("ticket.message.created", "m1", {"ticket_id": "t1", "message_id": "m1", "body": "hi"}),
    ]  # fmt: skip
    assert join([ticket, message], faithful).payload_mismatches == 0
    crossed = [
        delivered("ticket.created", None, {"ticket_id": "t1", "ticket_number": 7, "subject": "Other"}),
        delivered("ticket.message.created", "m1", {"ticket_id": "t1", "message_id": "m1", "body": "hi"}),
    ]  # fmt: skip
    result = join([ticket, message], crossed).as_dict()
    assert result["payload_mismatches"] == 1
    assert "subject" in result["payload_sample"][0] and "'Other'" in result["payload_sample"][0]
