"""The sink with some of its measured fixes undone: ``python -m bench._sink_before <sink flags>``.

``BENCH_UNDO`` names what to undo (comma-separated; ``none`` undoes nothing):

- ``schema``: validate every delivery with jsonschema's ``iter_errors`` again (no jsonschema_rs
  fast path);
- ``gil``: keep CPython's default 5 ms switch interval;
- ``index``: the six indexes of before (delivery_id, logical_key and message_id on every row);
- ``encode``: the row encoding of before (``json.dumps`` of every payload and error list);
- ``queue``: the group commit fed through an ``asyncio.Queue`` (put, get, task_done per op);
- ``proxy``: uvicorn's X-Forwarded-* middleware around every request.

sink_ingest runs these beside the current sink, so each fix's before/after is measured in the
same run. The undone pieces are the previous code, kept here rather than in the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from tixallo_qa.webhook_sink import app, payloads, server, store
from tixallo_qa.webhook_sink.__main__ import main
from tixallo_qa.webhook_sink.delivery import Delivery

UNDO_ALL = "schema,gil,index,encode,queue,proxy"

_OLD_INDEXES = """
CREATE INDEX IF NOT EXISTS events_type ON events(event_type, seq);
CREATE INDEX IF NOT EXISTS events_ticket ON events(ticket_id);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
CREATE INDEX IF NOT EXISTS events_delivery ON events(delivery_id);
CREATE INDEX IF NOT EXISTS events_logical ON events(logical_key);
CREATE INDEX IF NOT EXISTS events_verdict ON events(verdict);
"""


def _old_row(d: Delivery) -> tuple[Any, ...]:
    return (
        d.seq,
        d.verdict,
        d.status,
        d.received_at,
        d.received_monotonic,
        json.dumps(d.headers),
        d.body,
        d.body_size,
        None if d.payload is None else json.dumps(d.payload),
        d.event_type,
        d.delivery_id,
        d.ticket_id,
        d.message_id,
        d.logical_key,
        json.dumps(d.schema_errors),
        int(d.retry),
        int(d.double_fire),
        int(d.injected),
        d.lag,
        d.detail,
    )


class _QueueStore(store.Store):
    """The group commit as it was: one asyncio.Queue item per op."""

    async def open(self) -> None:
        self._queue: asyncio.Queue[store._Op] = asyncio.Queue()
        await super().open()

    async def close(self) -> None:
        if self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await super().close()

    async def _submit(self, kind: str, data: Any) -> None:
        if self._writer is None:
            raise store.StoreError("the store is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(store._Op(kind, data, future))
        await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                self._apply(batch)
                await loop.run_in_executor(self._executor, self._commit)
            except Exception as exc:
                self._rollback()
                error = store.StoreError(f"could not store {len(batch)} records: {exc}")
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
            finally:
                for _ in batch:
                    self._queue.task_done()


def undo(names: set[str]) -> None:
    """Patch the sink modules."""
    if "schema" in names:
        payloads._fast_validator = lambda event_type: None  # type: ignore[assignment]
    if "gil" in names:
        server.SWITCH_INTERVAL = sys.getswitchinterval()
    if "index" in names:
        lean = [line for line in store._SCHEMA.splitlines() if "CREATE INDEX" not in line]
        store._SCHEMA = "\n".join(lean) + _OLD_INDEXES
        store._MIGRATE = ""
    if "encode" in names:
        Delivery.row = _old_row  # type: ignore[method-assign]
    if "queue" in names:
        app.Store = _QueueStore  # type: ignore[misc]
    if "proxy" in names:
        server.PROXY_HEADERS = True


if __name__ == "__main__":
    names = {u.strip() for u in os.environ.get("BENCH_UNDO", UNDO_ALL).split(",")}
    undo(names)
    sys.exit(main())
