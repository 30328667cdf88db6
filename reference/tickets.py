"""Ticket operations and their public JSON shapes, shared by the API routes and the seed."""

from __future__ import annotations

import html
from typing import Any

from tixallo_qa.core import events
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.reference.dispatcher import enqueue
from tixallo_qa.reference.faults import FaultSet
from tixallo_qa.reference.store import TICKET_FIELDS, Store, new_id, shift_ts

# What a ticket created through the API is (public-docs part B 5); the spec leaves these open.
STATUS_NEW = "new"
SOURCE_API = "api"
AUTHOR_CUSTOMER = "customer"
AUTHOR_AGENT = "agent"

# Row positions of store.TICKET_COLUMNS beyond the public fields.
_WORKSPACE = 10
_MERGED_INTO = 11


def workspace_of(row: tuple[Any, ...]) -> str:
    return str(row[_WORKSPACE])


def merged(row: tuple[Any, ...]) -> bool:
    return row[_MERGED_INTO] is not None


class Tickets:
    """Creates tickets and messages (with their webhook events) and renders them."""

    def __init__(
        self, store: Store, faults: FaultSet | None = None, default_priority: str = "medium"
    ) -> None:
        self.store = store
        self.faults = faults or FaultSet()
        self.default_priority = default_priority

    # -- writes --------------------------------------------------------------------------------

    def _customer(self, workspace_id: str, email: str, name: str | None) -> str:
        f = self.faults
        found = None
        if not f.on("customer-duplicated"):
            scope = None if f.on("isolation-customer-shared") else workspace_id
            found = self.store.find_customer(scope, email)
        if found is None:
            return self.store.create_customer(
                workspace_id, email, None if f.on("customer-name-ignored") else name
            )
        # An existing customer's name is never overwritten by a later ticket.
        if name and f.on("customer-name-overwritten"):
            self.store.set_customer_name(found[0], name)
        elif name and found[1] is None and f.on("customer-name-filled-later"):
            self.store.set_customer_name(found[0], name)  # COALESCE(name, :name)
        return found[0]

    def create(
        self,
        workspace_id: str,
        fields: dict[str, Any],
        *,
        emit: bool = True,
        number: int | None = None,
        copies: int = 1,
        event_changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a ticket from validated fields; the last three arguments only serve load faults."""
        f = self.faults
        subject = fields["subject"]
        if f.on("roundtrip-subject-trimmed"):
            subject = subject.strip()
        if f.on("roundtrip-subject-truncated"):
            subject = subject[:255]
        priority = fields.get("priority", self.default_priority)
        if f.on("roundtrip-priority-dropped"):
            priority = self.default_priority
        with self.store.tx():
            now = self.store.now()
            customer_id = self._customer(
                workspace_id, fields.get("customer_email", ""), fields.get("customer_name")
            )
            if number is None:
                number = self.store.next_ticket_number(workspace_id)
                every = int(f.param("ticket-number-reused", 7))
                if f.on("ticket-number-reused") and number > 1 and number % every == 0:
                    number -= 1
            else:
                self.store.set_ticket_counter(workspace_id, number)
            ticket = {
                "id": new_id(),
                "ticket_number": number,
                "subject": subject,
                "description": fields["description"],
                "status": "open" if f.on("roundtrip-status-open") else STATUS_NEW,
                "priority": priority,
                "source": "web" if f.on("roundtrip-source-web") else SOURCE_API,
                "created_at": now,
                "updated_at": now,
                "customer_id": customer_id,
            }
            self.store.insert_ticket(ticket, workspace_id)
            message_id = None
            if not f.on("roundtrip-description-not-first-message"):
                # The description is the first public message, with the ticket's timestamp (part B 4).
                first_body = ticket["description"]
                if f.on("roundtrip-first-message-trimmed"):
                    first_body = first_body.strip()
                message_id = self.store.insert_message(
                    ticket["id"], AUTHOR_CUSTOMER, first_body, now
                )
            if emit:
                payload = {**events.payload(TICKET_CREATED, ticket), **(event_changes or {})}
                enqueue(self.store, f, workspace_id, payload, copies)
                if message_id and f.on("webhook-description-message-event"):
                    message = {
                        "id": message_id,
                        "author_type": AUTHOR_CUSTOMER,
                        "body": ticket["description"],
                        "created_at": now,
                    }
                    enqueue(
                        self.store,
                        f,
                        workspace_id,
                        events.payload(MESSAGE_CREATED, ticket, message),
                    )
        return ticket

    def add_message(
        self,
        row: tuple[Any, ...],
        body: str,
        *,
        emit: bool = True,
        copies: int = 1,
        backdate: float = 0.0,
    ) -> dict[str, Any]:
        """Append a public customer message; ``copies`` and ``backdate`` only serve load faults."""
        author = (
            AUTHOR_AGENT if self.faults.on("roundtrip-message-author-agent") else AUTHOR_CUSTOMER
        )
        with self.store.tx():
            now = self.store.past(backdate) if backdate else self.store.now()
            ticket_id = str(row[0])
            message_id = self.store.insert_message(ticket_id, author, body, now)
            self.store.touch_ticket(ticket_id, now)
            message = {"id": message_id, "author_type": author, "body": body, "created_at": now}
            if emit:
                ticket = {"id": ticket_id, "ticket_number": int(row[1])}
                payload = events.payload(MESSAGE_CREATED, ticket, message)
                notes = self.store.internal_notes(ticket_id)
                if notes and self.faults.on("notes-marker-in-webhook"):
                    payload["internal_notes"] = notes
                enqueue(self.store, self.faults, workspace_of(row), payload, copies)
        return message

    def add_note(self, ticket_id: str, body: str) -> str:
        """An internal (agent-only) note: stored, never returned over the public API."""
        with self.store.tx():
            return self.store.insert_message(
                ticket_id, AUTHOR_AGENT, body, self.store.now(), internal=True
            )

    # -- reads ---------------------------------------------------------------------------------

    def _ts(self, value: str) -> str:
        return value.rstrip("Z") if self.faults.on("roundtrip-timestamp-no-zone") else value

    def public(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """A just-created ticket as the API returns it."""
        if not self.faults:
            return ticket
        return {
            **ticket,
            "created_at": self._ts(ticket["created_at"]),
            "updated_at": self._ts(ticket["updated_at"]),
        }

    def ticket_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        data = dict(zip(TICKET_FIELDS, row, strict=False))
        if self.faults:
            data["created_at"] = self._ts(data["created_at"])
            data["updated_at"] = self._ts(data["updated_at"])
            if self.faults.on("notes-marker-in-description"):
                notes = self.store.internal_notes(data["id"])
                if notes:
                    data["description"] = "\n\n".join([data["description"], *notes])
        return data

    def listed_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """A ticket as an entry of the list (where the list-only faults live)."""
        data = self.ticket_json(row)
        f = self.faults
        if f.on("list-description-preview"):
            cut = int(f.param("list-description-preview", 200))
            if len(data["description"]) > cut:
                data["description"] = data["description"][:cut] + "…"
        if f.on("list-subject-truncated"):
            data["subject"] = data["subject"][: int(f.param("list-subject-truncated", 100))]
        if f.on("list-subject-html-escaped"):
            data["subject"] = html.escape(data["subject"], quote=False)
        if f.on("list-priority-capitalized"):
            data["priority"] = data["priority"].capitalize()
        if f.on("list-updated-at-stale"):
            data["updated_at"] = data["created_at"]
        if f.on("list-updated-before-created"):
            before = -f.param("list-updated-before-created", 1)
            data["updated_at"] = shift_ts(data["created_at"], seconds=before)
        return data

    def message_json(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.faults:
            return {**message, "created_at": self._ts(message["created_at"])}
        return message

    def detail_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        data = self.ticket_json(row)
        data["customer"] = self.store.customer(data["customer_id"])
        f = self.faults
        leak = f.on("notes-returned") or f.on("notes-as-agent-message")
        if f.on("notes-leak-after-post") and self.store.public_message_count(data["id"]) > 1:
            leak = True  # the conversation cache rebuilt after a post takes every row
        messages: list[dict[str, Any]] = []
        for mid, author, body, created_at, internal in self.store.messages(
            data["id"], include_internal=leak
        ):
            if internal:
                author = "internal" if f.on("notes-returned") else AUTHOR_AGENT
            elif messages and f.on("roundtrip-message-html-escaped"):
                body = html.escape(body)  # output sanitising of posted messages
            messages.append(
                self.message_json(
                    {"id": mid, "author_type": author, "body": body, "created_at": created_at}
                )
            )
        if f.on("roundtrip-author-agent-older"):
            # Posted messages (after the description) other than the newest one.
            for m in messages[1:-1]:
                m["author_type"] = AUTHOR_AGENT
        if messages and f.on("roundtrip-message-before-ticket"):
            early = -f.param("roundtrip-message-before-ticket", 2)
            messages[0]["created_at"] = shift_ts(data["created_at"], seconds=early)
        if f.on("roundtrip-message-offset"):
            hours = f.param("roundtrip-message-offset", 2)
            for m in messages:
                m["created_at"] = shift_ts(m["created_at"], offset_hours=hours)
        if data["priority"] == "urgent" and f.on("roundtrip-get-priority-urgent"):
            data["priority"] = "high"
        if f.on("roundtrip-messages-newest-first"):
            messages.reverse()
        data["messages"] = messages
        return data
