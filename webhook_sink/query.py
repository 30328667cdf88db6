"""Which recorded events a query wants: column filters, payload fields, a ``since`` seq or time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.webhook_sink._text import as_text
from tixallo_qa.webhook_sink.delivery import FLAGS

# Filters that are columns; every other filter name is a top-level payload field.
COLUMN_FILTERS = ("event_type", "ticket_id", "message_id", "verdict", "delivery_id", "status")
_FLAG_FILTERS = FLAGS


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Filter:
    """Which events to return: column filters, payload fields, and a ``since`` seq or time."""

    fields: Mapping[str, str] = field(default_factory=dict)
    since_seq: int | None = None
    since_time: float | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], reserved: Iterable[str] = ()) -> Filter:
        """From query parameters; ``since`` below 1e9 is a seq id, above it an epoch time."""
        skip = {"since", "limit", "order", "count", "timeout", *reserved}
        fields = {k: v for k, v in params.items() if k not in skip}
        since_seq = since_time = None
        since = params.get("since")
        if since not in (None, ""):
            number = float(since)
            if number < 1e9:
                since_seq = int(number)
            else:
                since_time = number
        return cls(fields, since_seq, since_time)

    def matches(self, event: Mapping[str, Any]) -> bool:
        if self.since_seq is not None and event["seq"] <= self.since_seq:
            return False
        if self.since_time is not None and event["received_at"] <= self.since_time:
            return False
        payload = event.get("payload")
        for name, wanted in self.fields.items():
            if name in _FLAG_FILTERS:
                if bool(event[name]) != _truthy(wanted):
                    return False
            elif name in COLUMN_FILTERS:
                if as_text(event[name]) != wanted:
                    return False
            elif (
                not isinstance(payload, dict)
                or name not in payload
                or as_text(payload[name]) != wanted
            ):
                return False
        return True

    def sql(self, seqs: Iterable[int] | None = None) -> tuple[str, list[Any]]:
        """A WHERE clause narrowing by the columns (and to ``seqs``); ``matches`` does the rest."""
        clauses: list[str] = []
        args: list[Any] = []
        if seqs is not None:
            # Seq ids from the store's own maps: integers, so inlined (no variable-count limit).
            clauses.append(f"seq IN ({','.join(str(int(s)) for s in seqs)})")
        for name, wanted in self.fields.items():
            if name in _FLAG_FILTERS:
                clauses.append(f"{name} = ?")
                args.append(1 if _truthy(wanted) else 0)
            elif name in COLUMN_FILTERS and name != "status":
                clauses.append(f"{name} = ?")
                args.append(wanted)
        if self.since_seq is not None:
            clauses.append("seq > ?")
            args.append(self.since_seq)
        if self.since_time is not None:
            clauses.append("received_at > ?")
            args.append(self.since_time)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
