"""The suite's readings of the spec, timestamps as instants, and check naming."""

from __future__ import annotations

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import FAMILIES, check
from tixallo_qa.contracts._profiles import PROFILES, budget
from tixallo_qa.contracts._time import instant, is_rfc3339, same_instant

pytestmark = pytest.mark.unit


def test_expected_values_come_from_the_spec() -> None:
    assert _spec.error_text("UnauthorizedError") == "Unauthorized"
    assert _spec.error_text("MergedError") == "Ticket has been merged"
    assert _spec.limit() == {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}
    assert _spec.priority()["default"] in _spec.priority()["enum"]
    assert _spec.request_properties("CreateTicketRequest")["subject"]["maxLength"] == 300


def test_validates_against_the_spec() -> None:
    assert _spec.validate("#/components/schemas/NotFoundError", {"error": "Not found"}) == []
    assert _spec.validate("#/components/schemas/NotFoundError", {"message": "Not Found"})
    assert _spec.validate_event("ticket.message.created", {"event_type": "ticket.message.created"})


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-05-04T10:55:02Z", True),
        ("2026-05-04T10:55:02.123456+00:00", True),
        ("2026-05-04T10:55:02", False),
        ("yesterday", False),
        (None, False),
    ],
)
def test_rfc3339(value: object, ok: bool) -> None:
    assert is_rfc3339(value) is ok
    assert (instant(value) is not None) is ok


def test_compares_instants_not_strings() -> None:
    assert same_instant("2026-05-04T10:55:02Z", "2026-05-04T10:55:02.000+00:00")
    assert not same_instant("2026-05-04T10:55:02Z", "2026-05-04T10:55:03Z")
    assert not same_instant("2026-05-04T10:55:02", "2026-05-04T10:55:02")


def test_checks_need_a_known_family() -> None:
    with pytest.raises(ValueError, match="unknown family"):
        check("x", "nonsense", "")
    assert "webhooks" in FAMILIES and "schema" in FAMILIES


def test_profiles_budget_smoke_smallest() -> None:
    smoke, standard, thorough = (budget(p).max_examples for p in ("smoke", "standard", "thorough"))
    assert smoke < standard < thorough
    assert not PROFILES["smoke"].coverage
    with pytest.raises(ValueError, match="TIXALLO_PROFILE"):
        budget("huge")


def test_paths_and_their_methods_come_from_the_spec() -> None:
    from tixallo_qa.contracts._helpers import fill, path_methods

    methods = path_methods()
    assert methods["/tickets"] == {"GET", "POST"}
    assert methods["/tickets/{ticket_id}/messages"] == {"POST"}
    assert fill("/tickets/{ticket_id}/messages", "abc") == "/tickets/abc/messages"


def test_a_valid_body_per_operation_from_the_spec_example() -> None:
    from tixallo_qa.contracts._helpers import request_body

    by_id = {op["operation_id"]: op for op in _spec.operations()}
    assert request_body(by_id["getTicket"], "x") is None
    created = request_body(by_id["createTicket"], "x")
    assert created is not None
    assert _spec.validate("#/components/schemas/CreateTicketRequest", created) == []
    assert created != request_body(by_id["createTicket"], "x")  # unique to each request
    message = request_body(by_id["addMessage"], "x")
    assert message is not None
    assert _spec.validate("#/components/schemas/AddMessageRequest", message) == []
