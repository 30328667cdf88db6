"""The durable record of deliveries: SQLite in WAL mode, one writer thread, group commit.

Requests hand their record to the writer and await the commit of the batch it lands in, so an
answered delivery is on disk; while one batch commits the next one fills, which is what lets a
single writer keep up with thousands of deliveries a second. Retry, double-fire and lag flags are
decided on the event loop at arrival, so they follow arrival order exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.core import events
from tixallo_qa.webhook_sink._text import as_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    verdict TEXT NOT NULL,
    status INTEGER NOT NULL,
    received_at REAL NOT NULL,
    received_monotonic REAL NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    body_size INTEGER NOT NULL,
    payload TEXT,
    event_type TEXT,
    delivery_id TEXT,
    ticket_id TEXT,
    message_id TEXT,
    logical_key TEXT,
    schema_errors TEXT NOT NULL,
    retry INTEGER NOT NULL,
    double_fire INTEGER NOT NULL,
    injected INTEGER NOT NULL,
    lag REAL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_type ON events(event_type, seq);
CREATE INDEX IF NOT EXISTS events_message_set ON events(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_verdict ON events(verdict);
CREATE TABLE IF NOT EXISTS marks (
    logical_key TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    ticket_id TEXT,
    message_id TEXT,
    action_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# Performance (bench/sink_ingest.py): every index is written on each insert, and an index on a
# random key (a UUID) dirties a different page per row, so each group commit (and each WAL
# checkpoint) wrote ~one more page per row and per such index: with six indexes the commit, not
# the HTTP work, capped ingest. Kept: event_type (+seq) and verdict, which only append, and
# message_id where it is set (ticket events carry none). Lookups by ticket_id, delivery_id and
# logical_key go through a small derived key instead: ``Store._seqs`` maps the hash of
# (column, value) to seq ids, in memory, rebuilt from the table on open; the SQL then reads
# those rows by primary key and still compares the column, so a hash collision costs a row
# read, never a wrong answer. Files of earlier versions lose the indexes no longer used.
_MIGRATE = """
DROP INDEX IF EXISTS events_ticket;
DROP INDEX IF EXISTS events_message;
DROP INDEX IF EXISTS events_delivery;
DROP INDEX IF EXISTS events_logical;
"""
_COLUMNS = [
    "seq",
    "verdict",
    "status",
    "received_at",
    "received_monotonic",
    "headers",
    "body",
    "body_size",
    "payload",
    "event_type",
    "delivery_id",
    "ticket_id",
    "message_id",
    "logical_key",
    "schema_errors",
    "retry",
    "double_fire",
    "injected",
    "lag",
    "detail",
]
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
# Filters that are columns; every other filter name is a top-level payload field.
_COLUMN_FILTERS = ("event_type", "ticket_id", "message_id", "verdict", "delivery_id", "status")
_FLAG_FILTERS = ("retry", "double_fire", "injected")
# Columns looked up through Store._seqs rather than an SQL index (see _MIGRATE).
_KEYED = ("ticket_id", "delivery_id", "logical_key")
MAX_LIMIT = 10_000
# A mark no accepted delivery matched. logical_key has no index (see _MIGRATE): NOT IN reads the
# accepted keys once into a temporary b-tree, where a correlated NOT EXISTS would scan per mark.
_UNMATCHED = (
    "m.logical_key NOT IN (SELECT logical_key FROM events WHERE logical_key IS NOT NULL "
    "AND verdict = 'valid' AND status BETWEEN 200 AND 299)"
)


class StoreError(RuntimeError):
    """The store could not commit a record (disk full, file removed, closed)."""


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
            elif name in _COLUMN_FILTERS:
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
            elif name in _COLUMN_FILTERS and name != "status":
                clauses.append(f"{name} = ?")
                args.append(wanted)
        if self.since_seq is not None:
            clauses.append("seq > ?")
            args.append(self.since_seq)
        if self.since_time is not None:
            clauses.append("received_at > ?")
            args.append(self.since_time)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def event_from_row(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """A stored row as the JSON-ready event the query API returns."""
    e = dict(zip(_COLUMNS, row, strict=True))
    body: bytes = e["body"]
    e["body_truncated"] = e["body_size"] > len(body)
    e["body"] = body.decode("utf-8", "replace")
    e["headers"] = json.loads(e["headers"])
    e["payload"] = json.loads(e["payload"]) if e["payload"] is not None else None
    e["schema_errors"] = json.loads(e["schema_errors"])
    for flag in _FLAG_FILTERS:
        e[flag] = bool(e[flag])
    del e["logical_key"]
    return e


def _row_of(record: Mapping[str, Any]) -> tuple[Any, ...]:
    payload = record["payload"]
    errors = record["schema_errors"]
    return (
        record["seq"],
        record["verdict"],
        record["status"],
        record["received_at"],
        record["received_monotonic"],
        json.dumps(record["headers"]),
        record["raw_body"],
        record["body_size"],
        # The JSON text the payload was parsed from, when the app kept it (``payload_json``):
        # it loads back to the same value, without a json.dumps per delivery.
        None if payload is None else record.get("payload_json") or json.dumps(payload),
        record["event_type"],
        record["delivery_id"],
        record["ticket_id"],
        record["message_id"],
        record["logical_key"],
        json.dumps(errors) if errors else "[]",
        int(record["retry"]),
        int(record["double_fire"]),
        int(record["injected"]),
        record["lag"],
        record["detail"],
    )


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(eq=False)
class _Waiter:
    filter: Filter
    count: int
    found: dict[int, dict[str, Any]]
    ready: asyncio.Event


@dataclass(slots=True)
class _Op:
    kind: str  # "insert", "marks", "clear"
    data: Any
    future: asyncio.Future[None]


class Store:
    """Records and queries deliveries; every method runs on the server's event loop."""

    def __init__(self, path: str, *, synchronous: str = "FULL", max_batch: int = 2000) -> None:
        self.path = path
        self._synchronous = synchronous
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-writer")
        self._write: sqlite3.Connection | None = None
        self._read: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        # Ops waiting for the next group commit (a list and an event: cheaper per delivery
        # than an asyncio.Queue's put/get/task_done).
        self._pending: list[_Op] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._waiters: set[_Waiter] = set()
        self._commit_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        # Arrival state, kept in memory so flags are decided without a read.
        self._next_seq = 1
        self.generation = 0
        self._delivery_ids: set[str] = set()
        self._logical: dict[str, set[str | None]] = {}
        # hash((column, value)) -> seq id(s), every verdict, for _KEYED columns (see _MIGRATE).
        self._seqs: dict[int, int | list[int]] = {}
        self._marks: dict[str, float] = {}
        self.last_committed = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_writer)
        self._read = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._load_state()
        self._writer = asyncio.create_task(self._write_loop(), name="sink-writer")

    def _open_writer(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.executescript(_MIGRATE + _SCHEMA)
        self._write = conn

    def _load_state(self) -> None:
        assert self._read is not None
        c = self._read
        max_seq = c.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        meta = dict(c.execute("SELECT name, value FROM meta").fetchall())
        self._next_seq = max(max_seq + 1, meta.get("next_seq", 1))
        self.last_committed = self._next_seq - 1
        self.generation = meta.get("generation", 0)
        for seq, ticket_id, delivery_id, key, verdict in c.execute(
            "SELECT seq, ticket_id, delivery_id, logical_key, verdict FROM events ORDER BY seq"
        ):
            self._index(seq, ticket_id, delivery_id, key)
            if delivery_id is not None:
                self._delivery_ids.add(delivery_id)
            if key is not None and verdict == "valid":
                self._logical.setdefault(key, set()).add(delivery_id)
        self._marks = dict(c.execute("SELECT logical_key, action_at FROM marks").fetchall())

    async def close(self) -> None:
        if self._writer is not None:
            # The writer commits every queued record, then returns; then the file closes.
            self._closing = True
            self._wake.set()
            await self._writer
            self._writer = None
        loop = asyncio.get_running_loop()
        if self._write is not None:
            await loop.run_in_executor(self._executor, self._write.close)
            self._write = None
        self._executor.shutdown(wait=True)
        if self._read is not None:
            with self._read_lock:
                self._read.close()
            self._read = None

    # -- writing ---------------------------------------------------------------------------
    def prepare(self, record: dict[str, Any]) -> dict[str, Any]:
        """Give ``record`` its seq and its retry, double-fire and lag flags (arrival order)."""
        seq = record["seq"] = self._next_seq
        self._next_seq += 1
        delivery_id = record.get("delivery_id")
        key = record.get("logical_key")
        self._index(seq, record.get("ticket_id"), delivery_id, key)
        record["retry"] = delivery_id is not None and delivery_id in self._delivery_ids
        if delivery_id is not None:
            self._delivery_ids.add(delivery_id)
        record["double_fire"] = False
        record["lag"] = None
        if key is not None:
            if record["verdict"] == "valid":
                seen = self._logical.setdefault(key, set())
                # An id-less delivery cannot be told from a retry, so any earlier arrival counts.
                record["double_fire"] = bool(seen - {delivery_id}) or (
                    delivery_id is None and bool(seen)
                )
                seen.add(delivery_id)
            action_at = self._marks.get(key)
            if action_at is not None:
                record["lag"] = record["received_at"] - action_at
        return record

    def _index(self, seq: int, *values: str | None) -> None:
        """Add ``seq`` under each non-null value of the _KEYED columns (in that order)."""
        seqs = self._seqs
        for column, value in zip(_KEYED, values, strict=True):
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

    def _lookup(self, column: str, value: str) -> list[int]:
        """Seq ids that may hold ``value`` in ``column`` (a superset: the SQL checks)."""
        known = self._seqs.get(hash((column, value)))
        if known is None:
            return []
        return [known] if isinstance(known, int) else list(known)

    async def add(self, record: dict[str, Any]) -> None:
        """Commit a prepared record; returns once it is durable."""
        await self._submit("insert", record)

    async def add_marks(self, marks: list[dict[str, Any]]) -> int:
        """Record when actions happened (``event_type``, ``ticket_id``/``message_id``, ``action_at``)."""
        rows = []
        for mark in marks:
            event_type = mark.get("event_type")
            if not isinstance(event_type, str) or not event_type:
                raise ValueError("each mark needs an event_type")
            key = events.payload_key(event_type, mark)
            if key is None:
                raise ValueError(f"a {event_type} mark needs {events.key_field(event_type)}")
            action_at = mark.get("action_at")
            if isinstance(action_at, bool) or not isinstance(action_at, int | float):
                raise ValueError("each mark needs action_at, epoch seconds")
            rows.append(
                (key, event_type, mark.get("ticket_id"), mark.get("message_id"), float(action_at))
            )
        lags = []
        for key, *_, action_at in rows:
            self._marks[key] = action_at
            # Deliveries that arrived before their mark (queued ones included) get their lag now.
            lags += [(action_at, seq, key) for seq in self._lookup("logical_key", key)]
        await self._submit("marks", (rows, lags))
        return len(rows)

    async def clear(self) -> None:
        """Forget every event and mark (seq ids keep increasing, so pollers never see one twice)."""
        self._delivery_ids.clear()
        self._logical.clear()
        self._seqs.clear()
        self._marks.clear()
        self.generation += 1
        await self._submit("clear", (self._next_seq, self.generation))

    async def _submit(self, kind: str, data: Any) -> None:
        if self._writer is None:
            raise StoreError("the store is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Op(kind, data, future))
        self._wake.set()
        await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._pending[: self._max_batch]
            del self._pending[: len(batch)]
            try:
                # Statements run here, on the loop thread: sqlite3 drops the GIL on every step,
                # and a writer thread would then queue for it behind the loop on each row.
                # Only COMMIT (the fsync) goes to the thread, so the loop serves while it waits.
                self._apply(batch)
                await loop.run_in_executor(self._executor, self._commit)
            except Exception as exc:
                self._rollback()
                error = StoreError(f"could not store {len(batch)} records: {exc}")
                for op in batch:
                    if not op.future.done():
                        op.future.set_exception(error)
            else:
                committed = [op.data for op in batch if op.kind == "insert"]
                if committed:
                    self.last_committed = max(self.last_committed, committed[-1]["seq"])
                for op in batch:
                    if not op.future.done():
                        op.future.set_result(None)
                if committed:
                    self._notify(committed)

    def _apply(self, batch: list[_Op]) -> None:
        conn = self._write
        if conn is None:
            raise StoreError("the store is closed")
        rows: list[tuple[Any, ...]] = []
        conn.execute("BEGIN")
        for op in batch:
            if op.kind == "insert":
                rows.append(_row_of(op.data))
                continue
            if rows:
                conn.executemany(_INSERT, rows)
                rows = []
            if op.kind == "marks":
                marks, lags = op.data
                conn.executemany("INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?)", marks)
                conn.executemany(
                    "UPDATE events SET lag = received_at - ? WHERE seq = ? AND logical_key = ?",
                    lags,
                )
            elif op.kind == "clear":
                next_seq, generation = op.data
                conn.execute("DELETE FROM events")
                conn.execute("DELETE FROM marks")
                conn.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("next_seq", next_seq), ("generation", generation)],
                )
        if rows:
            conn.executemany(_INSERT, rows)

    def _commit(self) -> None:
        assert self._write is not None
        self._write.execute("COMMIT")

    def _rollback(self) -> None:
        if self._write is not None and self._write.in_transaction:
            self._write.execute("ROLLBACK")

    def add_commit_listener(self, listener: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``listener`` with each committed batch of records (on the event loop)."""
        self._commit_listeners.append(listener)

    def _notify(self, records: list[dict[str, Any]]) -> None:
        if self._waiters:
            events = [public_event(r) for r in records]
            for waiter in list(self._waiters):
                for event in events:
                    if waiter.filter.matches(event):
                        waiter.found[event["seq"]] = event
                if len(waiter.found) >= waiter.count:
                    waiter.ready.set()
        for listener in self._commit_listeners:
            listener(records)

    # -- reading ---------------------------------------------------------------------------
    def _query_sync(
        self, flt: Filter, limit: int, descending: bool, seqs: list[int] | None = None
    ) -> list[dict[str, Any]]:
        where, args = flt.sql(seqs)
        order = "DESC" if descending else "ASC"
        sql = f"SELECT {', '.join(_COLUMNS)} FROM events{where} ORDER BY seq {order}"
        found: list[dict[str, Any]] = []
        with self._read_lock:
            assert self._read is not None
            for row in self._read.execute(sql, args):
                event = event_from_row(row)
                if flt.matches(event):
                    found.append(event)
                    if len(found) >= limit:
                        break
        return found

    async def query(
        self, flt: Filter, *, limit: int = 100, descending: bool = False
    ) -> list[dict[str, Any]]:
        """Committed events matching ``flt``, oldest first (newest first with ``descending``)."""
        limit = max(1, min(limit, MAX_LIMIT))
        seqs = None
        for column in _KEYED:
            if column in flt.fields:
                # Not indexed in SQL: the derived-key map names the candidate rows (read here,
                # on the loop that changes it). Every stored value is in the map.
                found = self._lookup(column, flt.fields[column])
                if not found:
                    return []
                if seqs is None or len(found) < len(seqs):
                    seqs = found
        return await asyncio.to_thread(self._query_sync, flt, limit, descending, seqs)

    async def wait(
        self, flt: Filter, *, count: int = 1, timeout: float = 10.0, limit: int = 1000
    ) -> tuple[list[dict[str, Any]], bool]:
        """Matching events as soon as ``count`` are committed, or what there is after ``timeout``."""
        waiter = _Waiter(flt, max(1, count), {}, asyncio.Event())
        # Registered before the first read, so a commit in between is not missed (seq dedupes).
        self._waiters.add(waiter)
        try:
            for event in await self.query(flt, limit=max(limit, waiter.count)):
                waiter.found[event["seq"]] = event
            if len(waiter.found) < waiter.count:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.ready.wait(), timeout=max(0.0, timeout))
        finally:
            self._waiters.discard(waiter)
        events = [waiter.found[s] for s in sorted(waiter.found)][: max(limit, waiter.count)]
        return events, len(waiter.found) >= waiter.count

    def _stats_sync(self) -> dict[str, Any]:
        with self._read_lock:
            assert self._read is not None
            c = self._read
            total, retries, double_fires, injected = c.execute(
                "SELECT COUNT(*), COALESCE(SUM(retry), 0), COALESCE(SUM(double_fire), 0), "
                "COALESCE(SUM(injected), 0) FROM events"
            ).fetchone()
            by_type = dict(
                c.execute(
                    "SELECT COALESCE(event_type, ''), COUNT(*) FROM events GROUP BY 1"
                ).fetchall()
            )
            by_verdict = dict(
                c.execute("SELECT verdict, COUNT(*) FROM events GROUP BY verdict").fetchall()
            )
            schema_invalid = c.execute(
                "SELECT COUNT(*) FROM events WHERE verdict = 'valid' AND schema_errors != '[]'"
            ).fetchone()[0]
            marks = c.execute("SELECT COUNT(*) FROM marks").fetchone()[0]
            # A logical event's lag is that of its first accepted delivery.
            lags = sorted(
                v
                for (v,) in c.execute(
                    "SELECT MIN(lag) FROM events WHERE lag IS NOT NULL AND verdict = 'valid' "
                    "AND status BETWEEN 200 AND 299 GROUP BY logical_key"
                )
            )
            unmatched = c.execute(f"SELECT COUNT(*) FROM marks m WHERE {_UNMATCHED}").fetchone()[0]
        lag: dict[str, Any] = {"count": len(lags)}
        if lags:
            lag.update(
                p50=percentile(lags, 50),
                p95=percentile(lags, 95),
                p99=percentile(lags, 99),
                max=lags[-1],
                mean=sum(lags) / len(lags),
            )
        return {
            "total": total,
            "by_event_type": {k or "(none)": v for k, v in by_type.items()},
            "by_verdict": by_verdict,
            "retries": retries,
            "double_fires": double_fires,
            "injected": injected,
            "schema_invalid": schema_invalid,
            "marks": marks,
            "unmatched_marks": unmatched,
            "lag": lag,
            "last_seq": self.last_committed,
            "generation": self.generation,
        }

    async def stats(self) -> dict[str, Any]:
        """Counts by event type and verdict, duplicates, marks, and lag percentiles (seconds)."""
        return await asyncio.to_thread(self._stats_sync)

    def _marks_sync(self, unmatched: bool, limit: int) -> list[dict[str, Any]]:
        sql = "SELECT event_type, ticket_id, message_id, action_at FROM marks m"
        if unmatched:
            sql += f" WHERE {_UNMATCHED}"
        sql += " ORDER BY action_at LIMIT ?"
        with self._read_lock:
            assert self._read is not None
            rows = self._read.execute(sql, (limit,)).fetchall()
        return [
            {"event_type": t, "ticket_id": ti, "message_id": mi, "action_at": a}
            for t, ti, mi, a in rows
        ]

    async def marks(
        self, *, unmatched: bool = False, limit: int = MAX_LIMIT
    ) -> list[dict[str, Any]]:
        """The marks (only those no accepted delivery matched yet, with ``unmatched``)."""
        return await asyncio.to_thread(self._marks_sync, unmatched, limit)


def public_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """An in-memory record as the event the query API returns (same shape as a stored row)."""
    return event_from_row(_row_of(record))


def now() -> tuple[float, float]:
    """Wall-clock and monotonic receive time."""
    return time.time(), time.monotonic()
