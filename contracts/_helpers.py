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


def unique(label: str) -> str:
    """A string no other request of any run used (so events and tickets are easy to tell apart)."""
    return f"tixallo-qa {label} {RUN_ID}-{next(_counter)}"


def unique_email(label: str = "customer") -> str:
    return f"qa+{label}-{RUN_ID}-{next(_counter)}@example.com"


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


def require(settings: Settings, *attrs: str) -> None:
    """Skip the check, naming the settings that would enable it, unless they are all set."""
    missing = settings.missing(*attrs)
    if missing:
        pytest.skip(f"not configured: set {', '.join(missing)} to enable this check")
