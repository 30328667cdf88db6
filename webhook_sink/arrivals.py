"""Judging each delivery as it arrives, in arrival order: its seq, and whether it is a retry,
a double fire, and how late it came after the action it reports (when that action was marked).

A retry repeats a delivery id for the same logical event (at-least-once delivery, allowed); a
double fire is a second delivery id for the same logical event (``core.events``). A delivery
id that already carried another logical event is no retry of that one: one id stands for one
event (part B 1), so a receiver that dedupes on it would drop this one; the delivery says so in
its ``schema_errors``. The state lives in memory, rebuilt from the stored rows when the store
opens, so no delivery waits for a read.
"""

from __future__ import annotations

from collections.abc import Iterable

from tixallo_qa.core import events
from tixallo_qa.webhook_sink.delivery import Delivery

VALID = "valid"


class Arrivals:
    """The in-memory state that decides each arrival's flags."""

    def __init__(self) -> None:
        self.next_seq = 1
        self._delivery_ids: set[str] = set()
        # (delivery id, logical event) pairs seen: a retry repeats both.
        self._pairs: set[tuple[str, str]] = set()
        # The logical event each delivery id first carried (in a valid delivery), and its seq.
        self._carried: dict[str, tuple[str, int]] = {}
        self._logical: dict[str, set[str | None]] = {}
        self._marks: dict[str, float] = {}

    def load(
        self,
        rows: Iterable[tuple[int, str | None, str | None, str]],
        marks: dict[str, float],
        next_seq: int,
    ) -> None:
        """The state of the stored deliveries ``(seq, delivery_id, logical_key, verdict)``, oldest first."""
        self.next_seq = next_seq
        for seq, delivery_id, key, verdict in rows:
            if delivery_id is not None:
                self._delivery_ids.add(delivery_id)
                if key is not None:
                    self._pairs.add((delivery_id, key))
            if key is not None and verdict == VALID:
                self._logical.setdefault(key, set()).add(delivery_id)
                if delivery_id is not None:
                    self._carried.setdefault(delivery_id, (key, seq))
        self._marks = dict(marks)

    def known(self, delivery_id: str | None, key: str | None = None) -> bool:
        """Whether this delivery id arrived before (for logical event ``key``, when given): a
        delivery that is known is a retry, not a first attempt."""
        if delivery_id is None:
            return False
        if key is None:
            return delivery_id in self._delivery_ids
        return (delivery_id, key) in self._pairs

    def judge(self, d: Delivery) -> None:
        """Give ``d`` its seq and its retry, double-fire and lag flags."""
        d.seq = self.next_seq
        self.next_seq += 1
        delivery_id, key = d.delivery_id, d.logical_key
        carried = self._carried.get(delivery_id) if delivery_id is not None else None
        # With no telling which event it carries, the id alone decides.
        d.retry = self.known(delivery_id, key)
        if delivery_id is not None:
            self._delivery_ids.add(delivery_id)
            if key is not None:
                self._pairs.add((delivery_id, key))
        if key is None:
            return
        if d.verdict == VALID:
            if carried is not None and carried[0] != key:
                d.schema_errors.append(
                    f"delivery id {delivery_id} already carried {carried[0]} (#{carried[1]}): "
                    "one id stands for one event (part B 1)"
                )
            elif delivery_id is not None and carried is None:
                self._carried[delivery_id] = (key, d.seq)
            seen = self._logical.setdefault(key, set())
            # An id-less delivery cannot be told from a retry, so any earlier arrival counts.
            d.double_fire = bool(seen - {delivery_id}) or (delivery_id is None and bool(seen))
            seen.add(delivery_id)
        action_at = self._marks.get(key)
        if action_at is not None:
            d.lag = events.lag(action_at, d.received_at)

    def mark(self, key: str, action_at: float) -> None:
        """The action behind logical event ``key`` happened at ``action_at`` (epoch seconds)."""
        self._marks[key] = action_at

    def clear(self) -> None:
        """Forget everything but the next seq (seq ids keep increasing across a clear)."""
        self._delivery_ids.clear()
        self._pairs.clear()
        self._carried.clear()
        self._logical.clear()
        self._marks.clear()
