"""Request validation of the reference deployment is driven by the spec."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tixallo_qa.core import spec
from tixallo_qa.reference.faults import FaultSet
from tixallo_qa.reference.validation import (
    Invalid,
    build_validators,
    error_strings,
    is_email,
    rules_for,
)

pytestmark = pytest.mark.unit


def test_rules_come_from_the_spec() -> None:
    schema = spec.component("CreateTicketRequest")
    rules = {r.name: r for r in rules_for("CreateTicketRequest")}
    assert set(rules) == set(schema["properties"])
    assert {n for n, r in rules.items() if r.required} == set(schema["required"])
    assert rules["subject"].max_length == schema["properties"]["subject"]["maxLength"]
    assert rules["priority"].enum == tuple(spec.component("Priority")["enum"])
    assert rules["priority"].default == spec.component("Priority")["default"]
    assert rules["customer_email"].email


def test_error_strings_come_from_the_spec() -> None:
    strings = error_strings()
    assert (
        strings.unauthorized == spec.component("UnauthorizedError")["properties"]["error"]["const"]
    )
    assert strings.rate_limited == spec.component("RateLimitError")["properties"]["error"]["const"]
    assert strings.invalid_json == "Invalid JSON"


def test_boundaries_and_flatten_shape() -> None:
    create = build_validators().create_ticket
    top = spec.component("CreateTicketRequest")["properties"]["subject"]["maxLength"]
    base = {"subject": "s", "description": "d", "customer_email": "a@b.co"}
    assert create({**base, "subject": "x" * top})["subject"] == "x" * top
    with pytest.raises(Invalid) as caught:
        create({**base, "subject": "x" * (top + 1), "customer_email": 5})
    assert caught.value.field_errors == {
        "subject": [f"String must contain at most {top} character(s)"],
        "customer_email": ["Expected string, received number"],
    }
    assert create({**base, "extra": 1}) == {**base, "priority": "medium"}


def test_limit_parameter() -> None:
    rule = build_validators().limit
    bounds = spec.limit_parameter()
    assert rule.parse(None) == bounds["default"]
    assert rule.parse(str(bounds["minimum"])) == bounds["minimum"]
    assert rule.parse(str(bounds["maximum"])) == bounds["maximum"]
    for bad in (
        str(bounds["minimum"] - 1),
        str(bounds["maximum"] + 1),
        "abc",
        "1.0",
        "",
        "٣",
        "5\n",
    ):
        with pytest.raises(Invalid) as caught:
            rule.parse(bad)
        assert list(caught.value.field_errors) == ["limit"]


def test_faults_change_the_rules() -> None:
    faulty = build_validators(
        FaultSet(["validation-subject-301-accepted", "validation-limit-default"])
    )
    top = spec.component("CreateTicketRequest")["properties"]["subject"]["maxLength"]
    assert faulty.create_ticket(
        {"subject": "x" * (top + 1), "description": "d", "customer_email": "a@b.co"}
    )
    assert faulty.limit.parse(None) == 10


@settings(max_examples=300, deadline=None)
@given(st.emails())
def test_hypothesis_emails_are_accepted(address: str) -> None:
    assert is_email(address), address


def test_schemathesis_emails_are_accepted() -> None:
    from schemathesis.specs.openapi.formats import email_values, email_values_within

    within = email_values_within(5, 255)
    assert within is not None

    @settings(max_examples=200, deadline=None)
    @given(st.one_of(email_values(), within))
    def check(address: str) -> None:
        assert is_email(address), address

    check()


@pytest.mark.parametrize(
    "address",
    ["plain", "a@", "@b.co", "a b@c.co", "a@b..co", "a..b@c.co", ".a@b.co", "a.@b.co", "a@-b.co", "a@b-.co",
     "a@b", "a@b.123", "é@b.co", "a@b.co ", " a@b.co", "a@b.co\n", '"q"@b.co', "a@[127.0.0.1]", "a@@b.co",
     "x" * 65 + "@b.co"],
)  # fmt: skip
def test_non_emails_are_rejected(address: str) -> None:
    assert not is_email(address)
