"""The always-on oracles, one at a time: a clean object passes, one broken on a single channel fails."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import pytest

from tixallo_qa.contracts import _oracles as o
from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.contracts._oracles import Oracles
from tixallo_qa.core.redact import Redactor
from tixallo_qa.reference.store import format_ts
from tixallo_qa.webhook_sink.client import Event

pytestmark = pytest.mark.unit

BASE = "http://api.test/api/v1"
MARKER = "internal-note-marker-0123456789abcdef"
KEY = "txk_main_key_0123456789"


class Run:
    """Feeds an ``Oracles`` exchanges and deliveries on a clock that moves one second per request."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("needles", [("the internal-note marker", MARKER), ("an API key", KEY)])
        self.oracles = Oracles(BASE, **kwargs)
        self.now = time.time() - 600
        self.seq = itertools.count(1)

    def stamp(self, offset: float = 0.0) -> str:
        return format_ts(self.now + offset)

    def send(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        *,
        identity: str | None = "main",
        request: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        overlap: bool = False,
    ) -> Exchange:
        if not overlap:
            self.now += 1.0
        exchange = Exchange(
            next(self.seq),
            method,
            BASE + path,
            {},
            json.dumps(request).encode() if request is not None else None,
        )
        exchange.status = status
        exchange.response_body = raw if raw is not None else json.dumps(body).encode()
        exchange.response_headers = {"content-type": "application/json", **(headers or {})}
        exchange.identity = identity
        exchange.started_at = self.now
        exchange.elapsed = 0.5 if overlap else 0.01
        self.oracles.observe(exchange, None)
        return exchange

    def deliver(self, event_type: str, payload: dict[str, Any], **extra: Any) -> None:
        seq = next(self.seq)
        self.oracles.observe_events(
            [
                Event(
                    seq=seq,
                    verdict=extra.pop("verdict", "valid"),
                    status=200,
                    received_at=self.now + 0.5,
                    received_monotonic=0.0,
                    event_type=event_type,
                    delivery_id=str(uuid.uuid4()),
                    ticket_id=payload.get("ticket_id"),
                    message_id=payload.get("message_id"),
                    payload={"event_type": event_type, **payload},
                    body=json.dumps({"event_type": event_type, **payload}),
                    **extra,
                )
            ]
        )

    def names(self) -> list[str]:
        assert not self.oracles.errors, self.oracles.errors
        return [v.oracle for v in self.oracles.violations()]

    # -- a faithful deployment's answers -------------------------------------------------------

    def ticket(self, number: int, sent: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """What a faithful deployment answers to the create request ``sent``."""
        return {
            "id": str(uuid.uuid4()),
            "ticket_number": number,
            "subject": sent["subject"],
            "description": sent["description"],
            "status": "new",
            "priority": "medium",
            "source": "api",
            "created_at": self.stamp(1.0),
            "updated_at": self.stamp(1.0),
            "customer_id": str(uuid.uuid4()),
            **fields,
        }

    def create(
        self, number: int, *, identity: str = "main", overlap: bool = False, **fields: Any
    ) -> dict[str, Any]:
        sent = {
            "subject": fields.pop("subject", f"subject {number}"),
            "description": "the description",
            "customer_email": fields.pop("customer_email", f"c{number}@example.com"),
        }
        ticket = self.ticket(number, sent, **fields)
        self.send(
            "POST",
            "/tickets",
            201,
            {"data": ticket},
            identity=identity,
            request=sent,
            overlap=overlap,
        )
        ticket["_sent"] = sent
        return ticket

    def detail(self, ticket: dict[str, Any], messages: list[dict[str, Any]], **over: Any) -> None:
        data = {k: v for k, v in ticket.items() if not k.startswith("_")}
        data["customer"] = {
            "name": None,
            "email": ticket["_sent"]["customer_email"],
            "company": None,
        }
        data["messages"] = messages
        data.update(over)
        path = f"/tickets/{ticket['id']}"
        self.send("GET", path, 200, {"data": data}, identity=over.pop("identity", "main"))

    def post(self, ticket: dict[str, Any], text: str = "hello", **over: Any) -> dict[str, Any]:
        message = {
            "id": str(uuid.uuid4()),
            "author_type": "customer",
            "body": text,
            "created_at": self.stamp(1.0),
        }
        answer = {**message, **over}
        path = f"/tickets/{ticket['id']}/messages"
        self.send("POST", path, 201, {"data": answer}, request={"body": text})
        ticket["updated_at"] = message["created_at"]
        return message

    def first_message(self, ticket: dict[str, Any], **over: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "author_type": "customer",
            "body": ticket["description"],
            "created_at": ticket["created_at"],
            **over,
        }

    def listing(self, tickets: list[dict[str, Any]], query: str = "", **kwargs: Any) -> None:
        data = [{k: v for k, v in t.items() if not k.startswith("_")} for t in tickets]
        self.send("GET", f"/tickets{query}", 200, {"data": data}, **kwargs)


def test_a_faithful_conversation_on_every_channel_is_clean() -> None:
    run = Run()
    ticket = run.create(1)
    first = run.first_message(ticket)
    message = run.post(ticket, "a second message")
    run.detail(ticket, [first, message])
    run.listing([ticket], "?limit=5")
    run.detail(ticket, [first, message])
    run.deliver(
        "ticket.created",
        {
            "created_at": ticket["created_at"],
            "ticket_id": ticket["id"],
            "ticket_number": 1,
            "subject": ticket["subject"],
            "status": "new",
            "priority": "medium",
            "source": "api",
            "customer_id": ticket["customer_id"],
        },
    )
    run.deliver(
        "ticket.message.created",
        {
            "created_at": message["created_at"],
            "ticket_id": ticket["id"],
            "ticket_number": 1,
            "message_id": message["id"],
            "author_type": "customer",
            "body": message["body"],
        },
    )
    other = run.create(1, identity="other")
    run.listing([other], identity="other")
    assert run.names() == []


# -- note-marker-nowhere -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where", ["body", "error body", "header", "escaped body", "webhook", "webhook header", "key"]
)
def test_marker_is_caught_on_every_channel(where: str) -> None:
    run = Run()
    ticket = run.create(1)
    path = f"/tickets/{ticket['id']}"
    if where == "body":
        run.detail(ticket, [], description=f"notes: {MARKER}")
    elif where == "error body":
        details = {"fieldErrors": {"body": [MARKER]}, "formErrors": []}
        run.send("POST", f"{path}/messages", 400, {"error": "Invalid input", "details": details})
    elif where == "header":
        run.send("GET", path, 404, {"error": "Not found"}, headers={"X-Notes": MARKER})
    elif where == "escaped body":
        escaped = "".join(f"\\u{ord(c):04x}" for c in MARKER)
        run.send("GET", "/nowhere", 404, raw=('{"error": "' + escaped + '"}').encode())
    elif where == "webhook":
        run.deliver("ticket.created", {"ticket_id": ticket["id"], "notes": [MARKER]})
    elif where == "webhook header":
        run.deliver("ticket.created", {"ticket_id": ticket["id"]}, headers={"x-debug": MARKER})
    else:
        run.send("GET", "/tickets", 401, {"error": "Unauthorized", "key": KEY})
    found = run.oracles.violations(o.NOTE_MARKER)
    assert len(found) == 1, found
    rendered = found[0].render(Redactor([MARKER, KEY]))
    assert MARKER not in rendered and KEY not in rendered and "<redacted>" in rendered


