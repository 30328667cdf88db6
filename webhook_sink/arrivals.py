"""Judging each delivery as it arrives, in arrival order: its seq, and whether it is a retry,
a double fire, and how late it came after the action it reports (when that action was marked).

A retry repeats a delivery id (at-least-once delivery, allowed); a double fire is a second
delivery id for the same logical event (``core.events``). The state lives in memory, rebuilt from
the stored rows when the store opens, so no delivery waits for a read.
"""

from __future__ import annotations

from collections.abc import Iterable

from tixallo_qa.core import events
from tixallo_qa.webhook_sink.delivery import Delivery


class Arrivals:
    """The in-memory state that decides each arrival's flags."""

    def __init__(self) -> None:
        self.next_seq = 1
        self._delivery_ids: set[str] = set()
        self._logical: dict[str, set[str | None]] = {}
        self._marks: dict[str, float] = {}

    def load(
        self,
        rows: Iterable[tuple[str | None, str | None, str]],
        marks: dict[str, float],
        next_seq: int,
    ) -> None:
        """The state of the stored deliveries ``(delivery_id, logical_key, verdict)``, oldest first."""
        self.next_seq = next_seq
        for delivery_id, key, verdict in rows:
            if delivery_id is not None:
                self._delivery_ids.add(delivery_id)
            if key is not None and verdict == "valid":
                self._logical.setdefault(key, set()).add(delivery_id)
        self._marks = dict(marks)

    def judge(self, d: Delivery) -> None:
        """Give ``d`` its seq and its retry, double-fire and lag flags."""
        d.seq = self.next_seq
        self.next_seq += 1
        delivery_id, key = d.delivery_id, d.logical_key
        d.retry = delivery_id is not None and delivery_id in self._delivery_ids
        if delivery_id is not None:
            self._delivery_ids.add(delivery_id)
        if key is None:
            return
        if d.verdict == "valid":
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
        self._logical.clear()
        self._marks.clear()
