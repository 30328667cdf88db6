"""What the load run accepts as a documented 2xx answer, whatever the load (load/scenario/actions)."""

from __future__ import annotations

import time

import pytest

from tixallo_qa.load.scenario import actions

pytestmark = pytest.mark.unit

TICKET = "5c0f3a52-1d6e-4f5e-9d55-6c1a2b9e0d11"
OTHER = "0b7d8e1a-2c3f-4a5b-8c9d-0e1f2a3b4c5d"


def test_a_create_must_name_what_it_created() -> None:
    assert actions._names_created({"id": TICKET, "subject": "s"}) is None
    for data in ({"subject": "s"}, {"id": ""}, {"id": None}, [], None, "x"):
        assert actions._names_created(data) == "the 201 answer names no id of what it created"


def test_a_list_must_be_a_page_full_once_the_workspace_holds_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = actions.list_limit()
    page, short = [{"id": TICKET}] * limit, [{"id": TICKET}] * (limit - 1)
    now = time.time()
    is_page = actions._is_page(now)
    monkeypatch.setattr(actions.STATE, "page_full_at", None)
    assert is_page([]) is None and is_page(short) is None
    assert is_page({"id": TICKET}) == "the list answer's data is not a list"
    assert is_page([*page, {"id": OTHER}]) == (
        f"the list holds {limit + 1} tickets, more than its limit {limit}"
    )
    # A page's worth created just now: a replica may not show them yet.
    monkeypatch.setattr(actions.STATE, "page_full_at", now)
    assert is_page(short) is None
    monkeypatch.setattr(actions.STATE, "page_full_at", now - actions.FULL_AFTER - 1)
    assert is_page(page) is None
    assert f"{limit - 1} tickets, fewer than its limit {limit}" in str(is_page(short))


def test_a_slow_list_is_judged_by_when_it_was_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for before the workspace held a page, answered long after: short is no fault."""
    limit = actions.list_limit()
    asked = time.time() - 60  # a list sent a minute ago, answered only now
    monkeypatch.setattr(actions.STATE, "page_full_at", asked - 1)
    assert actions._is_page(asked)([{"id": TICKET}] * (limit - 1)) is None


def test_a_read_by_id_must_answer_that_ticket() -> None:
    check = actions._is_ticket(TICKET)
    assert check({"id": TICKET, "subject": "s"}) is None
    assert check({"id": OTHER}) == f"GET /tickets/{TICKET} answered another ticket ({OTHER})"
    assert check({}) == f"GET /tickets/{TICKET} answered no ticket"
    assert check([]) == f"GET /tickets/{TICKET} answered no ticket"
