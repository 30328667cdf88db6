"""Who may use the sink: deliveries need nothing, everything else needs ``TIXALLO_SINK_TOKEN``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tixallo_qa.webhook_sink.client import SinkAuthError, SinkClient
from tixallo_qa.webhook_sink.testing import TEST_TOKEN, SinkFixture, start_sink, ticket_created

pytestmark = pytest.mark.integration

# Every route but the delivery path, with a request that would change or reveal something.
PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/", {}),
    ("GET", "/_sink/health", {}),
    ("GET", "/_sink/events", {}),
    ("GET", "/_sink/wait", {"params": {"timeout": "0"}}),
    ("GET", "/_sink/stats", {}),
    ("POST", "/_sink/clear", {}),
    ("GET", "/_sink/marks", {}),
    (
        "POST",
        "/_sink/marks",
        {"json": [{"event_type": "ticket.created", "ticket_id": "forged", "action_at": 1.0}]},
    ),
    ("GET", "/_sink/faults", {}),
    ("POST", "/_sink/faults", {"json": {"status": 500, "count": 1}}),
    ("DELETE", "/_sink/faults", {}),
]
WRONG = {
    "no credentials": {},
    "a wrong token": {"Authorization": "Bearer not-the-token"},
    "the token under another scheme": {"Authorization": f"Basic {TEST_TOKEN}"},
    "a prefix of the token": {"Authorization": f"Bearer {TEST_TOKEN[:-1]}"},
}


def _state(sink: SinkFixture) -> dict[str, Any]:
    """What a refused request must not have changed (read with the token)."""
    client = sink.client
    return {
        "events": [e.seq for e in client.events()],
        "marks": client.marks(),
        "fault": client._json("GET", "/_sink/faults"),
        "generation": client.health()["generation"],
    }


@pytest.mark.parametrize(
    ("method", "path", "extra"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED]
)
@pytest.mark.parametrize("credentials", list(WRONG), ids=list(WRONG))
def test_protected_routes_refuse_without_the_token_and_change_nothing(
    webhook_sink: SinkFixture, method: str, path: str, extra: dict[str, Any], credentials: str
) -> None:
    webhook_sink.deliver(ticket_created())
    webhook_sink.client.mark("ticket.created", ticket_id="real")
    before = _state(webhook_sink)
    response = webhook_sink.http.request(
        method, webhook_sink.url + path, headers=WRONG[credentials], **extra
    )
    assert response.status_code == 401
    assert TEST_TOKEN not in response.text
    if path.startswith("/_sink/"):
        assert response.json()["sink"] == "tixallo-qa"
        assert response.headers["www-authenticate"].startswith("Bearer")
    else:
        assert "?token=" in response.text  # the page says how to open it
    assert _state(webhook_sink) == before


@pytest.mark.parametrize(
    ("method", "path", "extra"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED]
)
def test_protected_routes_work_with_the_token(
    webhook_sink: SinkFixture, method: str, path: str, extra: dict[str, Any]
) -> None:
    response = webhook_sink.http.request(
        method, webhook_sink.url + path, headers=webhook_sink.auth(), **extra
    )
    assert response.status_code == 200, response.text
    webhook_sink.client.clear_faults()


def test_deliveries_need_no_credentials(webhook_sink: SinkFixture) -> None:
    payload = ticket_created()
    assert webhook_sink.deliver(payload).status_code == 200
    [event] = webhook_sink.client.wait_for("ticket.created", ticket_id=payload["ticket_id"])
    assert event.valid
    assert "authorization" not in event.headers


def test_the_live_page_logs_in_with_a_cookie_that_only_reads(webhook_sink: SinkFixture) -> None:
    url = webhook_sink.url
    with httpx.Client(trust_env=False) as browser:
        assert browser.get(url + "/?token=wrong").status_code == 401
        login = browser.get(url + f"/?token={TEST_TOKEN}")
        assert login.status_code == 303 and login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        # The page and its reads work with the cookie alone...
        assert "Tixallo webhook sink" in browser.get(url + "/").text
        assert browser.get(url + "/_sink/stats").status_code == 200
        # ...but nothing that changes the sink does: those want the bearer token.
        assert browser.post(url + "/_sink/clear").status_code == 401
        assert browser.delete(url + "/_sink/faults").status_code == 401


def test_a_client_with_a_wrong_token_gets_one_line_naming_the_setting(
    webhook_sink: SinkFixture,
) -> None:
    with (
        SinkClient(webhook_sink.url, token="wrong") as client,
        pytest.raises(SinkAuthError, match=r"refused the token \(401\): set TIXALLO_SINK_TOKEN"),
    ):
        client.stats()


def test_a_sink_without_a_token_is_open_but_only_on_loopback() -> None:
    with start_sink(token=None) as sink:
        assert sink.http.get(sink.url + "/_sink/health").json()["token_required"] is False
        assert sink.client.stats()["total"] == 0
