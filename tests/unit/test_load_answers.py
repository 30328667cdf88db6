"""What the load run accepts as a documented 2xx answer, whatever the load (load/scenario/actions)."""

from __future__ import annotations

import pytest

from tixallo_qa.load.scenario import actions

pytestmark = pytest.mark.unit

TICKET = "5c0f3a52-1d6e-4f5e-9d55-6c1a2b9e0d11"
OTHER = "0b7d8e1a-2c3f-4a5b-8c9d-0e1f2a3b4c5d"


def test_a_create_must_name_what_it_created() -> None:
    assert actions._names_created({"id": TICKET, "subject": "s"}) is None
    for data in ({"subject": "s"}, {"id": ""}, {"id": None}, [], None, "x"):
        assert actions._names_created(data) == "the 201 answer names no id of what it created"


def test_a_list_must_be_a_list() -> None:
    assert actions._is_list([]) is None
    assert actions._is_list([{"id": TICKET}]) is None
    assert actions._is_list({"id": TICKET}) == "the list answer's data is not a list"


def test_a_read_by_id_must_answer_that_ticket() -> None:
    check = actions._is_ticket(TICKET)
    assert check({"id": TICKET, "subject": "s"}) is None
    assert check({"id": OTHER}) == f"GET /tickets/{TICKET} answered another ticket ({OTHER})"
    assert check({}) == f"GET /tickets/{TICKET} answered no ticket"
    assert check([]) == f"GET /tickets/{TICKET} answered no ticket"
