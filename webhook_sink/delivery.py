"""One recorded delivery: a typed record that owns its stored row and its JSON form."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

# Flags, stored as 0/1 and answered as booleans.
FLAGS = ("retry", "double_fire", "injected")
# The status of a delivery that got no answer: its sender hung up while the sink stalled.
NO_ANSWER = 0


@dataclass(slots=True)
class Delivery:
    """What arrived, what the sink made of it, and (from ``Arrivals``) its place among the others."""

    verdict: str
    status: int
    received_at: float
    received_monotonic: float
    headers: dict[str, str]  # redacted
    body: bytes
    body_size: int
    payload: Any  # the parsed JSON, None when the body is not JSON
    event_type: str | None
    delivery_id: str | None
    ticket_id: str | None
    message_id: str | None
    logical_key: str | None  # core.events.payload_key: the logical event it is about
    schema_errors: list[str]
    injected: bool
    detail: str
    # Set on arrival, in arrival order (webhook_sink.arrivals).
    seq: int = 0
    retry: bool = False
    double_fire: bool = False
    lag: float | None = None
    # The JSON text the payload was parsed from, when kept: stored as is, with no json.dumps.
    payload_json: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The stored row, in ``COLUMNS`` order."""
        payload = self.payload
        return (
            self.seq,
            self.verdict,
            self.status,
            self.received_at,
            self.received_monotonic,
            json.dumps(self.headers),
            self.body,
            self.body_size,
            None if payload is None else self.payload_json or json.dumps(payload),
            self.event_type,
            self.delivery_id,
            self.ticket_id,
            self.message_id,
            self.logical_key,
            json.dumps(self.schema_errors) if self.schema_errors else "[]",
            int(self.retry),
            int(self.double_fire),
            int(self.injected),
            self.lag,
            self.detail,
        )

    def to_json(self) -> dict[str, Any]:
        """The event as the query API answers it (what its stored row reads back as)."""
        return row_to_json(self.row())


# The stored columns, in the order of ``Delivery.row``: every field but the kept JSON text.
COLUMNS: tuple[str, ...] = (
    "seq", "verdict", "status", "received_at", "received_monotonic", "headers", "body",
    "body_size", "payload", "event_type", "delivery_id", "ticket_id", "message_id",
    "logical_key", "schema_errors", "retry", "double_fire", "injected", "lag", "detail",
)  # fmt: skip
STORED = frozenset(f.name for f in fields(Delivery)) - {"payload_json"}


def row_to_json(row: Sequence[Any]) -> dict[str, Any]:
    """A stored row as the event the query API returns."""
    e = dict(zip(COLUMNS, row, strict=True))
    body: bytes = e["body"]
    e["body_truncated"] = e["body_size"] > len(body)
    e["body"] = body.decode("utf-8", "replace")
    e["headers"] = json.loads(e["headers"])
    e["payload"] = json.loads(e["payload"]) if e["payload"] is not None else None
    e["schema_errors"] = json.loads(e["schema_errors"])
    for flag in FLAGS:
        e[flag] = bool(e[flag])
    del e["logical_key"]
    return e


def now() -> tuple[float, float]:
    """Wall-clock and monotonic receive time."""
    return time.time(), time.monotonic()
