"""Listing: newest first, the limit's default and exact count, merged tickets left out (family: listing)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import RUN_ID, create_ticket, require
from tixallo_qa.contracts._time import instant
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.settings import Settings


def _list(
    api: ApiClient, expect: Expect, params: dict[str, Any] | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    response = api.get("/tickets", params=params)
    expect.status(response, 200, f"listing tickets with {params or 'no parameters'}")
    return response, expect.json(response, "listTickets").get("data") or []


@pytest.fixture(scope="module")
def newest_two(api: ApiClient, expect: Expect) -> list[dict[str, Any]]:
    """Three tickets created one after the other (so any list has at least three); the last two."""
    return [create_ticket(api, expect, label=f"listing {i}")[1] for i in range(3)][1:]


@check("list-newest-first", "listing", "the list is ordered newest first")
def test_newest_first(api: ApiClient, expect: Expect, newest_two: list[dict[str, Any]]) -> None:
    response, data = _list(api, expect, {"limit": _spec.limit()["maximum"]})
    ids = [t.get("id") for t in data]
    older, newer = newest_two[0]["id"], newest_two[1]["id"]
    # Relative order only: other clients of the workspace may have created tickets meanwhile.
    in_order = older in ids and newer in ids and ids.index(newer) < ids.index(older)
    where = ", ".join(
        f"{i} at position {ids.index(i) + 1}" if i in ids else f"{i} not listed"
        for i in (newer, older)
    )
    expect.that(
        in_order,
        "of two tickets created one after the other, the later one is listed first",
        expected=f"{newer} before {older}",
        actual=f"{where} of {len(ids)}",
        responses=[response],
        focus=newer,
    )
    _small_pages_hold_the_newest(api, expect, response, data)
    response, data = _list(api, expect)
    stamps = [instant(t.get("created_at")) for t in data]
    numbers = [int(t.get("ticket_number") or 0) for t in data]
    rising = next(
        (
            n
            for n, (a, b) in enumerate(itertools.pairwise(stamps))
            if a is None or b is None or a < b
        ),
        None,
    )
    if rising is not None:
        first, second = data[rising], data[rising + 1]
        expect.that(
            False,
            "created_at never increases down the list",
            expected="newest first",
            actual=f"position {rising + 2} ({second.get('id')}, {second.get('created_at')}) is "
            f"newer than position {rising + 1} ({first.get('id')}, {first.get('created_at')})",
            responses=[response],
            focus=str(second.get("id")),
        )
    up = next((n for n, (a, b) in enumerate(itertools.pairwise(numbers)) if a < b), None)
    if up is not None:
        expect.that(
            False,
            "ticket_number decreases down the list",
            expected="descending",
            actual=f"position {up + 2} holds #{numbers[up + 1]} ({data[up + 1].get('id')}) "
            f"after #{numbers[up]} at position {up + 1}",
            responses=[response],
            focus=str(data[up + 1].get("id")),
        )


def _small_pages_hold_the_newest(
    api: ApiClient, expect: Expect, full_response: Any, full: list[dict[str, Any]]
) -> None:
    """A page of a small limit holds the newest tickets: none of the full page is newer.

    The full page was read first, so a ticket created between the two reads can only be newer
    than all of it (and rightly in the small page); ties in ``created_at`` are left open.
    """
    limits = _spec.limit()
    smallest = limits["minimum"]
    # And one limit between those and the default, drawn afresh every run (the run id is
    # random), so a fault that breaks only some page sizes cannot hide behind fixed numbers.
    between = random.Random(RUN_ID).randint(smallest + 2, max(smallest + 2, limits["default"] - 1))
    for limit in (smallest, smallest + 1, between):
        response, page = _list(api, expect, {"limit": limit})
        stamps = [instant(t.get("created_at")) for t in page]
        if not page or None in stamps:
            continue  # an empty page or a missing created_at is the other checks' to name
        oldest = min(s for s in stamps if s is not None)
        last = page[stamps.index(oldest)].get("id")
        ids = {t.get("id") for t in page}
        newer = [
            t for t in full
            if t.get("id") not in ids and (instant(t.get("created_at")) or oldest) > oldest
        ]  # fmt: skip
        expect.that(
            not newer,
            f"a page of limit={limit} holds the newest tickets of the list",
            expected=f"no ticket of the full list newer than the page's oldest ({last})",
            actual=f"{len(newer)} newer left out, e.g. {newer[0].get('id')} created "
            f"{newer[0].get('created_at')}"
            if newer
            else "none",
            responses=[response, full_response],
            focus=str(newer[0].get("id")) if newer else None,
        )


@check(
    "list-limit-default-and-count",
    "listing",
    "no limit returns the spec's default count; a given limit returns exactly that many",
)
def test_limit_default_and_count(
    api: ApiClient, expect: Expect, newest_two: list[dict[str, Any]]
) -> None:
    spec_limit = _spec.limit()
    everything_response, everything = _list(api, expect, {"limit": spec_limit["maximum"]})
    default_response, default = _list(api, expect)
    expected = min(spec_limit["default"], len(everything))
    expect.equal(
        len(default),
        expected,
        f"without limit the list holds min(default {spec_limit['default']}, all tickets)",
        responses=[default_response, everything_response],
    )
    expect.that(
        len(everything) <= spec_limit["maximum"],
        "the list never exceeds the maximum limit",
        expected=f"<= {spec_limit['maximum']}",
        actual=len(everything),
        responses=[everything_response],
    )
    for limit in (spec_limit["minimum"], 2):
        response, data = _list(api, expect, {"limit": limit})
        expect.equal(
            len(data),
            limit,
            f"limit={limit} returns exactly {limit} tickets (the workspace has more)",
            responses=[response],
        )


@check("list-excludes-merged", "listing", "a merged ticket is left out of the list")
def test_excludes_merged(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "merged_ticket_id")
    response, data = _list(api, expect, {"limit": _spec.limit()["maximum"]})
    ids = [t.get("id") for t in data]
    merged = str(target.merged_ticket_id)
    expect.that(
        merged not in ids,
        "merged tickets are excluded from the list",
        expected=f"merged ticket {merged} absent",
        actual=f"merged ticket {merged} listed"
        + (f" at position {ids.index(merged) + 1} of {len(ids)}" if merged in ids else ""),
        responses=[response],
        focus=merged,
    )


# The parameters the API reference lists as planned, and one nobody documents: each ignored.
IGNORED = {"status": "closed", "cursor": "tixallo-qa", "page": "2", "tixallo_qa_unknown": "1"}


@check(
    "list-ignores-unknown-parameters",
    "listing",
    "the planned status, cursor and page parameters and an undocumented one are ignored: no "
    "error, no filtering, the same list (assumption, part B 7)",
)
def test_ignores_unknown_parameters(
    api: ApiClient, expect: Expect, newest_two: list[dict[str, Any]]
) -> None:
    before_response, before = _list(api, expect)
    response = api.get("/tickets", params=IGNORED)
    what = "listing tickets with " + "&".join(f"{k}={v}" for k, v in IGNORED.items())
    expect.status(response, 200, f"{what}: parameters the API does not implement are ignored")
    got = expect.json(response, what).get("data") or []
    after_response, after = _list(api, expect)
    ids = [[t.get("id") for t in page] for page in (before, got, after)]
    if ids[0] != ids[2]:
        return  # the workspace changed meanwhile (another client): nothing to compare with
    expect.equal(
        ids[1],
        ids[0],
        f"{what}: the same tickets as without them (no filtering)",
        responses=[response, before_response, after_response],
    )
