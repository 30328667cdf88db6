"""Expected values the named checks read from the spec, never restated: error strings, limits, defaults."""

from __future__ import annotations

from typing import Any

from tixallo_qa.core import spec


def error_text(component: str) -> str:
    """The documented ``error`` string of an error schema, e.g. ``NotFoundError`` -> ``Not found``."""
    return str(spec.component(component)["properties"]["error"]["const"])


def request_properties(component: str) -> dict[str, dict[str, Any]]:
    """Properties of a request schema (``CreateTicketRequest``), ``$ref``s resolved one level."""
    props: dict[str, dict[str, Any]] = {}
    for name, schema in spec.component(component)["properties"].items():
        ref = schema.get("$ref")
        props[name] = spec.component(ref.rsplit("/", 1)[-1]) if ref else schema
    return props


def required(component: str) -> list[str]:
    return list(spec.component(component).get("required", []))


def priority() -> dict[str, Any]:
    return spec.component("Priority")


def author_types() -> list[str]:
    return list(spec.component("AuthorType")["enum"])


def limit() -> dict[str, Any]:
    """listTickets' ``limit``: ``minimum``, ``maximum``, ``default``."""
    return spec.limit_parameter()


def webhook_properties(event_type: str) -> list[str]:
    """Payload fields of an event type, in the spec's order."""
    pointer = spec.webhook_pointer(event_type)
    name = pointer.rsplit("/", 1)[-1]
    return list(spec.component(name)["properties"])


def validate(pointer: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema at ``pointer`` (empty when valid)."""
    return [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
        for e in spec.validator(pointer).iter_errors(instance)
    ]


def validate_event(event_type: str, payload: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
        for e in spec.webhook_validator(event_type).iter_errors(payload)
    ]
