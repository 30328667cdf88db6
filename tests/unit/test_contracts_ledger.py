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


class _MarkingSink:
    """Takes mark batches as the sink client would, or fails like a sink that went away."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[dict[str, object]]] = []
        self.fail = fail

    def mark_many(self, marks: list[dict[str, object]]) -> int:
        if self.fail:
            raise ConnectionError("the sink went away")
        self.batches.append(list(marks))
        return len(marks)


def _created(n: int) -> object:
    from tixallo_qa.contracts._ledger import Created

    return Created(
        TICKET_CREATED, "main", f"t{n}", {}, 1000.0 + n, Exchange(n, "POST", "u", {}, None)
    )


def test_marks_go_to_the_sink_in_batches_with_their_action_times() -> None:
    from tixallo_qa.contracts._fixtures import _Marks

    sink = _MarkingSink()
    marks = _Marks(sink)  # type: ignore[arg-type]
    for n in range(3):
        marks.add(_created(n))  # type: ignore[arg-type]
    assert sink.batches == []  # within the first second: held
    marks.flush()
    assert [m["ticket_id"] for m in sink.batches[0]] == ["t0", "t1", "t2"]
    assert [m["action_at"] for m in sink.batches[0]] == [1000.0, 1001.0, 1002.0]
    marks.EVERY = 0.0  # a second has passed: the next create sends what is held
    marks.add(_created(3))  # type: ignore[arg-type]
    assert [m["ticket_id"] for m in sink.batches[1]] == ["t3"]
    marks.flush()
    assert len(sink.batches) == 2  # nothing held, nothing sent


def test_a_sink_that_cannot_take_marks_fails_no_check() -> None:
    from tixallo_qa.contracts._fixtures import _Marks

    marks = _Marks(_MarkingSink(fail=True))  # type: ignore[arg-type]
    marks.add(_created(1))  # type: ignore[arg-type]
    marks.flush()  # no exception: only the lag figure is lost