# -- workspace-isolation -------------------------------------------------------------------------


def test_another_workspaces_ticket_in_a_list_is_caught_naming_both_reads() -> None:
    run = Run()
    mine, theirs = run.create(1), run.create(1, identity="other")
    run.listing([mine])
    assert run.names() == []
    run.listing([mine, theirs], "?limit=2")
    # The ticket, and its customer with it.
    found, customer = run.oracles.violations(o.ISOLATION)
    assert found.what.startswith("ticket ") and customer.what.startswith("customer ")
    assert "other workspace" in found.what and found.earlier is not None
    text = found.render(Redactor())
    assert "request #2 POST /tickets as other" in text and "request #4 GET /tickets?limit=2" in text


def test_a_customer_shared_across_workspaces_is_caught() -> None:
    run = Run()
    shared = str(uuid.uuid4())
    run.create(1, customer_id=shared)
    run.create(1, identity="other", customer_id=shared)
    assert run.names() == [o.ISOLATION]


def test_another_workspaces_ticket_in_a_webhook_is_caught_unless_the_endpoint_is_shared() -> None:
    for shared, expected in ((False, [o.ISOLATION]), (True, [])):
        run = Run(shared_webhooks=shared)
        theirs = run.create(1, identity="other")
        run.deliver("ticket.created", {"ticket_id": theirs["id"], "ticket_number": 1})
        assert run.names() == expected


