"""Lookalike inputs on every parameter and body field: what only a lenient parser reads is refused (families: validation, errors).

The values come from ``contracts._lookalikes``, derived from the spec's parameters and request
schemas; where the docs leave a reading open (part B 7: whitespace, a leading +, leading zeros,
which repeated value counts; upper-case or unhyphenated ids) nothing is asserted.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tixallo_qa.contracts import _lookalikes as lookalikes
from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import RUN_ID, create_ticket, rejected, unique, unique_email
from tixallo_qa.contracts._transport import ApiClient

ERROR = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def rng() -> random.Random:
    # Drawn afresh every run (the run id is random), so no fault can be tuned to one number.
    return random.Random(RUN_ID)


@pytest.fixture(scope="module")
def ticket(api: ApiClient, expect: Expect) -> dict[str, Any]:
    """One ticket every id-bearing path of this module is aimed at."""
    return create_ticket(api, expect, label="lookalikes")[1]


def _path(op: dict[str, Any], ticket: dict[str, Any]) -> str:
    return str(op["path"]).replace("{ticket_id}", str(ticket["id"]))


def _valid(op: dict[str, Any]) -> dict[str, Any]:
    """The spec's example body for ``op``, its free strings made unique to this run."""
    schema = _spec.request_properties(op["request"])
    body = dict(op["example"] or {})
    for name, value in list(body.items()):
        prop = schema.get(name, {})
        if prop.get("format") == "email":
            body[name] = unique_email("lookalike")
        elif isinstance(value, str) and "enum" not in prop:
            body[name] = unique(f"lookalike {name}")[: int(prop.get("maxLength", 300))]
    return body


@check(
    "lookalike-query-rejected",
    "validation",
    "every integer query parameter written as only a lenient parser reads it (trailing junk, a "
    "list, decimals, exponents, hex, digit grouping, other scripts' digits, empty) is a 400 "
    "naming it; given twice, one of its values counts. Whitespace, a leading + and leading zeros "
    "are left open (part B 7)",
)
def test_query(api: ApiClient, expect: Expect, rng: random.Random, ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        for param in op["parameters"]:
            schema = param.get("schema", {})
            if param.get("in") != "query" or schema.get("type") != "integer":
                continue
            name, path = param["name"], _path(op, ticket)
            for case in lookalikes.integer(schema, rng):
                if case.expect != lookalikes.REJECT:
                    continue
                response = api.request(op["method"], path, params={name: case.value})
                rejected(
                    expect,
                    response,
                    name,
                    f"{op['operation_id']} with {name}={case.value!r} ({case.kind}; {case.why})",
                )
            a, b = lookalikes.repeated(schema, rng)
            response = api.request(op["method"], path, params={name: [a, b]})
            what = f"{op['operation_id']} with {name}={a}&{name}={b}"
            expect.status(response, (200, 400), f"{what}: refused, or one of the values counts")
            data = expect.json(response, what).get("data") if response.status_code == 200 else None
            if isinstance(data, list) and name == _spec.limit_parameter_name():
                expect.that(
                    len(data) <= b,
                    f"{what}: one of the two values counts (which one is open, part B 7)",
                    expected=f"at most {b} tickets",
                    actual=f"{len(data)} tickets",
                    responses=[response],
                )


@check(
    "lookalike-body-rejected",
    "validation",
    "every body field given another JSON type (a number, a boolean, an array, null where "
    "required) or, for an enum or an email, a near miss (another case, padding, a prefix, a "
    "display name, mailto:, trailing junk) is a 400 naming that field",
)
def test_body(api: ApiClient, expect: Expect, ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        if not op["request"]:
            continue
        required = set(_spec.required(op["request"]))
        base = _valid(op)
        cases = {
            name: lookalikes.field(name, schema, required=name in required, valid=base[name])
            for name, schema in _spec.request_properties(op["request"]).items()
            if name in base
        }
        path = _path(op, ticket)
        for together in lookalikes.rounds(cases):
            # One request carries a lookalike in every field; a field it does not name (a
            # deployment may report one error at a time) is tried again on its own.
            response = api.request(
                op["method"], path, json={**base, **{n: c.value for n, c in together.items()}}
            )
            named: set[str] = set()
            if response.status_code == 400:
                details = (expect.json(response, "a validation error").get("details")) or {}
                named = (
                    set(details.get("fieldErrors") or {}) if isinstance(details, dict) else set()
                )
            for name, case in together.items():
                if name in named:
                    continue
                alone = api.request(op["method"], path, json={**base, name: case.value})
                rejected(
                    expect,
                    alone,
                    name,
                    f"{op['operation_id']} with {name}={case.value!r} ({case.kind}; {case.why})",
                )


@check(
    "lookalike-json-rejected",
    "errors",
    "a request body only a lenient JSON reader takes (a second value after the first, a trailing "
    "comma, single quotes, a comment) is a 400 with an error string on every operation with a body",
)
def test_json_text(api: ApiClient, expect: Expect, ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        if not op["request"]:
            continue
        for case in lookalikes.json_text(_valid(op)):
            if case.expect != lookalikes.REJECT:
                continue
            what = f"{op['operation_id']} with {case.kind} ({case.why})"
            response = api.request(op["method"], _path(op, ticket), data=case.value.encode())
            expect.status(response, 400, what)
            errors = _spec.validate(ERROR, expect.json(response, what))
            expect.that(
                not errors,
                f"{what}: the body has an error string",
                expected='{"error": "..."}',
                actual=errors,
                responses=[response],
            )


@check(
    "lookalike-ticket-id-not-found",
    "errors",
    "a real ticket's id with junk after it, one digit more or one short is a 404 or 400 on every "
    "ticket path, never that ticket (part B 8); upper case, no hyphens and braces are left open",
)
def test_ticket_id(api: ApiClient, expect: Expect, ticket: dict[str, Any]) -> None:
    for op in _spec.operations():
        if "{ticket_id}" not in op["path"]:
            continue
        body = _valid(op) if op["request"] else None
        for case in lookalikes.ticket_id(str(ticket["id"])):
            if case.expect != lookalikes.REJECT:
                continue
            path = str(op["path"]).replace("{ticket_id}", case.value)
            response = api.request(op["method"], path, json=body)
            expect.status(
                response,
                (404, 400),
                f"{op['operation_id']} for the id {case.value!r} ({case.kind}; {case.why})",
            )
