"""Integrity under load: distinct ticket numbers, and read-back comparison (paced, on a fake target)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tixallo_qa.load.integrity import compare, duplicate_numbers, read_back, sample

pytestmark = pytest.mark.unit
SENT = {"subject": "s", "description": "d", "customer_email": "A@example.com", "priority": "high"}


def _ticket(tid: str, number: int) -> dict[str, Any]:
    return {
        "kind": "ticket",
        "ticket_id": tid,
        "ticket_number": number,
        "acked_at": 0.0,
        "sent": dict(SENT),
    }


def _fetched(number: int, *bodies: str, **changes: Any) -> dict[str, Any]:
    data = {
        "ticket_number": number, "subject": "s", "description": "d", "priority": "high",
        "customer": {"email": "a@example.com"},
        "messages": [{"body": "d"}] + [{"body": b} for b in bodies],
    }  # fmt: skip
    data.update(changes)
    return data


def test_duplicate_numbers_are_found() -> None:
    assert duplicate_numbers([_ticket("a", 1), _ticket("b", 2), _ticket("c", 1)]) == {1: ["a", "c"]}
    assert duplicate_numbers([_ticket("a", 1), _ticket("b", 2)]) == {}


def test_sample_is_spread_and_bounded() -> None:
    assert sample(list(range(100)), 3) == [0, 50, 99]
    assert sample([1, 2], 5) == [1, 2]
    assert sample([1, 2], 0) == []


def test_compare_reports_each_difference() -> None:
    ticket = _ticket("a", 7)
    assert compare(ticket, ["m1", "m2"], _fetched(7, "m1", "extra", "m2")) == []
    problems = compare(ticket, ["m2", "m1"], _fetched(8, "m1", "m2", subject="S", priority="low"))
    text = "; ".join(problems)
    for part in ("subject", "priority", "ticket_number", "posted message"):
        assert part in text
    assert "first message" in "; ".join(compare(ticket, [], _fetched(7, messages=[])))


def test_read_back_paces_and_survives_429s() -> None:
    tickets = [_ticket(f"t{i}", i) for i in range(6)]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        if len(calls) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "60"}, json={"error": "Rate limit exceeded"}
            )
        number = int(request.url.path.rsplit("t", 1)[1])
        data = _fetched(number, subject="changed" if number == 3 else "s")
        return httpx.Response(200, content=json.dumps({"data": data}))

    slept: list[float] = []
    result = read_back(
        "http://127.0.0.1:1/api/v1", ["key-aaaa", "key-bbbb"], 60, tickets, size=6,
        transport=httpx.MockTransport(handler), sleep=slept.append,
    )  # fmt: skip
    assert result.checked == 6 and len(result.mismatches) == 1 and "t3" in result.mismatches[0]
    assert calls[0] != calls[1]  # the 429'd key rests; the retry takes the other one
    assert "key-aaaa" not in json.dumps(result.as_dict())