def test_posting_to_another_workspaces_ticket_is_caught() -> None:
    run = Run()
    theirs = run.create(1, identity="other")
    run.post(theirs)
    assert o.ISOLATION in run.names()


# -- posted-messages-from-customer ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["answer", "conversation", "description", "webhook"])
def test_a_posted_message_not_from_the_customer_is_caught(where: str) -> None:
    run = Run()
    ticket = run.create(1)
    first = run.first_message(ticket)
    message = run.post(ticket, author_type="agent" if where == "answer" else "customer")
    if where == "conversation":
        run.detail(ticket, [first, {**message, "author_type": "agent"}])
    elif where == "description":
        run.detail(ticket, [{**first, "author_type": "agent"}, message])
    elif where == "webhook":
        run.deliver(
            "ticket.message.created",
            {
                "ticket_id": ticket["id"],
                "message_id": message["id"],
                "author_type": "agent",
                "body": message["body"],
                "created_at": message["created_at"],
            },
        )
    assert o.AUTHOR in run.names()


def test_an_agent_reply_the_suite_did_not_post_is_not_its_business() -> None:
    run = Run()
    ticket = run.create(1)
    reply = {
        "id": str(uuid.uuid4()),
        "author_type": "agent",
        "body": "an agent's reply",
        "created_at": run.stamp(),
    }
    run.detail(ticket, [run.first_message(ticket), reply])
    assert run.names() == []


# -- timestamps-utc-coherent ---------------------------------------------------------------------


def test_a_non_utc_offset_on_one_channel_is_caught_and_plus_zero_is_utc() -> None:
    run = Run()
    ticket = run.create(1)
    first = run.first_message(ticket)
    run.detail(ticket, [{**first, "created_at": first["created_at"].replace("Z", "+00:00")}])
    assert run.names() == []
    shifted = first["created_at"][:-1] + "+02:00"
    run.detail(ticket, [{**first, "created_at": shifted}])
    assert o.TIMESTAMPS in run.names()


def test_updated_before_created_and_a_message_before_its_ticket_are_caught() -> None:
    run = Run()
    ticket = run.create(1)
    run.listing([{**ticket, "updated_at": run.stamp(-3600)}])
    assert "updated" in run.oracles.violations(o.TIMESTAMPS)[0].what
    run = Run()
    ticket = run.create(1)
    run.detail(ticket, [run.first_message(ticket, created_at=run.stamp(-5))])
    assert "before its ticket" in run.oracles.violations(o.TIMESTAMPS)[0].what


def test_a_conversation_out_of_creation_order_is_caught_even_with_equal_stamps() -> None:
    run = Run()
    ticket = run.create(1)
    first = run.post(ticket, "one")
    run.now += 5  # created well apart: the order is known whatever the stamps say
    second = run.post(ticket, "two")
    same = first["created_at"]
    run.detail(ticket, [run.first_message(ticket), {**second, "created_at": same}, {**first}])
    assert o.TIMESTAMPS in run.names()


def test_objects_created_within_a_second_may_come_in_either_order() -> None:
    # Whole-second stamps (part B 15 leaves the precision open) make such ties unordered.
    run = Run()
    ticket = run.create(1)
    first = run.post(ticket, "one")
    second = run.post(ticket, "two")
    stamp = first["created_at"]
    tied = [{**second, "created_at": stamp}, {**first, "created_at": stamp}]
    run.detail(ticket, [run.first_message(ticket, created_at=ticket["created_at"]), *tied])
    a = run.create(2, created_at=stamp, updated_at=stamp)
    b = run.create(3, created_at=stamp, updated_at=stamp)
    run.listing([a, b], "?limit=2")
    assert o.TIMESTAMPS not in run.names() and o.LISTS not in run.names()


