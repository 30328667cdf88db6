"""Webhook events: their types, the logical event a delivery is about, its payload and headers, its lag.

The spec's ``webhooks`` section documents the event types and their payload fields; createTicket
and addMessage name the event they fire (``x-tixallo-webhook``). This module is the one place
the rest of the project takes those from (a unit test holds the two names below to the spec).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from tixallo_qa.core import spec

TICKET_CREATED = "ticket.created"
MESSAGE_CREATED = "ticket.message.created"
# What a create fires, by what it created (the operations' x-tixallo-webhook in the spec).
EVENT_OF = {"ticket": TICKET_CREATED, "message": MESSAGE_CREATED}
# The payload field that names one logical event (what a double fire repeats); else the ticket.
_KEY_FIELD = {MESSAGE_CREATED: "message_id"}
# Payload fields named differently from the API field of the object they come from.
_API_NAME = {"ticket_id": "id", "message_id": "id"}


def key_field(event_type: str | None) -> str:
    """The payload field that identifies one logical event of ``event_type``."""
    return _KEY_FIELD.get(event_type or "", "ticket_id")


def event_key(
    event_type: str | None, ticket_id: object = None, message_id: object = None
) -> str | None:
    """``"<event_type>:<id>"`` naming one logical event, or None when its id is unknown."""
    if not event_type:
        return None
    ident = message_id if key_field(event_type) == "message_id" else ticket_id
    if ident is None or ident == "":
        return None
    return f"{event_type}:{ident}"


def payload_key(event_type: str | None, payload: object) -> str | None:
    """The logical event a payload is about (see ``event_key``)."""
    if not isinstance(payload, Mapping):
        return None
    ident = payload.get(key_field(event_type))
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        return None
    return event_key(event_type, ident, ident)


def accepted(verdict: str | None, status: int | None) -> bool:
    """A delivery that counts: authentic (verdict valid) and acknowledged 2xx by the sink."""
    return verdict == "valid" and 200 <= int(status or 0) < 300


def lag(action_at: float, received_at: float) -> float:
    """Seconds from the action (a create) to a delivery; one that beats the answer counts as 0."""
    return max(0.0, received_at - action_at)


def payload_fields(event_type: str) -> list[str]:
    """The payload fields of ``event_type``, in the spec's order."""
    return list(spec.webhook_schema(event_type)["properties"])


def payload(
    event_type: str, ticket: Mapping[str, Any], message: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The payload the spec documents for an event about ``ticket`` (and ``message``).

    Each field takes the API's value of the same object: for an event about a message, the
    message's first (its id, body, created_at: part B 11), then the ticket's. A field neither
    holds is left out.
    """
    if key_field(event_type) != "message_id":
        message = None
    out: dict[str, Any] = {}
    for name in payload_fields(event_type):
        if name == "event_type":
            out[name] = event_type
            continue
        api_name = _API_NAME.get(name, name)
        if name == "ticket_id":
            sources: tuple[Mapping[str, Any] | None, ...] = (ticket,)
        elif name == "message_id":
            sources = (message,)
        else:
            sources = (message, ticket)
        for source in sources:
            if source is not None and api_name in source:
                out[name] = source[api_name]
                break
    return out


# The header naming the event type (part B 1), whichever scheme signs the delivery.
EVENT_HEADER = "X-Tixallo-Event"


@functools.cache
def _event_types() -> frozenset[str]:
    return frozenset(spec.webhook_event_types())


@functools.cache
def _header_schemas(event_type: str) -> dict[str, str]:
    """The spec's delivery headers of ``event_type``: lower-case name -> pointer of its schema."""
    escaped = event_type.replace("~", "~0").replace("/", "~1")
    operation = f"#/webhooks/{escaped}/post"
    found: dict[str, str] = {}
    for i, parameter in enumerate(spec.resolve(operation).get("parameters", [])):
        pointer = parameter.get("$ref") or f"{operation}/parameters/{i}"
        resolved = spec.resolve(pointer)
        if resolved.get("in") == "header" and "schema" in resolved:
            found[str(resolved["name"]).lower()] = f"{pointer}/schema"
    return found


def header_errors(
    payload_event: str | None, headers: Mapping[str, str], documented: Iterable[str]
) -> list[str]:
    """Every way a delivery's headers break part B 1 (``headers`` with lower-case names).

    Each of ``documented`` (the signing scheme's own delivery headers) must be there, with a
    value its parameter's schema in the spec allows (X-Tixallo-Delivery a UUID, in any case);
    an X-Tixallo-Event, whatever the scheme, must name the payload's event type.
    """
    errors: list[str] = []
    given = headers.get(EVENT_HEADER.lower())
    known = _event_types()
    # Both event types document the same headers; the header's type serves an untyped payload.
    typed = payload_event if payload_event in known else given if given in known else None
    schemas = _header_schemas(typed) if typed is not None else {}
    for name in documented:
        value = headers.get(name.lower())
        if value is None:
            errors.append(f"missing header {name}")
            continue
        pointer = schemas.get(name.lower())
        if pointer is not None:
            errors += [f"{name}: {e.message}" for e in spec.errors(pointer, value.strip())]
    if given is not None and payload_event is not None and given != payload_event:
        errors.append(f"{EVENT_HEADER} {given!r} differs from payload event_type {payload_event!r}")
    return errors
