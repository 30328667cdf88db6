"""Matches every event the sink recorded during the run against every create in the ledger.

Every delivery is judged, first attempts and retries alike: a deployment that sends a retry
without a header, or stamped with the first attempt's time, breaks the contract as much as one
that sends the first attempt so.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
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

CATEGORIES = (
    "delivery", "signature", "payload", "headers", "delivery-id", "double-fire", "unexpected",
)  # fmt: skip
SHOWN = 8
POLL = 0.25
# Seconds a retry's timestamp may lag its own arrival more than the first attempt's did: the
# timestamp is of each attempt (part B 1); whole seconds and the network take about one, and a
# sender that stamps a little before it sends is not the defect this looks for (a retry stamped
# with the first attempt's or the event's time lags by the whole backoff).
RESTAMP_SLACK = 5.0


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


@dataclass(frozen=True)
class Scheme:
    """What the configured signing scheme documents: its own headers and its timestamp header."""

    delivery_headers: tuple[str, ...] = ()
    timestamp_header: str | None = None


def _stamp(event: Event, header: str | None) -> int | None:
    raw = (event.headers or {}).get(header, "").strip() if header else ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _restamped(attempts: list[Event], header: str | None) -> list[str]:
    """Retries whose timestamp is not their own: it lags their arrival far more than the first's."""
    problems = []
    by_id: dict[str, list[Event]] = defaultdict(list)
    for event in attempts:
        if event.delivery_id and event.valid:
            by_id[event.delivery_id].append(event)
    for group in by_id.values():
        stamped = [
            (e, ts)
            for e in sorted(group, key=lambda e: e.received_at)
            if (ts := _stamp(e, header)) is not None
        ]
        if len(stamped) < 2:
            continue
        first, first_ts = stamped[0]
        for event, ts in stamped[1:]:
            late = (event.received_at - ts) - (first.received_at - first_ts)
            if late > RESTAMP_SLACK:
                problems.append(
                    f"delivery #{event.seq} ({event.received_at - first.received_at:.1f} s after "
                    f"#{first.seq}, the same delivery id) is stamped {header} {ts}, {late:.1f} s older "
                    f"against its arrival than #{first.seq} ({first_ts}): each attempt carries its own "
                    f"time (part B 1)"
                )
    return problems


def _payload_problems(created: Created, event: Event, ledger: Ledger) -> list[str]:
    errors = _spec.validate_event(created.event_type, event.payload)
    problems = []
    if errors:
        problems.append(f"payload breaks the spec's webhook schema: {errors[:5]}")
    payload = event.payload if isinstance(event.payload, dict) else {}
    differ = []
    for name, value in _expected_payload(created, ledger).items():
        actual = payload.get(name)
        same = same_instant(actual, value) if name == "created_at" else actual == value
        if not same:
            differ.append(f"{name}: API {value!r}, event {actual!r}")
    if differ:
        problems.append("payload differs from the API's answer: " + "; ".join(differ))
    return problems


def _said(event: Event) -> str | None:
    """The event type the payload names (what X-Tixallo-Event must repeat)."""
    said = event.payload.get("event_type") if isinstance(event.payload, dict) else None
    return said if isinstance(said, str) else None


def _attempt(event: Event, attempts: list[Event]) -> str:
    if len(attempts) < 2:
        return f"event: {event.summary()}"
    n = sorted(attempts, key=lambda e: e.received_at).index(event) + 1
    return f"attempt {n} of {len(attempts)}: {event.summary()}"


def _judged_once(judged: Iterable[tuple[Event, list[str]]]) -> list[tuple[str, Event]]:
    """Each distinct problem among the attempts, with the first attempt that shows it."""
    found: dict[str, Event] = {}
    for event, found_in_it in sorted(judged, key=lambda j: j[0].received_at):
        for problem in found_in_it:
            found.setdefault(problem, event)
    return list(found.items())


def _shared_ids(deliveries: list[Event]) -> list[str]:
    """Delivery ids that stand for more than one event (part B 1: one id per event and endpoint)."""
    events_of: dict[str, dict[str | None, Event]] = defaultdict(dict)
    for event in deliveries:
        key = _key(event)
        if event.delivery_id and key is not None:
            events_of[event.delivery_id].setdefault(key, event)
    return [
        f"delivery id {delivery_id} stands for {len(carried)} different events, so a receiver "
        "that drops a delivery id it has seen loses all but the first: "
        + "; ".join(e.summary() for e in carried.values())
        for delivery_id, carried in events_of.items()
        if len(carried) > 1
    ]


def _queued(
    held: tuple[float, float] | None, created: Created, first: Event, timeout: float
) -> bool:
    """Whether ``first`` may have waited behind a delivery the sink held: created before the
    hold ended, it arrived during it or within ``timeout`` after."""
    if held is None:
        return False
    start, end = held
    return created.action_time < end and start <= first.received_at <= end + timeout


def _describe(created: Created, state: SuiteState) -> str:
    return f"{created.event_type} for {created.key} (request #{created.exchange.seq}: {curl_command(created.exchange, state.redactor, body_limit=300)})"


def collect(
    sink: SinkClient,
    ledger: Ledger,
    baseline: int,
    timeout: float,
    state: Any,
    scheme: Scheme = Scheme(),
    held: tuple[float, float] | None = None,
) -> Sweep:
    """Wait for the events of every create (up to each create's deadline), then judge them all.

    ``held`` is when the sink itself held a delivery unanswered (a stall): an event created
    before it ended and delivered within ``timeout`` after is not late, whatever its lag, for a
    sender that delivers one at a time may have queued it behind the held one.
    """
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
        if lag > timeout and not _queued(held, created, first, timeout):
            problems["delivery"].append(
                f"the event arrived {lag:.1f} s after the request, over TIXALLO_WEBHOOK_TIMEOUT={timeout:g} s: {what}"
            )
        for event in mine:
            if not event.valid:
                problems["signature"].append(
                    f"verdict {event.verdict!r} ({event.detail}): {event.summary()}\n  for {what}"
                )
        problems["signature"] += [
            f"{p}\n  for {what}" for p in _restamped(mine, scheme.timestamp_header)
        ]
        ids = {e.delivery_id for e in mine}
        if len(ids) > 1 or any(e.double_fire for e in mine):
            problems["double-fire"].append(
                f"{len(mine)} deliveries with {len(ids)} delivery ids: "
                + "; ".join(e.summary() for e in mine)
                + f"\n  for {what}"
            )
        # Every attempt, the retries too: each must carry the event as the first one did.
        attempts = [e for e in mine if e.valid] or mine
        payloads = ((e, _payload_problems(created, e, ledger)) for e in attempts)
        for problem, event in _judged_once(payloads):
            problems["payload"].append(f"{problem}\n  {_attempt(event, mine)}\n  for {what}")
        documented = scheme.delivery_headers
        headers = ((e, events.header_errors(_said(e), e.headers, documented)) for e in mine)
        for problem, event in _judged_once(headers):
            problems["headers"].append(f"{problem}\n  {_attempt(event, mine)}\n  for {what}")

    problems["delivery-id"] += _shared_ids(deliveries)
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
