"""Integrity under load: every created ticket and message read back (paced, on a fake target)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tixallo_qa.load.integrity import (
    compare,
    duplicate_numbers,
    read_back,
    reading_order,
    spread_order,
)

pytestmark = pytest.mark.unit
SENT = {"subject": "s", "description": "d", "customer_email": "A@example.com", "priority": "high"}
KEYS = ["key-aaaa-0001", "key-bbbb-0002"]


def _ticket(tid: str, number: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "ticket", "ticket_id": tid, "ticket_number": number, "acked_at": 0.0,
        "sent_at": 0.0, "sent": dict(SENT), "returned": {"source": "api", "status": "new"}, **extra,
    }  # fmt: skip


def _message(tid: str, mid: str, sent_at: float, acked_at: float, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "message", "ticket_id": tid, "message_id": mid, "sent_at": sent_at,
        "acked_at": acked_at, "sent": {"body": f"body {mid}"}, "proc": "p1",
        "returned": {"author_type": "customer"}, **extra,
    }  # fmt: skip


def _listed(mid: str, at: str = "2026-01-01T00:00:01.000Z", **changes: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "body": f"body {mid}",
        "author_type": "customer",
        "created_at": at,
        **changes,
    }


def _fetched(number: int, *messages: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {
        "ticket_number": number, "subject": "s", "description": "d", "priority": "high",
        "status": "new", "source": "api", "customer": {"email": "a@example.com"},
        "messages": [{"id": "first", "body": "d", "created_at": "2026-01-01T00:00:00Z"}, *messages],
    }  # fmt: skip
    data.update(changes)
    return data


def test_duplicate_numbers_are_found() -> None:
    assert duplicate_numbers([_ticket("a", 1), _ticket("b", 2), _ticket("c", 1)]) == {1: ["a", "c"]}
    assert duplicate_numbers([_ticket("a", 1), _ticket("b", 2)]) == {}


def test_reading_order_puts_concurrent_writes_first_and_spreads_the_rest() -> None:
    assert spread_order(5)[:2] == [0, 4] and sorted(spread_order(9)) == list(range(9))
    tickets = [_ticket(f"t{i}", i) for i in range(6)] + [_ticket("burst", 9, burst=True)]
    messages = {"t3": [_message("t3", "m", 1, 2, burst=True)], "t5": [_message("t5", "n", 1, 2)]}
    order = [t["ticket_id"] for t in reading_order(tickets, messages)]
    assert order[:3] == ["t3", "burst", "t5"] and sorted(order) == sorted(
        t["ticket_id"] for t in tickets
    )


def test_compare_reports_each_difference() -> None:
    ticket = _ticket("a", 7)
    posted = [_message("a", "m1", 1.0, 1.1), _message("a", "m2", 2.0, 2.1)]
    clean = compare(ticket, posted, _fetched(7, _listed("m1"), _listed("x"), _listed("m2")))
    assert not (clean.mismatches or clean.lost_messages or clean.order) and clean.ordered_pairs == 1
    found = compare(
        ticket, posted,
        _fetched(8, _listed("m1", body="other", author_type="agent"), subject="S", priority="low", source="web"),
    )  # fmt: skip
    text = "; ".join(found.mismatches)
    for part in ("subject", "priority", "ticket_number", "source", "m1 body"):
        assert part in text, part
    # The app's own flows may move a ticket on from "new": status is not a write of ours.
    assert not compare(ticket, posted[:1], _fetched(7, _listed("m1"), status="open")).mismatches
    assert found.lost_messages == ["message m2 (acknowledged 201) is missing"]
    assert "first message" in "; ".join(compare(ticket, [], _fetched(7, messages=[])).mismatches)
    twice = compare(ticket, posted[:1], _fetched(7, _listed("m1"), _listed("m9", body="body m1")))
    assert any("stored 2 times" in m for m in twice.mismatches)


def test_order_is_asserted_only_where_one_write_happened_before_the_other() -> None:
    ticket = _ticket("a", 7)
    # m1 acknowledged (1.1) well before m2 was sent (2.0); m3 overlapped m2 (sent 2.05 < acked 2.1).
    posted = [
        _message("a", "m1", 1.0, 1.1),
        _message("a", "m2", 2.0, 2.1),
        _message("a", "m3", 2.05, 2.2),
    ]
    concurrent = _fetched(7, _listed("m1", "t1"), _listed("m3", "t2"), _listed("m2", "t3"))
    assert not compare(ticket, posted, concurrent).order  # m2/m3 overlapped: either order
    swapped = _fetched(
        7,
        _listed("m2", "2026-01-01T00:00:01Z"),
        _listed("m1", "2026-01-01T00:00:02Z"),
        _listed("m3", "2026-01-01T00:00:03Z"),
    )
    found = compare(ticket, posted, swapped)
    assert len(found.order) == 1 and "m2" in found.order[0]
    # Same timestamp (seconds precision): the deployment may list them either way.
    tie = _fetched(
        7,
        _listed("m2", "2026-01-01T00:00:01Z"),
        _listed("m1", "2026-01-01T00:00:01.000Z"),
        _listed("m3", "2026-01-01T00:00:03Z"),
    )
    assert not compare(ticket, posted, tie).order
    # Clocks of different load machines are never compared.
    other = [posted[0], {**posted[1], "proc": "p2"}]
    assert not compare(ticket, other, swapped).order


def _target(answer: Callable[[str, int], httpx.Response]) -> tuple[httpx.MockTransport, list[str]]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return answer(request.url.path.rsplit("/", 1)[1], len(calls))

    return httpx.MockTransport(handler), calls


def test_every_ticket_and_message_is_read_back_and_lost_writes_found() -> None:
    tickets = [_ticket(f"t{i}", i) for i in range(30)]
    posted = [
        _message("t3", "m1", 1.0, 1.1),
        _message("t3", "m2", 2.0, 2.1),
        _message("t4", "m3", 1, 2),
    ]

    def answer(tid: str, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(
                429, headers={"Retry-After": "60"}, json={"error": "Rate limit exceeded"}
            )
        if tid == "t7":
            return httpx.Response(404, json={"error": "Not found"})
        number = int(tid[1:])
        messages = [_listed("m1")] if tid == "t3" else ([_listed("m3")] if tid == "t4" else [])
        return httpx.Response(200, content=json.dumps({"data": _fetched(number, *messages)}))

    transport, calls = _target(answer)
    result = read_back(
        "http://127.0.0.1:1/api/v1", KEYS, 60, [*tickets, *posted],
        transport=transport, sleep=lambda s: None, workers=4,
    )  # fmt: skip
    assert result.tickets == 30 and result.messages == 3
    assert result.checked == 30 and result.messages_checked == 3 and result.coverage == 1.0
    assert result.lost == 2 and any("t7" in line for line in result.lost_tickets)
    assert any("m2" in line for line in result.lost_messages)
    assert calls[0] != calls[1]  # the 429'd key rests; the retry takes the other one
    assert "key-aaaa" not in json.dumps(result.as_dict())


def test_a_rate_limited_read_back_stops_at_its_budget_and_says_so() -> None:
    tickets = [_ticket(f"t{i}", i) for i in range(200)]
    now = [0.0]
    transport, calls = _target(
        lambda tid, n: httpx.Response(200, content=json.dumps({"data": _fetched(int(tid[1:]))}))
    )
    result = read_back(
        "http://127.0.0.1:1/api/v1", KEYS, 60, tickets, budget=30.0,
        transport=transport, sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0], workers=1,
    )  # fmt: skip
    # Two keys at 60/min: 120 reads now, then the budget of 30 s ends before the next window.
    assert result.checked == len(calls) == 120 and result.unread == 80
    assert "budget" in result.unread_reason and result.coverage == pytest.approx(0.6)


def test_read_back_can_be_limited_or_switched_off() -> None:
    tickets = [_ticket(f"t{i}", i) for i in range(10)]
    transport, _ = _target(
        lambda tid, n: httpx.Response(200, content=json.dumps({"data": _fetched(int(tid[1:]))}))
    )
    some = read_back("http://x/api/v1", KEYS, 0, tickets, limit=4, transport=transport)
    assert some.checked == 4 and some.unread == 6 and "--readback-sample 4" in some.unread_reason
    off = read_back("http://x/api/v1", KEYS, 0, tickets, limit=0, transport=transport)
    assert off.checked == 0 and off.unread_reason == "read-back is off"


def test_a_read_that_lags_its_write_is_read_again_once_settled() -> None:
    # Acknowledged a second before the read: a 404 may be a replica a moment behind.
    lagging = _ticket("t1", 1, acked_at=99.0)
    gone = _ticket("t2", 2, acked_at=99.0)
    seen: dict[str, int] = {}

    def answer(tid: str, n: int) -> httpx.Response:
        seen[tid] = seen.get(tid, 0) + 1
        if tid == "t2" or seen[tid] == 1:
            return httpx.Response(404, json={"error": "Not found"})
        return httpx.Response(200, content=json.dumps({"data": _fetched(1)}))

    transport, _ = _target(answer)
    slept: list[float] = []
    result = read_back(
        "http://x/api/v1", KEYS, 0, [lagging, gone], transport=transport,
        sleep=slept.append, wall=lambda: 100.0, workers=1,
    )  # fmt: skip
    assert seen == {"t1": 2, "t2": 2} and slept and max(slept) == pytest.approx(4.0)
    assert result.checked == 2 and result.lost_tickets == [
        "ticket t2 (acknowledged 201) answers 404"
    ]
