"""The ledger of successful creates: every ticket and message the suite made, and when."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED

_TICKETS = re.compile(r"^/tickets/?$")
_MESSAGES = re.compile(r"^/tickets/(?P<ticket_id>[^/]+)/messages/?$")


@dataclass
class Created:
    """One successful create and the webhook event it must fire."""

    event_type: str
    identity: str | None  # who created it: "main", "other", or None (an unpooled key)
    ticket_id: str
    data: dict[str, Any]  # the API's ``data`` object
    action_time: float  # wall clock when the request was sent
    exchange: Exchange
    message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The id that names the logical event (the message for messages, else the ticket)."""
        return self.message_id if self.message_id is not None else self.ticket_id


class Ledger:
    """Thread-safe record of creates, filled by observing the paced session."""

    def __init__(self, base_url: str) -> None:
        self._base_path = urlsplit(base_url).path.rstrip("/")
        self._items: list[Created] = []
        self._ticket_ids: set[str] = set()
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Created], None]] = []

    def _relative(self, url: str) -> str | None:
        path = urlsplit(url).path
        if not path.startswith(self._base_path):
            return None
        return path[len(self._base_path) :] or "/"

    def observe(self, exchange: Exchange, response: requests.Response | None) -> None:
        """Session observer: record a 201 of createTicket or addMessage."""
        if response is None or exchange.method != "POST" or exchange.status != 201:
            return
        path = self._relative(exchange.url)
        if path is None:
            return
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return
        created: Created | None = None
        if _TICKETS.match(path) and isinstance(data.get("id"), str):
            created = Created(
                TICKET_CREATED, exchange.identity, data["id"], data, exchange.started_at, exchange
            )
        elif (m := _MESSAGES.match(path)) and data.get("id") is not None:
            created = Created(
                MESSAGE_CREATED,
                exchange.identity,
                m.group("ticket_id"),
                data,
                exchange.started_at,
                exchange,
                message_id=str(data["id"]),
            )
        if created is None:
            return
        with self._lock:
            self._items.append(created)
            if created.event_type == TICKET_CREATED:
                self._ticket_ids.add(created.ticket_id)
        for listener in list(self.listeners):
            listener(created)

    def __iter__(self) -> Iterator[Created]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def ticket(self, ticket_id: str) -> Created | None:
        """The create of ``ticket_id`` when the suite made it."""
        return next(
            (c for c in self if c.event_type == TICKET_CREATED and c.ticket_id == ticket_id), None
        )

    def ticket_ids(self, identity: str | None = None) -> set[str]:
        """Ids of the tickets the suite created (as ``identity`` when given)."""
        return {
            c.ticket_id
            for c in self
            if c.event_type == TICKET_CREATED and (identity is None or c.identity == identity)
        }

    def by_identity(self, identity: str) -> list[Created]:
        return [c for c in self if c.identity == identity]
