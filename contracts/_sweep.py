"""Matches every event the sink recorded during the run against every create in the ledger."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._curl import curl_command
from tixallo_qa.contracts._ledger import Created, Ledger
from tixallo_qa.contracts._state import SuiteState
from tixallo_qa.contracts._time import same_instant
from tixallo_qa.contracts._transport import MAIN, OTHER
from tixallo_qa.core import events
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.webhook_sink.client import Event, SinkClient

CATEGORIES = ("delivery", "signature", "payload", "double-fire", "unexpected")
SHOWN = 8
POLL = 0.25


@dataclass
class Sweep:
    """Problems found per category, and how many creates and events were compared."""

    creates: int = 0
    events: int = 0
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def report(self, category: str) -> None:
        """Fail with the problems of ``category`` (the first few in full), if any."""
        found = self.problems.get(category, [])
        if not found:
            return
        head = f"{len(found)} problem(s) among {self.creates} creates and {self.events} events of this run:"
        shown = "\n\n".join(found[:SHOWN])
        more = f"\n\n… and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        raise AssertionError(f"{head}\n\n{shown}{more}")


def _key(event: Event) -> str | None:
    return events.event_key(event.event_type, event.ticket_id, event.message_id)


def _created_key(created: Created) -> str | None:
    return events.event_key(created.event_type, created.ticket_id, created.message_id)


def _wait_for_all(
    sink: SinkClient, baseline: int, expected: set[str | None], deadline: float
) -> list[Event]:
    """Poll the sink until every expected event arrived or the deadline (wall clock) passed."""
    while True:
        deliveries = sink.events(since=baseline, limit=10_000)
        seen = {_key(e) for e in deliveries}
        if expected <= seen or time.time() >= deadline:
            return deliveries
        time.sleep(min(POLL, max(0.0, deadline - time.time())))


def _expected_payload(created: Created, ledger: Ledger) -> dict[str, Any]:
    """The payload the API's answers fix (the ticket's, and the message's for a message event)."""
    if created.event_type == TICKET_CREATED:
        return events.payload(TICKET_CREATED, created.data)
    ticket = ledger.ticket(created.ticket_id)
    known = ticket.data if ticket is not None else {"id": created.ticket_id}
    return events.payload(created.event_type, known, created.data)


def _describe(created: Created, state: SuiteState) -> str:
    return f"{created.event_type} for {created.key} (request #{created.exchange.seq}: {curl_command(created.exchange, state.redactor, body_limit=300)})"


def collect(sink: SinkClient, ledger: Ledger, baseline: int, timeout: float, state: Any) -> Sweep:
    """Wait for the events of every create (up to each create's deadline), then judge them all."""
    assert isinstance(state, SuiteState)
    creates = [c for c in ledger if c.identity == MAIN]
    expected = {_created_key(c) for c in creates}
    deadline = max((c.action_time for c in creates), default=time.time()) + timeout + 0.5
    deliveries = _wait_for_all(sink, baseline, expected, deadline)
    if state.oracles is not None:
        state.oracles.observe_events(deliveries)
    sweep = Sweep(creates=len(creates), events=len(deliveries))
    by_key: dict[str | None, list[Event]] = defaultdict(list)
    for event in deliveries:
        by_key[_key(event)].append(event)
    problems = sweep.problems

    for created in creates:
        what = _describe(created, state)
        mine = by_key.get(_created_key(created), [])
        if not mine:
            problems["delivery"].append(f"no event arrived within {timeout:g} s: {what}")
            continue
        first = min(mine, key=lambda e: e.received_at)
        lag = events.lag(created.action_time, first.received_at)
        state.lags.append(lag)
        if lag > timeout:
            problems["delivery"].append(
                f"the event arrived {lag:.1f} s after the request, over TIXALLO_WEBHOOK_TIMEOUT={timeout:g} s: {what}"
            )
        for event in mine:
            if not event.valid:
                problems["signature"].append(
                    f"verdict {event.verdict!r} ({event.detail}): {event.summary()}\n  for {what}"
                )
        ids = {e.delivery_id for e in mine}
        if len(ids) > 1 or any(e.double_fire for e in mine):
            problems["double-fire"].append(
                f"{len(mine)} deliveries with {len(ids)} delivery ids: "
                + "; ".join(e.summary() for e in mine)
                + f"\n  for {what}"
            )
        valid = [e for e in mine if e.valid] or mine
        event = valid[0]
        errors = list(event.schema_errors) + [
            e
            for e in _spec.validate_event(created.event_type, event.payload)
            if e not in event.schema_errors
        ]
        if errors:
            problems["payload"].append(
                f"payload breaks the spec's webhook schema: {errors[:5]}\n  event: {event.summary()}\n  for {what}"
            )
        payload = event.payload if isinstance(event.payload, dict) else {}
        differ = []
        for name, value in _expected_payload(created, ledger).items():
            actual = payload.get(name)
            same = same_instant(actual, value) if name == "created_at" else actual == value
            if not same:
                differ.append(f"{name}: API {value!r}, event {actual!r}")
        if differ:
            problems["payload"].append(
                "payload differs from the API's answer: " + "; ".join(differ) + f"\n  for {what}"
            )

    mine_keys = {_created_key(c) for c in creates}
    other_tickets = ledger.ticket_ids(OTHER)
    for key, group in by_key.items():
        if key in mine_keys:
            continue
        event = group[0]
        if event.ticket_id in other_tickets:
            reason = "for a ticket of the other workspace"
        elif event.event_type == MESSAGE_CREATED and event.ticket_id in ledger.ticket_ids(MAIN):
            reason = (
                "for a message the suite never posted (the description must fire none, part B 11)"
            )
        elif event.event_type == TICKET_CREATED and event.ticket_id is not None:
            reason = "for a ticket the suite did not create"
        else:
            reason = "that no request of the suite caused"
        problems["unexpected"].append(
            f"{len(group)} unexpected delivery(ies) {reason}: {event.summary()}"
        )
    return sweep
