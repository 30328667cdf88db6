"""Workspace isolation: a key sees only its own workspace's tickets (family: isolation)."""

from __future__ import annotations

from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, get_ticket, require
from tixallo_qa.contracts._transport import MAIN, OTHER, ApiClient
from tixallo_qa.core.settings import Settings


@pytest.fixture(scope="module")
def tickets(api: ApiClient, expect: Expect, target: Settings) -> dict[str, dict[str, Any]]:
    """One ticket in each workspace."""
    require(target, "other_api_key")
    return {
        MAIN: create_ticket(api, expect, identity=MAIN, label="isolation main")[1],
        OTHER: create_ticket(api, expect, identity=OTHER, label="isolation other")[1],
    }


def _not_found(expect: Expect, response: Any, what: str) -> None:
    expect.status(response, 404, what)
    body = {"error": _spec.error_text("NotFoundError")}
    actual = expect.json(response, what)
    expect.equal(actual, body, f"{what}: the 404 body is the documented one", responses=[response])


@check(
    "other-workspace-ticket-get-404",
    "isolation",
    "reading another workspace's ticket by id is a 404, both ways",
)
def test_get_other_workspace_ticket(
    api: ApiClient, expect: Expect, tickets: dict[str, dict[str, Any]]
) -> None:
    _not_found(
        expect,
        api.get(f"/tickets/{tickets[OTHER]['id']}", identity=MAIN),
        "the main key reads the other workspace's ticket",
    )
    _not_found(
        expect,
        api.get(f"/tickets/{tickets[MAIN]['id']}", identity=OTHER),
        "the other key reads the main workspace's ticket",
    )


@check(
    "other-workspace-message-404",
    "isolation",
    "posting a message to another workspace's ticket is a 404 and adds nothing, both ways",
)
def test_message_other_workspace_ticket(
    api: ApiClient, expect: Expect, tickets: dict[str, dict[str, Any]]
) -> None:
    body = {"body": "tixallo-qa: this message must not be stored (other workspace)"}
    _not_found(
        expect,
        api.post(f"/tickets/{tickets[OTHER]['id']}/messages", json=body, identity=MAIN),
        "the main key posts to the other workspace's ticket",
    )
    _not_found(
        expect,
        api.post(f"/tickets/{tickets[MAIN]['id']}/messages", json=body, identity=OTHER),
        "the other key posts to the main workspace's ticket",
    )
    response, detail = get_ticket(api, expect, tickets[MAIN]["id"], identity=MAIN)
    bodies = [m.get("body") for m in detail.get("messages", [])]
    expect.that(
        body["body"] not in bodies,
        "a refused cross-workspace message must not be stored",
        expected="not among the messages",
        actual=bodies,
        responses=[response],
    )


@check(
    "other-workspace-list-excludes",
    "isolation",
    "each workspace's list leaves out the other workspace's tickets",
)
def test_list_excludes_other_workspace(
    api: ApiClient, expect: Expect, tickets: dict[str, dict[str, Any]]
) -> None:
    maximum = _spec.limit()["maximum"]
    for reader, owner in ((MAIN, OTHER), (OTHER, MAIN)):
        response = api.get("/tickets", params={"limit": maximum}, identity=reader)
        expect.status(response, 200, f"listing as {reader}")
        ids = [t.get("id") for t in expect.json(response, "listTickets").get("data", [])]
        theirs = str(tickets[owner]["id"])
        expect.that(
            theirs not in ids,
            f"the {reader} workspace's list must not hold the {owner} workspace's ticket",
            expected=f"{theirs} absent",
            actual=f"{theirs} listed"
            + (f" at position {ids.index(theirs) + 1} of {len(ids)}" if theirs in ids else ""),
            responses=[response],
            focus=theirs,
        )


@check(
    "other-workspace-fixtures-404",
    "isolation",
    "the main workspace's merged ticket (and its noted ticket, when configured) is 404 Not found "
    "to the other workspace's key: reading it, and posting to the merged one, which must not "
    "answer 409 (that would tell the other workspace the ticket exists)",
)
def test_other_workspace_fixtures(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "other_api_key", "merged_ticket_id")
    _not_found(
        expect,
        api.get(f"/tickets/{target.merged_ticket_id}", identity=OTHER),
        "the other key reads the main workspace's merged ticket",
    )
    _not_found(
        expect,
        api.post(
            f"/tickets/{target.merged_ticket_id}/messages",
            json={"body": "tixallo-qa: this message must not be stored (other workspace, merged)"},
            identity=OTHER,
        ),
        "the other key posts to the main workspace's merged ticket",
    )
    if target.noted_ticket_id:
        _not_found(
            expect,
            api.get(f"/tickets/{target.noted_ticket_id}", identity=OTHER),
            "the other key reads the main workspace's noted ticket",
        )
