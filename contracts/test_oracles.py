"""The always-on oracles: a tour that shows them every path and channel, and one report per oracle (family: oracles).

The oracles themselves watch every request of the run (``contracts._oracles``); a violation also
fails the check during which it arose. The reports below run last, after the webhook sweep has
handed them the sink's deliveries.
"""

from __future__ import annotations

import contextlib

import pytest

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import after_sweeps, check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, get_ticket, require, unique
from tixallo_qa.contracts._oracles import (
    AUTHOR,
    BY_NAME,
    ISOLATION,
    LISTS,
    NOTE_MARKER,
    NUMBERS,
    SAME_FIELDS,
    SCHEMA,
    TIMESTAMPS,
    Oracles,
    render_all,
)
from tixallo_qa.contracts._state import SuiteState
from tixallo_qa.contracts._transport import MAIN, OTHER, ApiClient, PacedSession
from tixallo_qa.core.settings import Settings
from tixallo_qa.webhook_sink.client import SinkClient


@check(
    "oracle-tour",
    "oracles",
    "one ticket per workspace goes through every path and channel the oracles watch: create, two "
    "messages, reads before and after, lists with and without a limit; the noted ticket is read, "
    "refused a bad message and sent a good one (so its webhook is watched too)",
)
def test_tour(api: ApiClient, expect: Expect, target: Settings) -> None:
    props = _spec.request_properties("CreateTicketRequest")
    priority = _spec.priority()
    # A full-length subject and a priority other than the default: truncation and defaults show.
    subject = unique("oracle tour")
    subject += "x" * (int(props["subject"]["maxLength"]) - len(subject))
    level = [p for p in priority["enum"] if p != priority["default"]][-1]
    _, ticket = create_ticket(
        api,
        expect,
        label="oracle tour",
        subject=subject,
        priority=level,
        customer_name="Tour Guest",
    )
    for n in (1, 2):
        posted = api.post(
            f"/tickets/{ticket['id']}/messages", json={"body": unique(f"oracle tour message {n}")}
        )
        expect.status(posted, 201, "posting a message to a ticket of the workspace")
    get_ticket(api, expect, ticket["id"])
    for params in ({"limit": 3}, None):
        listed = api.get("/tickets", params=params)
        expect.status(listed, 200, f"listing tickets with {params or 'no parameters'}")
    # Read again with nothing posted in between: every field, updated_at included, must stand.
    get_ticket(api, expect, ticket["id"])
    if target.noted_ticket_id:
        noted = target.noted_ticket_id
        get_ticket(api, expect, noted)
        too_short = "b" * (
            int(_spec.request_properties("AddMessageRequest")["body"]["minLength"]) - 1
        )
        refused = api.post(f"/tickets/{noted}/messages", json={"body": too_short})
        expect.status(refused, 400, "a too-short message to the noted ticket is refused")
        posted = api.post(
            f"/tickets/{noted}/messages", json={"body": unique("oracle tour: the noted ticket")}
        )
        expect.status(
            posted, (201, 409), "a message to the noted ticket is taken (or it was merged)"
        )
    if target.other_api_key:
        _, other = create_ticket(api, expect, identity=OTHER, label="oracle tour other")
        posted = api.post(
            f"/tickets/{other['id']}/messages",
            json={"body": unique("oracle tour other message")},
            identity=OTHER,
        )
        expect.status(posted, 201, "the other workspace posts to its own ticket")
        get_ticket(api, expect, other["id"], identity=OTHER)
        listed = api.get("/tickets", params={"limit": 3}, identity=OTHER)
        expect.status(listed, 200, "the other workspace lists its tickets")


@pytest.fixture(scope="session")
def oracles(
    paced: PacedSession,
    suite_state: SuiteState,
    sink_client: SinkClient | None,
    sink_baseline: int,
) -> Oracles:
    """The run's oracles, with every delivery the sink recorded (the sweep has waited for them)."""
    assert suite_state.oracles is not None
    if sink_client is not None:
        # Deliveries the sweep did not hand over (it was deselected, or they came late).
        with contextlib.suppress(Exception):
            suite_state.oracles.observe_events(
                sink_client.events(since=sink_baseline, limit=10_000)
            )
    return suite_state.oracles


def _report(oracles: Oracles, suite_state: SuiteState, name: str) -> None:
    if oracles.errors:
        raise AssertionError(
            f"the oracles could not judge {len(oracles.errors)} exchange(s) or delivery(ies): "
            + "; ".join(oracles.errors[:5])
        )
    found = oracles.violations(name)
    if found:
        raise AssertionError(
            f"{BY_NAME[name].doc}: "
            f"{render_all(found, suite_state.redactor)}\n(over {oracles.exchanges} exchanges)"
        )


@after_sweeps
@check(f"oracle-{NOTE_MARKER}", "oracles", BY_NAME[NOTE_MARKER].doc)
def test_note_marker_nowhere(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, NOTE_MARKER)


@after_sweeps
@check(f"oracle-{ISOLATION}", "oracles", BY_NAME[ISOLATION].doc)
def test_workspace_isolation(oracles: Oracles, suite_state: SuiteState, target: Settings) -> None:
    require(target, "other_api_key")
    _report(oracles, suite_state, ISOLATION)


@after_sweeps
@check(f"oracle-{AUTHOR}", "oracles", BY_NAME[AUTHOR].doc)
def test_posted_messages_from_customer(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, AUTHOR)


@after_sweeps
@check(f"oracle-{TIMESTAMPS}", "oracles", BY_NAME[TIMESTAMPS].doc)
def test_timestamps_utc_coherent(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, TIMESTAMPS)


@after_sweeps
@check(f"oracle-{NUMBERS}", "oracles", BY_NAME[NUMBERS].doc)
def test_ticket_numbers(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, NUMBERS)


@after_sweeps
@check(f"oracle-{SAME_FIELDS}", "oracles", BY_NAME[SAME_FIELDS].doc)
def test_same_object_same_fields(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, SAME_FIELDS)


@after_sweeps
@check(f"oracle-{SCHEMA}", "oracles", BY_NAME[SCHEMA].doc)
def test_responses_match_spec(oracles: Oracles, suite_state: SuiteState) -> None:
    _report(oracles, suite_state, SCHEMA)


@after_sweeps
@check(f"oracle-{LISTS}", "oracles", BY_NAME[LISTS].doc)
def test_lists(api: ApiClient, expect: Expect, oracles: Oracles, suite_state: SuiteState) -> None:
    # One more list at the largest page, now that the run has created its tickets: a deployment
    # that caps pages short of the limit shows it only when the workspace holds more than the
    # cap. A short page with fewer tickets of the suite's own than the limit proves nothing
    # yet: the workspace then gets enough more for a full page, and is listed again.
    largest = int(_spec.limit()["maximum"])
    page = api.get("/tickets", params={"limit": largest})
    try:
        data = page.json().get("data") if page.status_code == 200 else None
    except ValueError:
        data = None  # not JSON: the schema oracle names it
    known = oracles.created_by_suite(MAIN)
    if isinstance(data, list) and len(data) < largest and known <= largest:
        for n in range(largest + 1 - known):
            create_ticket(api, expect, label=f"full page {n}")
        api.get("/tickets", params={"limit": largest})
    _report(oracles, suite_state, LISTS)
