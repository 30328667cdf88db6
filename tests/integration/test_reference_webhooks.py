"""The reference dispatcher, with pytest-httpserver as the receiving end."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from tixallo_qa.core import spec
from tixallo_qa.reference.testing import ReferenceDeployment, ReferenceFactory

pytestmark = pytest.mark.integration

PATH = "/webhooks/tixallo"
SECRET = "whsec_test_secret"


def wait_for_requests(server: HTTPServer, count: int, timeout: float = 10.0) -> list[Request]:
    """Wait, with a monotonic deadline, until the receiver logged ``count`` requests."""
    deadline = time.monotonic() + timeout
    while len(server.log) < count:
        if time.monotonic() >= deadline:
            got = [
                (r.headers.get("X-Tixallo-Event"), r.get_data(as_text=True)[:200])
                for r, _ in server.log
            ]
            raise AssertionError(
                f"expected {count} webhook requests within {timeout}s, got {len(got)}: {got}"
            )
        time.sleep(0.01)
    return [request for request, _ in server.log]


def verify(request: Request) -> dict[str, Any]:
    """Check part B 1's headers and signature; return the payload."""
    body = request.get_data()
    ts = request.headers["X-Tixallo-Timestamp"]
    expected = (
        "sha256=" + hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(request.headers["X-Tixallo-Signature"], expected)
    assert abs(int(ts) - time.time()) < 300
    assert request.headers["Content-Type"] == "application/json"
    uuid.UUID(request.headers["X-Tixallo-Delivery"])
    payload = json.loads(body)
    assert request.headers["X-Tixallo-Event"] == payload["event_type"]
    assert spec.webhook_validator(payload["event_type"]).is_valid(payload), payload
    return dict(payload)


@pytest.fixture(scope="module")
def hooked(reference_factory: ReferenceFactory, make_httpserver: HTTPServer) -> ReferenceDeployment:
    return reference_factory(
        sink_url=make_httpserver.url_for("/"),
        webhook_secret=SECRET,
        webhook_path=PATH,
        retries="0.2,0.2",
    )


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    httpserver.expect_request(PATH, method="POST").respond_with_data("ok")
    yield httpserver


@pytest.fixture
def api(hooked: ReferenceDeployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hooked.base_url, headers=hooked.headers(), trust_env=False) as c:
        yield c


def new_ticket(api: httpx.Client) -> dict[str, Any]:
    body = {
        "subject": "Webhook check",
        "description": "Does the event arrive?",
        "customer_email": f"hook-{uuid.uuid4().hex[:8]}@example.com",
        "priority": "urgent",
    }
    response = api.post("/tickets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def test_events_are_signed_and_equal_the_api_values(
    api: httpx.Client, receiver: HTTPServer
) -> None:
    ticket = new_ticket(api)
    message = api.post(f"/tickets/{ticket['id']}/messages", json={"body": "follow-up"}).json()[
        "data"
    ]
    # Part B leaves the order of deliveries open: the two may arrive either way round.
    by_type = {e["event_type"]: e for e in map(verify, wait_for_requests(receiver, 2))}
    created, appended = by_type["ticket.created"], by_type["ticket.message.created"]
    assert created == {
        "event_type": "ticket.created",
        "created_at": ticket["created_at"],
        "ticket_id": ticket["id"],
        "ticket_number": ticket["ticket_number"],
        "subject": ticket["subject"],
        "status": ticket["status"],
        "priority": ticket["priority"],
        "source": ticket["source"],
        "customer_id": ticket["customer_id"],
    }
    # The description fires no message event: the second event is the posted message's.
    assert appended == {
        "event_type": "ticket.message.created",
        "created_at": message["created_at"],
        "ticket_id": ticket["id"],
        "ticket_number": ticket["ticket_number"],
        "message_id": message["id"],
        "author_type": message["author_type"],
        "body": "follow-up",
    }


def test_rejected_and_foreign_requests_emit_nothing(
    api: httpx.Client, hooked: ReferenceDeployment, receiver: HTTPServer
) -> None:
    assert api.post("/tickets", json={"subject": "no description"}).status_code == 400
    merged = hooked.settings["TIXALLO_MERGED_TICKET_ID"]
    assert api.post(f"/tickets/{merged}/messages", json={"body": "x"}).status_code == 409
    with httpx.Client(
        base_url=hooked.base_url,
        headers=hooked.headers(hooked.settings["TIXALLO_OTHER_API_KEY"]),
        trust_env=False,
    ) as other:
        new_ticket(other)  # workspace B has no endpoint
    ticket = new_ticket(api)
    # Deliveries run side by side, so an event the earlier requests wrongly queued could land
    # just after this later one: wait for it, then allow anything queued before it a moment more.
    [only] = wait_for_requests(receiver, 1)
    assert verify(only)["ticket_id"] == ticket["id"]
    time.sleep(0.5)
    assert len(receiver.log) == 1, [verify(r) for r, _ in receiver.log]


def test_failed_delivery_is_retried_with_the_same_id(
    api: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("boom", status=500)
    httpserver.expect_request(PATH, method="POST").respond_with_data("ok")
    ticket = new_ticket(api)
    first, second = wait_for_requests(httpserver, 2)
    assert first.headers["X-Tixallo-Delivery"] == second.headers["X-Tixallo-Delivery"]
    assert first.get_data() == second.get_data()
    assert verify(second)["ticket_id"] == ticket["id"]


def test_a_busy_receivers_retry_after_is_honoured(
    api: httpx.Client, httpserver: HTTPServer
) -> None:
    """A sink answering 503 + Retry-After (its flood limit) is retried no sooner than it asked."""
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data(
        '{"error": "busy"}', status=503, headers={"Retry-After": "2"}
    )
    httpserver.expect_request(PATH, method="POST").respond_with_data("ok")
    ticket = new_ticket(api)
    [first] = wait_for_requests(httpserver, 1)
    # The schedule says 0.2 s; the receiver said 2 s. Any retry inside that is the dispatcher
    # ignoring Retry-After (a deadline that only a too-early retry can break).
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert len(httpserver.log) == 1, "retried before the receiver's Retry-After"
        time.sleep(0.05)
    first, second = wait_for_requests(httpserver, 2)
    assert first.headers["X-Tixallo-Delivery"] == second.headers["X-Tixallo-Delivery"]
    assert verify(second)["ticket_id"] == ticket["id"]


def test_pending_delivery_survives_a_restart(
    reference_factory: ReferenceFactory, httpserver: HTTPServer
) -> None:
    # A long retry delay keeps the failed delivery pending until the restart sends it.
    deployment = reference_factory(
        sink_url=httpserver.url_for("/"), webhook_secret=SECRET, webhook_path=PATH, retries="60"
    )
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("down", status=503)
    httpserver.expect_request(PATH, method="POST").respond_with_data("ok")
    with httpx.Client(
        base_url=deployment.base_url, headers=deployment.headers(), trust_env=False
    ) as c:
        ticket = new_ticket(c)
    [failed] = wait_for_requests(httpserver, 1)
    deployment.restart()
    try:
        _, delivered = wait_for_requests(httpserver, 2)
        assert delivered.headers["X-Tixallo-Delivery"] == failed.headers["X-Tixallo-Delivery"]
        assert verify(delivered)["ticket_id"] == ticket["id"]
    finally:
        deployment.stop()