def test_a_create_stamped_hours_away_from_its_request_is_caught() -> None:
    run = Run(tolerance=300)
    run.create(1, created_at=run.stamp(2 * 3600), updated_at=run.stamp(2 * 3600))
    (found,) = run.oracles.violations(o.TIMESTAMPS)
    assert "TIXALLO_WEBHOOK_TOLERANCE" in found.what


# -- ticket-number-unique-increasing -------------------------------------------------------------


def test_numbers_are_unique_per_workspace_and_increase_with_creation_order() -> None:
    run = Run()
    run.create(1)
    run.create(1, identity="other")  # another workspace counts on its own
    run.create(2)
    assert run.names() == []
    run.create(2)
    found = run.oracles.violations(o.NUMBERS)
    assert {"unique", "order"} & {v.what.split()[0] for v in found} or len(found) == 2
    assert any("held by two tickets" in v.what for v in found)
    assert any("increase with creation order" in v.what for v in found)


def test_concurrent_creates_may_be_numbered_in_any_order() -> None:
    run = Run()
    run.create(7)
    run.now += 1
    for number in (9, 8):  # two requests in flight at once
        run.create(number, overlap=True)
    assert run.names() == []


# -- same-object-same-fields ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["list", "get", "webhook"])
def test_a_field_that_differs_on_one_channel_is_caught(channel: str) -> None:
    run = Run()
    ticket = run.create(1, subject="x" * 300)
    if channel == "list":
        run.listing([{**ticket, "subject": "x" * 100}])
    elif channel == "get":
        run.detail(ticket, [run.first_message(ticket)], priority="high")
    else:
        run.deliver("ticket.created", {"ticket_id": ticket["id"], "ticket_number": 2})
    (found,) = run.oracles.violations(o.SAME_FIELDS)
    assert "earlier read" in found.what and found.earlier is not None


def test_updated_at_changes_only_when_a_message_was_posted_and_never_goes_back() -> None:
    run = Run()
    ticket = run.create(1)
    first = run.first_message(ticket)
    run.detail(ticket, [first])
    message = run.post(ticket)
    run.detail(ticket, [first, message])  # moved on: a message was posted in between
    assert run.names() == []
    run.listing([{**ticket, "updated_at": ticket["created_at"]}])  # a stale list
    assert next(v.what for v in run.oracles.violations(o.SAME_FIELDS)).endswith(
        "in the earlier read"
    )
    run = Run()
    ticket = run.create(1)
    run.detail(ticket, [run.first_message(ticket)])
    run.detail(ticket, [run.first_message(ticket)], updated_at=run.stamp(30))
    assert "no message was posted" in run.oracles.violations(o.SAME_FIELDS)[0].what


def test_the_create_answer_holds_what_was_sent_when_that_is_plain_text() -> None:
    run = Run()
    sent = {"subject": "  padded  ", "description": "d", "customer_email": "a@example.com"}
    run.send("POST", "/tickets", 201, {"data": run.ticket(1, sent, subject="padded")}, request=sent)
    assert "create answer's subject" in run.oracles.violations(o.SAME_FIELDS)[0].what
    run = Run()
    odd = {**sent, "subject": "e\u0301 \x00"}  # not NFC, a control character: stores may differ
    run.send("POST", "/tickets", 201, {"data": run.ticket(1, odd, subject="é")}, request=odd)
    assert run.names() == []


def test_a_messages_body_and_the_customers_email_are_compared_too() -> None:
    run = Run()
    ticket = run.create(1, customer_email="Mixed@Example.com")
    run.post(ticket, "sent text", body="other text")
    assert any("message" in v.what for v in run.oracles.violations(o.SAME_FIELDS))
    run = Run()
    ticket = run.create(1, customer_email="Mixed@Example.com")
    run.detail(ticket, [], customer={"name": None, "email": "mixed@example.com", "company": None})
    assert run.names() == []  # the same address in another case
    run.detail(ticket, [], customer={"name": None, "email": "someone@else.com", "company": None})
    assert o.SAME_FIELDS in run.names()


# -- responses-match-spec and lists-newest-first-within-limit ------------------------------------


