"""Small builders the named checks share: unique request bodies and the create calls behind them."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import pytest
import requests

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._transport import MAIN, ApiClient
from tixallo_qa.core.settings import Settings

RUN_ID = secrets.token_hex(4)
_counter = itertools.count(1)


def unique_tag() -> str:
    """This run's id and a counter: no spaces, so it fits anywhere (an email's local part too)."""
    return f"{RUN_ID}-{next(_counter)}"


def unique(label: str) -> str:
    """A string no other request of any run used (so events and tickets are easy to tell apart)."""
    return f"tixallo-qa {label} {unique_tag()}"


def unique_email(label: str = "customer") -> str:
    return f"qa+{label}-{unique_tag()}@example.com"


def ticket_body(label: str = "ticket", **overrides: Any) -> dict[str, Any]:
    """A valid createTicket body with a unique subject and customer."""
    body: dict[str, Any] = {
        "subject": unique(label),
        "description": f"Created by the tixallo-qa contract suite ({label}).",
        "customer_email": unique_email(),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create_ticket(
    api: ApiClient, expect: Expect, *, identity: str = MAIN, label: str = "ticket", **overrides: Any
) -> tuple[requests.Response, dict[str, Any]]:
    """Create a ticket; fails the check unless it is a 201 with a ``data`` object."""
    body = ticket_body(label, **overrides)
    response = api.post("/tickets", json=body, identity=identity)
    expect.status(response, 201, f"creating a ticket ({label}) must succeed")
    data = expect.json(response, "createTicket")
    expect.that(
        isinstance(data, dict) and isinstance(data.get("data"), dict),
        'createTicket answers {"data": {...}}',
        expected="an object under data",
        actual=data,
        responses=[response],
    )
    return response, data["data"]


def get_ticket(
    api: ApiClient, expect: Expect, ticket_id: str, *, identity: str = MAIN
) -> tuple[requests.Response, dict[str, Any]]:
    """Fetch a ticket; fails the check unless it is a 200 with a ``data`` object."""
    response = api.get(f"/tickets/{ticket_id}", identity=identity)
    expect.status(response, 200, "reading a ticket the workspace owns must succeed")
    data = expect.json(response, "getTicket")
    return response, data["data"]


def rejected(expect: Expect, response: requests.Response, field: str, what: str) -> None:
    """A 400 ValidationError whose fieldErrors names ``field``."""
    expect.status(response, 400, what)
    body = expect.json(response, what)
    errors = _spec.validate("#/components/schemas/ValidationError", body)
    expect.that(
        not errors,
        f"{what}: the body is a ValidationError",
        expected="ValidationError",
        actual=errors,
        responses=[response],
    )
    names = list((body.get("details") or {}).get("fieldErrors") or {})
    expect.that(
        field in names,
        f"{what}: fieldErrors names {field}",
        expected=field,
        actual=names,
        responses=[response],
    )


# The methods each documented path is asked for (part B 10: one it does not support is a 405).
# HEAD and OPTIONS are left out: many frameworks answer them on every path.
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def path_methods() -> dict[str, set[str]]:
    """Every documented path (a template such as ``/tickets/{ticket_id}``) and its methods."""
    found: dict[str, set[str]] = {}
    for op in _spec.operations():
        found.setdefault(str(op["path"]), set()).add(str(op["method"]))
    return found


def fill(path: str, ticket_id: str) -> str:
    """A path template with ``ticket_id`` in place of its ticket parameter."""
    return path.replace("{ticket_id}", ticket_id)


def request_body(op: dict[str, Any], label: str) -> dict[str, Any] | None:
    """A valid body for the operation (the spec's example, made unique to this run), or None."""
    if not op["request"]:
        return None
    schema = _spec.request_properties(op["request"])
    body = dict(op["example"] or {})
    for name, value in list(body.items()):
        prop = schema.get(name, {})
        if prop.get("format") == "email":
            body[name] = unique_email()
        elif isinstance(value, str) and "enum" not in prop:
            body[name] = unique(f"{label} {name}")[: int(prop.get("maxLength", 300))]
    return body


def require(settings: Settings, *attrs: str) -> None:
    """Skip the check, naming the settings that would enable it, unless they are all set."""
    missing = settings.missing(*attrs)
    if missing:
        pytest.skip(f"not configured: set {', '.join(missing)} to enable this check")
