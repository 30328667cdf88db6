"""Webhook accounting: join what the load created with what the sink received, once, at the end.

Each created ticket expects one ``ticket.created`` and each posted message one
``ticket.message.created``. Lag is measured from the moment the API acknowledged the create
(its 201 arrived) to the first accepted delivery; a delivery that beats the response counts as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tixallo_qa.core import events
from tixallo_qa.core.histogram import summarize

EVENT_OF_KIND = events.EVENT_OF
SAMPLE = 10
# Fields a record knows from the API, by the payload field they must equal (when the payload has it).
_ID_FIELDS = {"ticket": ("ticket_id", "ticket_number"), "message": ("ticket_id", "message_id")}


def expected_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """(event type, id) of the webhook a created record must cause."""
    event_type = EVENT_OF_KIND[record["kind"]]
    return event_type, str(record[events.key_field(event_type)])


def event_key(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(event type, id) a recorded delivery is about, or None for an event type we do not create."""
    event_type = event.get("event_type")
    if event_type not in EVENT_OF_KIND.values():
        return None
    field_name = events.key_field(str(event_type))
    ident = event.get(field_name)
    if ident is None and isinstance(event.get("payload"), Mapping):
        ident = event["payload"].get(field_name)
    return (str(event_type), str(ident)) if ident is not None else None


def accepted(event: Mapping[str, Any]) -> bool:
    """A delivery that counts: authentic (verdict valid) and acknowledged 2xx by the sink."""
    return events.accepted(event.get("verdict"), event.get("status"))


@dataclass
class EventTypeAccount:
    """Figures of one event type."""

    expected: int = 0
    delivered: int = 0
    lost: int = 0
    double_fires: int = 0
    retries: int = 0
    late: int = 0  # delivered, but later than the webhook timeout after the create
    payload_mismatches: int = 0  # a delivery whose fields differ from what the API answered
    payload_sample: list[str] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    lost_ids: list[str] = field(default_factory=list)
    late_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        lag = summarize(self.lags_ms)
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.lost,
            "late": self.late,
            "payload_mismatches": self.payload_mismatches,
            "payload_sample": self.payload_sample[:SAMPLE],
            "double_fires": self.double_fires,
            "retries": self.retries,
            "lag_ms": lag,
            "lost_sample": self.lost_ids[:SAMPLE],
            "late_sample": self.late_ids[:SAMPLE],
        }


@dataclass
class Accounting:
    """The join's result, per event type and in total."""

    by_type: dict[str, EventTypeAccount]
    # Accepted deliveries about ids this run did not create (or did not see acknowledged).
    unexpected: int = 0
    rejected: int = 0  # deliveries the sink refused (bad signature, stale, malformed)
    late_after_ms: float | None = None

    @property
    def expected(self) -> int:
        return sum(a.expected for a in self.by_type.values())

    @property
    def lost(self) -> int:
        return sum(a.lost for a in self.by_type.values())

    @property
    def delivered(self) -> int:
        return sum(a.delivered for a in self.by_type.values())

    @property
    def double_fires(self) -> int:
        return sum(a.double_fires for a in self.by_type.values())

    @property
    def late(self) -> int:
        return sum(a.late for a in self.by_type.values())

    @property
    def payload_mismatches(self) -> int:
        return sum(a.payload_mismatches for a in self.by_type.values())

    @property
    def lags_ms(self) -> list[float]:
        return [lag for a in self.by_type.values() for lag in a.lags_ms]

    def as_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.lost,
            "late": self.late,
            "late_after_ms": self.late_after_ms,
            "payload_mismatches": self.payload_mismatches,
            "payload_sample": [p for a in self.by_type.values() for p in a.payload_sample][:SAMPLE],
            "double_fires": self.double_fires,
            "retries": sum(a.retries for a in self.by_type.values()),
            "unexpected": self.unexpected,
            "rejected": self.rejected,
            "lag_ms": summarize(self.lags_ms),
            "by_event_type": {k: v.as_dict() for k, v in sorted(self.by_type.items())},
        }


def join(
    created: Iterable[Mapping[str, Any]],
    received: Iterable[Mapping[str, Any]],
    *,
    late_after_ms: float | None = None,
) -> Accounting:
    """Match every created record to its deliveries: lag, loss, lateness, double fires (delivery ids).

    A delivery that arrived, but more than ``late_after_ms`` after its create, is counted late.
    """
    deliveries: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    rejected = 0
    for event in received:
        key = event_key(event)
        if key is None:
            continue
        if not accepted(event):
            rejected += 1
            continue
        deliveries.setdefault(key, []).append(event)
    result = Accounting({t: EventTypeAccount() for t in EVENT_OF_KIND.values()})
    seen: set[tuple[str, str]] = set()
    for record in created:
        key = expected_key(record)
        if key in seen:
            continue  # a record reported twice (a resent batch) is one action
        seen.add(key)
        account = result.by_type[key[0]]
        account.expected += 1
        got = deliveries.get(key)
        if not got:
            account.lost += 1
            account.lost_ids.append(key[1])
            continue
        account.delivered += 1
        first = min(float(e["received_at"]) for e in got)
        lag = events.lag(float(record["acked_at"]), first) * 1000.0
        account.lags_ms.append(lag)
        if late_after_ms is not None and lag > late_after_ms:
            account.late += 1
            account.late_ids.append(key[1])
        problems = payload_problems(record, got)
        if problems:
            account.payload_mismatches += 1
            account.payload_sample.append(f"{key[0]} {key[1]}: {problems[0]}")
        ids = [e.get("delivery_id") for e in got]
        if None in ids:
            # Without delivery ids a retry cannot be told from a second event: count them all.
            account.double_fires += len(ids) - 1
        else:
            # Retries repeat a delivery id (at-least-once, allowed); a second id is a second event.
            account.double_fires += len(set(ids)) - 1
            account.retries += len(ids) - len(set(ids))
    result.unexpected = sum(len(v) for k, v in deliveries.items() if k not in seen)
    result.rejected = rejected
    result.late_after_ms = late_after_ms
    return result


def expected_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a record's event payload must say: its ids and the values the API answered."""
    out = {
        name: record.get(name)
        for name in _ID_FIELDS[record["kind"]]
        if record.get(name) is not None
    }
    returned = record.get("returned") or {}
    out.update({k: v for k, v in returned.items() if k not in ("id", "description")})
    return out


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        try:  # timestamps: the same instant may be written with another precision (part B 15)
            return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(
                b.replace("Z", "+00:00")
            )
        except ValueError:
            return False
    return False


def payload_problems(
    record: Mapping[str, Any], deliveries: Iterable[Mapping[str, Any]]
) -> list[str]:
    """How the accepted deliveries' payloads differ from the API's answer (fields both carry)."""
    wanted = expected_fields(record)
    problems = []
    for event in deliveries:
        payload = event.get("payload")
        if not isinstance(payload, Mapping):
            continue  # an old sink record without its payload: nothing to compare
        for name, value in wanted.items():
            if name in payload and not _same(payload[name], value):
                problems.append(f"{name}: the API said {value!r}, the webhook {payload[name]!r}")
    return problems