def test_answers_are_held_to_the_spec_of_their_operation_and_status() -> None:
    run = Run()
    run.send("GET", f"/tickets/{uuid.uuid4()}", 404, {"message": "Not Found"})
    run.send("DELETE", "/tickets", 405, {"anything": True})  # undocumented: no schema to hold
    run.send("GET", "/tickets", 200, raw=b"<html>")
    found = run.oracles.violations(o.SCHEMA)
    assert len(found) == 2 and "not JSON" in found[1].what


def test_a_400_that_says_invalid_input_is_the_documented_validation_error() -> None:
    run = Run()
    run.send("POST", "/tickets", 400, {"error": "Invalid JSON"})  # any error string may be a 400
    full = {"fieldErrors": {}, "formErrors": ["Expected object, received array"]}
    run.send("POST", "/tickets", 400, {"error": "Invalid input", "details": full})
    assert run.names() == []
    run.send("POST", "/tickets", 400, {"error": "Invalid input", "details": {"formErrors": []}})
    (found,) = run.oracles.violations(o.SCHEMA)
    assert "not the documented validation error" in found.what and "fieldErrors" in found.what


def test_lists_hold_at_most_their_limit_and_no_merged_ticket() -> None:
    merged = str(uuid.uuid4())
    run = Run(merged_ticket_id=merged)
    tickets = [run.create(n) for n in (1, 2, 3)]
    newest = list(reversed(tickets))
    run.listing(newest, "?limit=3")
    # A lenient limit: judged elsewhere, only the maximum here.
    run.listing(newest[:2], "?limit=5abc")
    assert run.names() == []
    run.listing(newest, "?limit=2")
    run.listing([{**newest[0], "id": merged}], "?limit=1")
    found = [v.what for v in run.oracles.violations(o.LISTS)]
    assert any("more than its limit 2" in w for w in found) and any("merged" in w for w in found)


def test_a_list_shorter_than_its_limit_holds_every_ticket_the_suite_created() -> None:
    run = Run()
    a = run.create(1)
    run.now += 5
    b = run.create(2)
    theirs = run.create(3, identity="other")
    run.now += 5
    run.listing([b, a], "?limit=50")  # the whole workspace: fine
    run.listing([b], "?limit=1")  # full: fine
    run.listing([b], "?limit=+5")  # how many a lenient limit asks for is open (part B 7)
    run.listing([theirs], "?limit=50", identity="other")
    assert run.names() == []
    run.listing([b], "?limit=50")  # short, and without a ticket it must hold
    (found,) = run.oracles.violations(o.LISTS)
    assert "fewer than its limit 50" in found.what and a["id"] in found.what
    run.listing([b], "")  # the default limit is a limit too
    assert len(run.oracles.violations(o.LISTS)) == 2


def test_an_oldest_first_list_is_caught_but_ties_are_not() -> None:
    run = Run()
    a = run.create(1)
    run.now += 5
    b = run.create(2)
    run.listing([b, a])
    assert run.names() == []
    run.listing([a, b])
    assert o.LISTS in run.names()


def test_violations_of_requests_are_told_apart_from_those_of_deliveries() -> None:
    run = Run()
    ticket = run.create(1)
    mark = run.oracles.mark()
    run.deliver("ticket.created", {"ticket_id": ticket["id"], "ticket_number": 9})
    assert run.oracles.since(mark) == []
    run.listing([{**ticket, "subject": "another subject"}])
    assert [v.oracle for v in run.oracles.since(mark)] == [o.SAME_FIELDS]


def test_every_oracle_is_named_and_documented_once() -> None:
    assert len({x.name for x in o.ORACLES}) == len(o.ORACLES) == 8
    assert all(x.doc and "\n" not in x.doc for x in o.ORACLES)


def test_a_list_that_leaves_out_a_newer_ticket_than_one_it_holds_is_caught() -> None:
    run = Run()
    a = run.create(1)
    run.now += 5  # well apart: not a tie
    b = run.create(2)
    run.listing([b], "?limit=1")  # the newest one: fine
    theirs = run.create(1, identity="other")
    run.listing([theirs], "?limit=1", identity="other")  # the other workspace's own list: fine
    assert run.names() == []
    run.listing([a], "?limit=1")  # the oldest one instead
    (found,) = run.oracles.violations(o.LISTS)
    assert "leaves out ticket" in found.what and found.earlier is not None
