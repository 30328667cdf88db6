"""The webhook sink over HTTP on loopback: verdicts, records, duplicates, waiting, marks and faults."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tixallo_qa.webhook_sink.client import NO_ANSWER
from tixallo_qa.webhook_sink.testing import (
    TEST_SECRET,
    SinkFixture,
    message_created,
    start_sink,
    ticket_created,
)

pytestmark = pytest.mark.integration


def test_valid_delivery_is_accepted_and_recorded(webhook_sink: SinkFixture) -> None:
    payload = ticket_created()
    delivery_id = "8a1f3d5c-0b7e-4c2a-9d6f-1e3b5a7c9d0f"
    response = webhook_sink.deliver(payload, delivery_id=delivery_id)
    assert response.status_code == 200
    [event] = webhook_sink.client.wait_for(
        "ticket.created", ticket_id=payload["ticket_id"], timeout=5
    )
    assert (event.verdict, event.status, event.delivery_id) == ("valid", 200, delivery_id)
    assert event.ticket_id == payload["ticket_id"]
    assert event.payload == payload and json.loads(event.body) == payload
    assert event.schema_errors == ()
    assert not (event.retry or event.double_fire or event.injected)
    assert event.received_at == pytest.approx(time.time(), abs=60)
    assert event.headers["x-tixallo-signature"] == "<redacted>"
    assert event.headers["x-tixallo-event"] == "ticket.created"


def test_secret_never_leaves_the_sink(webhook_sink: SinkFixture) -> None:
    webhook_sink.deliver(ticket_created(), headers={"X-Debug": f"secret={TEST_SECRET}"})
    webhook_sink.deliver(ticket_created(), secret="wrong")
    auth = webhook_sink.auth()
    everything = httpx.get(webhook_sink.url + "/_sink/events", headers=auth, trust_env=False).text
    everything += httpx.get(webhook_sink.url + "/_sink/health", headers=auth, trust_env=False).text
    assert TEST_SECRET not in everything
    assert "<redacted>" in everything


@pytest.mark.parametrize(
    ("sign", "drop", "headers", "status", "verdict"),
    [
        ({"secret": "wrong"}, (), {}, 401, "bad_signature"),
        ({"timestamp": int(time.time()) - 3600}, (), {}, 401, "stale_timestamp"),
        ({"timestamp": int(time.time()) + 3600}, (), {}, 401, "stale_timestamp"),
        ({}, ("X-Tixallo-Signature",), {}, 400, "missing_headers"),
        ({}, ("X-Tixallo-Timestamp",), {}, 400, "missing_headers"),
        ({}, (), {"X-Tixallo-Signature": "sha1=abc"}, 400, "missing_headers"),
        ({}, (), {"Content-Type": "text/plain"}, 415, "wrong_content_type"),
        ({}, ("Content-Type",), {}, 415, "wrong_content_type"),
    ],
    ids=[
        "wrong-secret",
        "stale",
        "future",
        "no-signature",
        "no-timestamp",
        "malformed-signature",
        "text-plain",
        "no-content-type",
    ],
)
def test_rejected_deliveries_are_recorded_with_their_verdict(
    webhook_sink: SinkFixture,
    sign: dict[str, Any],
    drop: tuple[str, ...],
    headers: dict[str, str],
    status: int,
    verdict: str,
) -> None:
    payload = ticket_created()
    response = webhook_sink.deliver(payload, drop=drop, headers=headers, **sign)
    assert (response.status_code, response.json()["verdict"]) == (status, verdict)
    [event] = webhook_sink.client.events()
    assert (event.verdict, event.status) == (verdict, status)
    assert event.detail


def test_tampered_body_is_a_bad_signature(webhook_sink: SinkFixture) -> None:
    payload = ticket_created()
    signed = webhook_sink.headers(json.dumps(payload).encode())
    tampered = json.dumps({**payload, "subject": "changed"}).encode()
    response = webhook_sink.http.post(webhook_sink.webhook_url, content=tampered, headers=signed)
    assert response.status_code == 401
    # The payload is still parsed, so a test waiting for this ticket sees why it was refused.
    [event] = webhook_sink.client.events(ticket_id=payload["ticket_id"])
    assert event.verdict == "bad_signature" and event.payload["subject"] == "changed"


def test_malformed_json_is_400(webhook_sink: SinkFixture) -> None:
    response = webhook_sink.deliver(
        b'{"event_type": "ticket.created", ', event_type="ticket.created"
    )
    assert (response.status_code, response.json()["verdict"]) == (400, "malformed_json")
    [event] = webhook_sink.client.events()
    assert event.payload is None and event.body == '{"event_type": "ticket.created", '
    assert event.event_type == "ticket.created"


def test_oversize_body_by_content_length_is_413(webhook_sink: SinkFixture) -> None:
    body = json.dumps({**ticket_created(), "subject": "x" * (1024 * 1024)}).encode()
    response = webhook_sink.deliver(body)
    assert (response.status_code, response.json()["verdict"]) == (413, "too_large")
    [event] = webhook_sink.client.events()
    assert event.body_size == len(body) and event.body_truncated and len(event.body) <= 1024


def test_oversize_streamed_body_is_413() -> None:
    with start_sink(max_body=4096) as sink:
        body = json.dumps({**ticket_created(), "subject": "x" * 10_000}).encode()

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(body), 1000):
                yield body[i : i + 1000]

        # A generator body goes out chunked, with no Content-Length to refuse it by.
        response = sink.http.post(sink.webhook_url, content=chunks(), headers=sink.headers(body))
        assert response.status_code == 413
        [event] = sink.client.events()
        assert event.verdict == "too_large" and event.body_size > 4096 and len(event.body) <= 1024


def test_schema_errors_are_recorded_but_accepted(webhook_sink: SinkFixture) -> None:
    good, bad = ticket_created(), ticket_created()
    del bad["customer_id"]
    assert webhook_sink.deliver(good).status_code == 200
    assert webhook_sink.deliver(bad).status_code == 200
    [ok] = webhook_sink.client.events(ticket_id=good["ticket_id"])
    [broken] = webhook_sink.client.events(ticket_id=bad["ticket_id"])
    assert ok.schema_errors == ()
    assert broken.verdict == "valid" and broken.schema_errors == (
        "payload: 'customer_id' is a required property",
    )
    assert webhook_sink.client.stats()["schema_invalid"] == 1


def test_missing_delivery_header_is_a_schema_error(webhook_sink: SinkFixture) -> None:
    webhook_sink.deliver(ticket_created(), drop=("X-Tixallo-Delivery",))
    [event] = webhook_sink.client.events()
    assert event.verdict == "valid" and "missing header X-Tixallo-Delivery" in event.schema_errors


def test_retry_and_double_fire(webhook_sink: SinkFixture) -> None:
    ticket = ticket_created()
    message = message_created(ticket_id=ticket["ticket_id"])
    webhook_sink.deliver(ticket, delivery_id="a")
    webhook_sink.deliver(ticket, delivery_id="a")  # the same delivery again: a retry
    webhook_sink.deliver(ticket, delivery_id="b")  # the same ticket, a new id: a double fire
    webhook_sink.deliver(message, delivery_id="c")  # same ticket, other logical event: neither
    events = webhook_sink.client.events()
    assert [(e.delivery_id, e.retry, e.double_fire) for e in events] == [
        ("a", False, False),
        ("a", True, False),
        ("b", False, True),
        ("c", False, False),
    ]
    stats = webhook_sink.client.stats()
    assert (stats["retries"], stats["double_fires"], stats["total"]) == (1, 1, 4)
    assert stats["by_event_type"] == {"ticket.created": 3, "ticket.message.created": 1}
    assert webhook_sink.client.events(retry=True)[0].seq == events[1].seq


def test_rejected_delivery_does_not_count_as_first_arrival(webhook_sink: SinkFixture) -> None:
    ticket = ticket_created()
    webhook_sink.deliver(ticket, delivery_id="a", secret="wrong")
    webhook_sink.deliver(ticket, delivery_id="b")
    assert [e.double_fire for e in webhook_sink.client.events()] == [False, False]


def test_events_filters_and_since(webhook_sink: SinkFixture) -> None:
    tickets = [ticket_created() for _ in range(3)]
    for t in tickets:
        webhook_sink.deliver(t)
    webhook_sink.deliver(message_created(ticket_id=tickets[0]["ticket_id"]))
    client = webhook_sink.client
    assert len(client.events("ticket.created")) == 3
    assert len(client.events(ticket_id=tickets[0]["ticket_id"])) == 2
    assert [
        e.get("ticket_number") for e in client.events(ticket_number=tickets[1]["ticket_number"])
    ] == [tickets[1]["ticket_number"]]
    first = client.events()[0]
    assert len(client.events(since=first.seq)) == 3
    assert len(client.events(since=first.received_at)) <= 3
    assert [e.seq for e in client.events(order="desc", limit=2)] == [first.seq + 3, first.seq + 2]
    assert client.events(verdict="bad_signature") == []


def test_wait_returns_as_soon_as_events_arrive(webhook_sink: SinkFixture) -> None:
    payload = ticket_created()
    timer = threading.Timer(0.2, webhook_sink.deliver, args=(payload,))
    timer.start()
    try:
        started = time.monotonic()
        [event] = webhook_sink.client.wait_for(
            "ticket.created", ticket_id=payload["ticket_id"], timeout=30
        )
        # Far below the timeout: the waiter was woken by the commit, not by its deadline.
        assert time.monotonic() - started < 15
        assert event.ticket_id == payload["ticket_id"]
    finally:
        timer.join()


def test_wait_for_count(webhook_sink: SinkFixture) -> None:
    ticket = ticket_created()
    for _ in range(3):
        webhook_sink.deliver(ticket)
    events = webhook_sink.client.wait_for(
        "ticket.created", count=3, ticket_id=ticket["ticket_id"], timeout=5
    )
    assert [e.double_fire for e in events] == [False, True, True]


def test_wait_for_timeout_message_lists_closest_events(webhook_sink: SinkFixture) -> None:
    payload = ticket_created()
    webhook_sink.deliver(payload, secret="wrong")
    webhook_sink.deliver(message_created(ticket_id=payload["ticket_id"]))
    with pytest.raises(AssertionError) as failure:
        webhook_sink.client.wait_for(
            "ticket.created", ticket_id=payload["ticket_id"], verdict="valid", timeout=0.3
        )
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("expected 1 x ticket.created with ticket_id=")
    assert lines[0].endswith("within 0.3 s; 0 matched")
    assert lines[1] == "closest recorded events:"
    assert "verdict=bad_signature" in lines[2]
    assert lines[2].endswith("differs: verdict='bad_signature'")
    assert "ticket.message.created" in lines[3]


def test_expect_none(webhook_sink: SinkFixture) -> None:
    webhook_sink.client.expect_none("ticket.created", within=0.2)
    payload = ticket_created()
    webhook_sink.deliver(payload)
    webhook_sink.client.expect_none("ticket.created", within=0.1, ticket_id="someone else")
    with pytest.raises(
        AssertionError, match=r"expected no ticket\.created with ticket_id=.* but 1 arrived"
    ):
        webhook_sink.client.expect_none("ticket.created", within=5, ticket_id=payload["ticket_id"])


def test_marks_give_lag_whichever_comes_first(webhook_sink: SinkFixture) -> None:
    client = webhook_sink.client
    early, late = ticket_created(), message_created()
    action_at = time.time() - 0.5
    client.mark("ticket.created", ticket_id=early["ticket_id"], action_at=action_at)  # mark first
    webhook_sink.deliver(early)
    webhook_sink.deliver(late)
    [received] = client.events(message_id=late["message_id"])
    assert received.lag is None
    late_mark = {"event_type": "ticket.message.created", "message_id": late["message_id"]}
    client.mark_many([{**late_mark, "action_at": received.received_at - 0.25}])
    [event] = client.events(message_id=late["message_id"])
    assert event.lag == pytest.approx(0.25)
    [first] = client.events(ticket_id=early["ticket_id"], event_type="ticket.created")
    assert first.lag == pytest.approx(first.received_at - action_at)
    lag = client.stats()["lag"]
    assert lag["count"] == 2 and lag["max"] >= lag["p99"] >= lag["p95"] >= lag["p50"] > 0


def test_unmatched_marks_are_lost_events(webhook_sink: SinkFixture) -> None:
    client = webhook_sink.client
    arrived, lost = ticket_created(), ticket_created()
    client.mark_many(
        [
            {"event_type": "ticket.created", "ticket_id": t["ticket_id"], "action_at": time.time()}
            for t in (arrived, lost)
        ]
    )
    webhook_sink.deliver(arrived)
    assert client.stats()["unmatched_marks"] == 1
    assert [m["ticket_id"] for m in client.marks(unmatched=True)] == [lost["ticket_id"]]


def test_bad_marks_are_refused(webhook_sink: SinkFixture) -> None:
    with pytest.raises(RuntimeError, match="400"):
        webhook_sink.client.mark_many([{"event_type": "ticket.created", "action_at": 1.0}])


def test_fault_status_for_the_next_n(webhook_sink: SinkFixture) -> None:
    client = webhook_sink.client
    assert client.inject_fault(status=503, count=2)["fault"]["count"] == 2
    payload = ticket_created()
    statuses = [webhook_sink.deliver(payload, delivery_id="same").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    events = client.events()
    assert [(e.status, e.injected, e.retry, e.verdict) for e in events] == [
        (503, True, False, "valid"),
        (503, True, True, "valid"),
        (200, False, True, "valid"),
    ]
    # Lag and loss count only the delivery that was acknowledged.
    client.mark(
        "ticket.created", ticket_id=payload["ticket_id"], action_at=events[0].received_at - 1
    )
    stats = client.stats()
    assert stats["injected"] == 2 and stats["unmatched_marks"] == 0
    assert stats["lag"]["max"] == pytest.approx(events[2].received_at - events[0].received_at + 1)


def test_fault_share(webhook_sink: SinkFixture) -> None:
    webhook_sink.client.inject_fault(status=500, share=0.5, seed=3)
    statuses = [webhook_sink.deliver(ticket_created()).status_code for _ in range(40)]
    assert set(statuses) == {200, 500}
    assert webhook_sink.client.stats()["injected"] == statuses.count(500)
    webhook_sink.client.clear_faults()
    assert webhook_sink.deliver(ticket_created()).status_code == 200


def test_fault_stall_outlasts_the_sender_timeout(webhook_sink: SinkFixture) -> None:
    webhook_sink.client.inject_fault(stall=30, count=1)
    payload = ticket_created()
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        webhook_sink.deliver(payload, timeout=0.3)
    # The sender hung up: the stall ends, and the delivery is recorded as never answered.
    [event] = webhook_sink.client.wait_for(
        "ticket.created", ticket_id=payload["ticket_id"], timeout=10
    )
    assert time.monotonic() - started < 10
    assert event.injected and event.status == NO_ANSWER and event.valid
    assert event.detail.startswith("no answer: the sender hung up after 0.")
    assert "status=none (the sender hung up)" in event.summary()
    assert webhook_sink.client.stats()["unmatched_marks"] == 0
    assert webhook_sink.deliver(ticket_created(), timeout=5).status_code == 200


def test_fault_stall_waited_out_is_answered(webhook_sink: SinkFixture) -> None:
    webhook_sink.client.inject_fault(stall=0.3, status=429, count=1)
    payload = ticket_created()
    assert webhook_sink.deliver(payload, timeout=5).status_code == 429
    [event] = webhook_sink.client.events(ticket_id=payload["ticket_id"])
    assert event.injected and event.status == 429 and event.detail == ""


def test_fault_plan_refuses_first_attempts_in_turn(webhook_sink: SinkFixture) -> None:
    client = webhook_sink.client
    plan = [{"status": 500}, {"status": 400}]
    assert client.inject_fault(plan=plan, fresh=True)["fault"]["count"] == 2
    first, second = ticket_created(), message_created()
    statuses = [
        webhook_sink.deliver(first, delivery_id=str(uuid.UUID(int=1))).status_code,
        # A retry is not a first attempt: answered, and the plan's 400 waits for one.
        webhook_sink.deliver(first, delivery_id=str(uuid.UUID(int=1))).status_code,
        webhook_sink.deliver(second, delivery_id=str(uuid.UUID(int=2))).status_code,
        webhook_sink.deliver(second, delivery_id=str(uuid.UUID(int=2))).status_code,
        webhook_sink.deliver(ticket_created()).status_code,
    ]
    assert statuses == [500, 200, 400, 200, 200]
    rule = client.fault()
    assert rule is not None and rule["applied"] == 2 and rule["exhausted"] and rule["fresh"]
    client.clear_faults()
    assert client.fault() is None
    assert [e.status for e in client.events(injected=True)] == [500, 400]
    assert [e.retry for e in client.events(status=200)] == [True, True, False]
    assert client.events(injected=True, status=400)[0].event_type == "ticket.message.created"


def test_a_delivery_id_reused_for_another_event(webhook_sink: SinkFixture) -> None:
    ticket = ticket_created()
    message = message_created(ticket_id=ticket["ticket_id"])
    shared = str(uuid.uuid4())
    webhook_sink.deliver(ticket, delivery_id=shared)
    webhook_sink.deliver(message, delivery_id=shared)
    first, second = webhook_sink.client.events()
    assert first.schema_errors == () and not second.retry
    assert second.schema_errors == (
        f"delivery id {shared} already carried ticket.created:{ticket['ticket_id']} "
        f"(#{first.seq}): one id stands for one event (part B 1)",
    )


def test_delivery_id_not_a_uuid_is_a_schema_error(webhook_sink: SinkFixture) -> None:
    webhook_sink.deliver(ticket_created(), delivery_id="dlv_0123abcd")
    [event] = webhook_sink.client.events()
    assert event.schema_errors == ("X-Tixallo-Delivery: 'dlv_0123abcd' is not a 'uuid'",)


def test_clear_forgets_records_but_not_seq(webhook_sink: SinkFixture) -> None:
    webhook_sink.deliver(ticket_created(), delivery_id="x")
    last = webhook_sink.client.events()[-1].seq
    webhook_sink.client.clear()
    assert webhook_sink.client.stats()["total"] == 0
    webhook_sink.deliver(ticket_created(), delivery_id="x")
    [event] = webhook_sink.client.events()
    assert event.seq > last and not event.retry


def test_query_api_is_apart_from_deliveries(webhook_sink: SinkFixture) -> None:
    http, auth, url = webhook_sink.http, webhook_sink.auth(), webhook_sink.url
    assert http.get(webhook_sink.webhook_url).status_code == 405
    health = http.get(url + "/_sink/health", headers=auth).json()
    assert health["webhook_path"] == "/webhooks/tixallo"
    assert http.get(url + "/_sink/events", params={"limit": "x"}, headers=auth).status_code == 400
    assert http.post(url + "/elsewhere", content=b"{}", headers=auth).status_code == 404
    assert "Tixallo webhook sink" in http.get(url + "/", headers=auth).text
    assert webhook_sink.client.stats()["total"] == 0


@pytest.mark.parametrize("scheme", ["standard", "hmac", "none"])
def test_other_schemes_over_http(scheme: str) -> None:
    with start_sink(
        scheme=scheme, hmac_header="X-Hub-Signature-256", hmac_encoding="base64"
    ) as sink:
        payload = ticket_created()
        delivery_id = str(uuid.uuid4())
        assert sink.deliver(payload, delivery_id=delivery_id).status_code == 200
        assert sink.deliver(payload, delivery_id=delivery_id).status_code == 200
        expected_bad = 200 if scheme == "none" else 401
        assert sink.deliver(payload, secret="wrong").status_code == expected_bad
        events = sink.client.events()
        assert (events[0].verdict, events[0].delivery_id) == ("valid", delivery_id)
        assert events[1].retry
        if scheme == "standard":
            stale = sink.deliver(payload, timestamp=int(time.time()) + 900)
            assert stale.json()["verdict"] == "stale_timestamp"
            assert sink.deliver(payload, drop=("webhook-id",)).status_code == 400
            assert events[0].headers["webhook-signature"] == "<redacted>"
        if scheme == "hmac":
            assert events[0].headers["x-hub-signature-256"] == "<redacted>"
            assert sink.deliver(payload, drop=("X-Hub-Signature-256",)).status_code == 400
