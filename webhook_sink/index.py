"""A small in-memory index: which seq ids hold a value in a column SQLite does not index.

Performance (bench/sink_ingest.py): every SQL index is written on each insert, and an index on a
random key (a UUID) dirties a different page per row, so each group commit (and each WAL
checkpoint) wrote about one more page per row and per such index: with six indexes the commit,
not the HTTP work, capped ingest. So lookups by ticket_id, delivery_id and logical_key go through
this map of hash((column, value)) to seq ids, rebuilt from the table on open; the SQL then reads
those rows by primary key and still compares the column, so a hash collision costs a row read,
never a wrong answer.
"""

from __future__ import annotations

KEYED = ("ticket_id", "delivery_id", "logical_key")


class SeqIndex:
    def __init__(self) -> None:
        self._seqs: dict[int, int | list[int]] = {}

    def add(self, seq: int, *values: str | None) -> None:
        """Add ``seq`` under each non-null value, given in ``KEYED`` order."""
        seqs = self._seqs
        for column, value in zip(KEYED, values, strict=True):
            if value is None:
                continue
            h = hash((column, value))
            known = seqs.get(h)
            if known is None:
                seqs[h] = seq  # one row: a bare int, the common case
            elif isinstance(known, int):
                seqs[h] = [known, seq]
            else:
                known.append(seq)

    def lookup(self, column: str, value: str) -> list[int]:
        """Seq ids that may hold ``value`` in ``column`` (a superset: the SQL checks)."""
        known = self._seqs.get(hash((column, value)))
        if known is None:
            return []
        return [known] if isinstance(known, int) else list(known)

    def clear(self) -> None:
        self._seqs.clear()
