"""The durable record of deliveries: SQLite in WAL mode, one writer thread, group commit.

Requests hand their record to the writer and await the commit of the batch it lands in, so an
answered delivery is on disk; while one batch commits the next one fills, which is what lets a
single writer keep up with thousands of deliveries a second. Retry, double-fire and lag flags are
decided on the event loop at arrival, so they follow arrival order exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tixallo_qa.core import events
from tixallo_qa.core.histogram import percentile
from tixallo_qa.webhook_sink.arrivals import Arrivals
from tixallo_qa.webhook_sink.delivery import COLUMNS, Delivery, row_to_json
from tixallo_qa.webhook_sink.index import KEYED, SeqIndex
from tixallo_qa.webhook_sink.query import Filter

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
# Only indexes that append (event_type + seq, verdict, message_id where set): lookups by
# ticket_id, delivery_id and logical_key go through webhook_sink.index instead. Files of earlier
# versions lose the indexes no longer used.
_MIGRATE = """
DROP INDEX IF EXISTS events_ticket;
DROP INDEX IF EXISTS events_message;
DROP INDEX IF EXISTS events_delivery;
DROP INDEX IF EXISTS events_logical;
"""
_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
MAX_LIMIT = 10_000
# A mark no accepted delivery matched. logical_key has no index (see _MIGRATE): NOT IN reads the
# accepted keys once into a temporary b-tree, where a correlated NOT EXISTS would scan per mark.
_UNMATCHED = (
    "m.logical_key NOT IN (SELECT logical_key FROM events WHERE logical_key IS NOT NULL "
    "AND verdict = 'valid' AND status BETWEEN 200 AND 299)"
)


class StoreError(RuntimeError):
    """The store could not commit a record (disk full, file removed, closed)."""


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
        self.arrivals = Arrivals()
        self.index = SeqIndex()
        self.generation = 0
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
        next_seq = max(max_seq + 1, meta.get("next_seq", 1))
        self.last_committed = next_seq - 1
        self.generation = meta.get("generation", 0)
        rows = c.execute(
            "SELECT seq, ticket_id, delivery_id, logical_key, verdict FROM events ORDER BY seq"
        ).fetchall()
        for seq, ticket_id, delivery_id, key, _ in rows:
            self.index.add(seq, ticket_id, delivery_id, key)
        marks = dict(c.execute("SELECT logical_key, action_at FROM marks").fetchall())
        self.arrivals.load(((s, d, k, v) for s, _, d, k, v in rows), marks, next_seq)

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
    def prepare(self, delivery: Delivery) -> Delivery:
        """Judge ``delivery`` on arrival (its seq, retry, double fire, lag) and index it."""
        self.arrivals.judge(delivery)
        self.index.add(delivery.seq, delivery.ticket_id, delivery.delivery_id, delivery.logical_key)
        return delivery

    async def add(self, delivery: Delivery) -> None:
        """Commit a prepared delivery; returns once it is durable."""
        await self._submit("insert", delivery)

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
            self.arrivals.mark(key, action_at)
            # Deliveries that arrived before their mark (queued ones included) get their lag now.
            lags += [(action_at, seq, key) for seq in self.index.lookup("logical_key", key)]
        await self._submit("marks", (rows, lags))
        return len(rows)

    async def clear(self) -> None:
        """Forget every event and mark (seq ids keep increasing, so pollers never see one twice)."""
        self.arrivals.clear()
        self.index.clear()
        self.generation += 1
        await self._submit("clear", (self.arrivals.next_seq, self.generation))

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
                    self.last_committed = max(self.last_committed, committed[-1].seq)
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
                rows.append(op.data.row())
                continue
            if rows:
                conn.executemany(_INSERT, rows)
                rows = []
            if op.kind == "marks":
                marks, lags = op.data
                conn.executemany("INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?)", marks)
                # core.events.lag: a delivery that beat its mark counts as 0.
                conn.executemany(
                    "UPDATE events SET lag = MAX(0, received_at - ?) WHERE seq = ? AND logical_key = ?",
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

    def _notify(self, records: list[Delivery]) -> None:
        if self._waiters:
            events = [r.to_json() for r in records]
            for waiter in list(self._waiters):
                for event in events:
                    if waiter.filter.matches(event):
                        waiter.found[event["seq"]] = event
                if len(waiter.found) >= waiter.count:
                    waiter.ready.set()

    # -- reading ---------------------------------------------------------------------------
    def _query_sync(
        self, flt: Filter, limit: int, descending: bool, seqs: list[int] | None = None
    ) -> list[dict[str, Any]]:
        where, args = flt.sql(seqs)
        order = "DESC" if descending else "ASC"
        sql = f"SELECT {', '.join(COLUMNS)} FROM events{where} ORDER BY seq {order}"
        found: list[dict[str, Any]] = []
        with self._read_lock:
            assert self._read is not None
            for row in self._read.execute(sql, args):
                event = row_to_json(row)
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
        for column in KEYED:
            if column in flt.fields:
                # Not indexed in SQL: the derived-key map names the candidate rows (read here,
                # on the loop that changes it). Every stored value is in the map.
                found = self.index.lookup(column, flt.fields[column])
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
