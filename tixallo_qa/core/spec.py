"""Loads ``openapi/tixallo-v1.yaml``, the single source of truth, and hands out its parts."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# tixallo_qa/openapi is the repo's openapi/ (a symlink in a checkout, a copy in the wheel).
SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "tixallo-v1.yaml"
# The spec's own URI inside the registry: every "#/components/..." ref resolves against it.
SPEC_URI = "urn:tixallo:openapi:v1"


def spec_path() -> Path:
    """Where the spec lives (``TIXALLO_SPEC`` overrides, for testing a changed contract)."""
    return Path(os.environ.get("TIXALLO_SPEC", SPEC_PATH))


@functools.cache
def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an OpenAPI document")
    return data


def load_spec() -> dict[str, Any]:
    """The parsed spec (a deep copy: callers may change it)."""
    return copy.deepcopy(_load(str(spec_path())))


def _spec() -> dict[str, Any]:
    return _load(str(spec_path()))


@functools.cache
def registry() -> Registry:
    """A ``referencing`` registry holding the whole spec, so ``$ref``s resolve against it."""
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def schema_ref(pointer: str) -> dict[str, Any]:
    """A schema that points at ``pointer`` (e.g. ``#/components/schemas/Ticket``) in the spec."""
    return {"$ref": f"{SPEC_URI}{pointer}"}


@functools.cache
def validator(pointer: str) -> Draft202012Validator:
    """A JSON Schema validator for the schema at ``pointer`` (formats checked)."""
    return Draft202012Validator(
        schema_ref(pointer), registry=registry(), format_checker=FormatChecker()
    )


@functools.cache
def _cached_validator(pointer: str) -> Draft202012Validator:
    return validator(pointer)


@functools.cache
def _fast_validator(pointer: str) -> Any:
    """A Rust validator of the same schema and registry, or None without ``jsonschema_rs``.

    Its formats are judged by jsonschema's own checkers: its built-in ``date-time`` takes
    ``2-26-12-01T...``, year 0000 and leap seconds, which jsonschema rejects, so with them a
    body jsonschema faults would pass here.
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - shipped with schemathesis
        return None
    checker = FormatChecker()
    formats: dict[str, Callable[..., bool]] = {
        str(name): functools.partial(checker.conforms, format=name) for name in checker.checkers
    }
    # A URI reference may not hold the braces of a path template: percent-encode the pointer.
    ref = {"$ref": SPEC_URI + "#" + quote(pointer.removeprefix("#"), safe="/~")}
    try:
        return jsonschema_rs.validator_for(
            ref,
            registry=jsonschema_rs.Registry([(SPEC_URI, _spec())]),
            validate_formats=True,
            formats=formats,
        )
    except Exception:  # a schema it cannot take: jsonschema alone judges it
        return None


def errors(pointer: str, instance: Any) -> Iterator[ValidationError]:
    """Every way ``instance`` breaks the schema at ``pointer``, as ``validator(pointer)`` finds them.

    What conforms is decided in Rust first (~100x faster: every exchange of a contract run is
    judged); only what it rejects goes through jsonschema, which then has the last word, so
    where the two differ nothing is reported that jsonschema would not report.
    """
    fast = _fast_validator(pointer)
    if fast is not None:
        with contextlib.suppress(Exception):  # jsonschema below has the last word anyway
            if fast.is_valid(instance):
                return iter(())
    return _cached_validator(pointer).iter_errors(instance)


def component(name: str) -> dict[str, Any]:
    """``components/schemas/<name>`` as written in the spec."""
    return copy.deepcopy(_spec()["components"]["schemas"][name])


def webhook_event_types() -> list[str]:
    """The event types of the spec's top-level ``webhooks`` section."""
    return list(_spec().get("webhooks", {}))


def webhook_pointer(event_type: str) -> str:
    """JSON pointer of the payload schema of one webhook event type."""
    body = _spec()["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"].get("$ref")
    if ref:
        return str(ref)
    escaped = event_type.replace("~", "~0").replace("/", "~1")
    return f"#/webhooks/{escaped}/post/requestBody/content/application~1json/schema"


def resolve(pointer: str) -> dict[str, Any]:
    """The part of the spec at a local JSON pointer (``#/components/schemas/Ticket``), copied."""
    node: Any = _spec()
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return copy.deepcopy(node)


def webhook_schema(event_type: str) -> dict[str, Any]:
    """The payload schema of one webhook event type (``KeyError`` for an unknown type)."""
    return resolve(webhook_pointer(event_type))


def fired_by(operation_id: str) -> str | None:
    """The webhook event an operation fires on success (its ``x-tixallo-webhook``), or None."""
    for item in _spec()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation.get("x-tixallo-webhook")
    raise KeyError(f"no operation {operation_id!r} in the spec")


def webhook_validator(event_type: str) -> Draft202012Validator:
    """A validator for the payload of ``event_type`` (``KeyError`` for an unknown type)."""
    return validator(webhook_pointer(event_type))


def limit_parameter() -> dict[str, Any]:
    """The schema of listTickets' ``limit`` query parameter (bounds and default)."""
    return copy.deepcopy(_spec()["components"]["parameters"]["Limit"]["schema"])
