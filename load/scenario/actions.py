"""The four API actions of the scenarios, each recording what it created for accounting and integrity."""

from __future__ import annotations

import functools
import itertools
import os
import random
import time
from collections.abc import Callable, MutableSequence
from typing import Any

from tixallo_qa.core import spec
from tixallo_qa.core.ratelimit import Reservation
from tixallo_qa.load.options import BURST, ENDPOINTS, list_limit, list_path
from tixallo_qa.load.scenario.pacing import Pacer, Reply
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.scenario.wire import Wire

_counter = itertools.count(1)
# What a 201 said, kept with each created record so the read-back compares with it.
TICKET_ECHO = (
    "subject",
    "description",
    "priority",
    "status",
    "source",
    "created_at",
    "customer_id",
)
MESSAGE_ECHO = ("body", "author_type", "created_at")


@functools.cache
def _priorities() -> tuple[str, ...]:
    return tuple(spec.component("Priority")["enum"])


# The path template locust and the histograms name a request by; bursts are kept apart.
_NAMES = {
    (action, burst): endpoint.split(" ", 1)[1] + (BURST if burst else "")
    for action, endpoint in ENDPOINTS.items()
    for burst in (False, True)
}


def _name(action: str, burst: bool = False) -> str:
    return _NAMES[action, burst]


def _echo(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: data.get(k) for k in names if k in data}


# What each 2xx answer's ``data`` must be whatever the load (Pacer.call's ``check``): a create
# names what it created, a list is a list, a read by id is that very ticket. A deployment that
# crosses answers between concurrent requests, or cuts them short, fails here, while the run
# is on; the read-back at the end only sees what was stored.
def _names_created(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return None
    return "the 201 answer names no id of what it created"


# A store that serves reads from a replica may show new tickets a few seconds late: a list must
# be full only this long after the process alone had created a page's worth.
FULL_AFTER = 5.0


def _is_page(asked: float) -> Callable[[Any], str | None]:
    """A list is a list of at most its limit; full once the workspace surely held a page.

    ``asked`` is when the list was asked for (no later than its send): what counts is what the
    workspace held then, not when a slow answer came back.
    """

    def check(data: Any) -> str | None:
        if not isinstance(data, list):
            return "the list answer's data is not a list"
        limit = list_limit()
        if len(data) > limit:
            return f"the list holds {len(data)} tickets, more than its limit {limit}"
        since = STATE.page_full_at
        if len(data) < limit and since is not None and asked - since > FULL_AFTER:
            return (
                f"the list holds {len(data)} tickets, fewer than its limit {limit}, though this "
                f"load run alone had created more than {limit} tickets over {FULL_AFTER:g} s "
                "before it was asked for"
            )
        return None

    return check


def _is_ticket(ticket_id: str) -> Any:
    def check(data: Any) -> str | None:
        if isinstance(data, dict) and data.get("id") == ticket_id:
            return None
        other = data.get("id") if isinstance(data, dict) else None
        return f"GET /tickets/{ticket_id} answered " + (
            f"another ticket ({other})" if other else "no ticket"
        )

    return check


def create_ticket(
    client: Wire,
    pacer: Pacer,
    run_id: str,
    *,
    intended: float | None = None,
    slot: Reservation | None = None,
    burst: bool = False,
) -> Reply:
    n = next(_counter)
    tag = f"{run_id}-{os.getpid()}-{n}"
    body = {
        "subject": f"Load {tag}: cannot log in",
        "description": f"Ticket {tag} created by tixallo-qa load.",
        "customer_email": f"load-{tag}@example.com",
        "customer_name": f"Load Customer {n}",
        "priority": random.choice(_priorities()),
    }
    reply = pacer.call(
        client,
        "POST",
        "/tickets",
        name=_name("create", burst),
        json=body,
        intended=intended,
        slot=slot,
        check=_names_created,
    )
    if reply.status == 201 and isinstance(reply.data, dict) and reply.data.get("id"):
        STATE.collector.record_created(
            {
                "kind": "ticket",
                "ticket_id": reply.data["id"],
                "ticket_number": reply.data.get("ticket_number"),
                "acked_at": reply.acked_at,
                "sent_at": reply.sent_at,
                "sent": body,
                "returned": _echo(reply.data, TICKET_ECHO),
                "burst": burst,
            }
        )
        STATE.recent.append(reply.data["id"])
        if STATE.page_full_at is None and len(STATE.recent) >= list_limit():
            STATE.page_full_at = time.time()
    return reply


def add_message(
    client: Wire,
    pacer: Pacer,
    ticket_id: str,
    *,
    intended: float | None = None,
    slot: Reservation | None = None,
    burst: bool = False,
) -> Reply:
    body = {"body": f"Reply {os.getpid()}-{next(_counter)} from tixallo-qa load."}
    path = f"/tickets/{ticket_id}/messages"
    reply = pacer.call(
        client, "POST", path, name=_name("message", burst), json=body, intended=intended,
        slot=slot, check=_names_created,
    )  # fmt: skip
    if reply.status == 201 and isinstance(reply.data, dict) and reply.data.get("id"):
        STATE.collector.record_created(
            {
                "kind": "message",
                "ticket_id": ticket_id,
                "message_id": reply.data["id"],
                "acked_at": reply.acked_at,
                "sent_at": reply.sent_at,
                "sent": body,
                "returned": _echo(reply.data, MESSAGE_ECHO),
                "burst": burst,
            }
        )
    return reply


def list_tickets(
    client: Wire,
    pacer: Pacer,
    seen: MutableSequence[str] | None = None,
    *,
    intended: float | None = None,
    slot: Reservation | None = None,
    burst: bool = False,
) -> Reply:
    reply = pacer.call(
        client, "GET", list_path(), name=_name("list", burst), intended=intended, slot=slot,
        check=_is_page(time.time()),
    )  # fmt: skip
    if seen is not None and isinstance(reply.data, list):
        seen[:] = [t["id"] for t in reply.data if isinstance(t, dict) and t.get("id")]
    return reply


def get_ticket(
    client: Wire,
    pacer: Pacer,
    ticket_id: str,
    *,
    intended: float | None = None,
    slot: Reservation | None = None,
    burst: bool = False,
) -> Reply:
    return pacer.call(
        client, "GET", f"/tickets/{ticket_id}", name=_name("get", burst), intended=intended,
        slot=slot, check=_is_ticket(ticket_id),
    )  # fmt: skip


def perform(
    action: str, client: Wire, pacer: Pacer, run_id: str, *, intended: float | None = None
) -> Reply:
    """One action of the open model's mix; reads and messages use tickets this process created."""
    known = STATE.recent
    if action == "create" or (action in ("message", "get") and not known):
        return create_ticket(client, pacer, run_id, intended=intended)
    if action == "message":
        return add_message(client, pacer, random.choice(known), intended=intended)
    if action == "get":
        return get_ticket(client, pacer, random.choice(known), intended=intended)
    return list_tickets(client, pacer, intended=intended)
