"""Payload checks against the spec's ``webhooks`` schemas (resolved through the spec's registry)."""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator

from tixallo_qa.core import spec

try:  # Rust validator, shipped with schemathesis' dependencies; the sink works without it
    import jsonschema_rs
except ImportError:  # pragma: no cover
    jsonschema_rs = None  # type: ignore[assignment]

MAX_ERRORS = 20


@functools.cache
def event_types() -> tuple[str, ...]:
    """The event types the spec documents."""
    return tuple(spec.webhook_event_types())


@functools.cache
def _validator(event_type: str) -> Draft202012Validator:
    return spec.webhook_validator(event_type)


@functools.cache
def _fast_validator(event_type: str) -> Any:
    """A jsonschema_rs validator of the same ``$ref`` against the same spec registry, or None.

    Performance (bench/sink_ingest.py): jsonschema's ``iter_errors`` cost ~90 µs per delivery,
    a third of the sink's event-loop time; ``is_valid`` here costs ~1 µs. It only decides
    "conforms"; a payload it rejects goes through jsonschema for the error messages, so every
    message is unchanged. (It accepts RFC 3339 leap seconds, ``...T23:59:60Z``, which Python's
    ``datetime`` and so jsonschema reject: the one difference, in the payload's favour.)
    """
    if jsonschema_rs is None:
        return None
    registry = jsonschema_rs.Registry([(spec.SPEC_URI, spec.load_spec())])
    return jsonschema_rs.validator_for(
        spec.schema_ref(spec.webhook_pointer(event_type)),
        registry=registry,
        validate_formats=True,
    )


def schema_errors(payload: Any, header_event: str | None = None) -> tuple[str | None, list[str]]:
    """The payload's event type and every way it breaks the spec (empty when it conforms).

    ``header_event`` (X-Tixallo-Event) stands in for a payload without one; whether the two
    agree is a header's problem (``core.events.header_errors``).
    """
    if not isinstance(payload, dict):
        return header_event, [f"payload is a JSON {type(payload).__name__}, not an object"]
    event_type = payload.get("event_type")
    errors: list[str] = []
    if not isinstance(event_type, str):
        errors.append("payload has no string 'event_type'")
        event_type = header_event
    if event_type not in event_types():
        errors.append(
            f"event type {event_type!r} is not in the spec's webhooks ({', '.join(event_types())})"
        )
        return event_type, errors
    fast = _fast_validator(event_type)
    if fast is not None and fast.is_valid(payload):
        return event_type, errors
    for error in sorted(_validator(event_type).iter_errors(payload), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.path) or "payload"
        errors.append(f"{where}: {error.message}")
        if len(errors) >= MAX_ERRORS:
            break
    return event_type, errors
