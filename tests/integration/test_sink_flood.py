"""An exposed sink under a flood: it answers 503 with Retry-After (or 408 for a trickled body), never drops.

Slots are held deterministically by senders that stop halfway through a body (the sink starts
handling a delivery once its headers are in), so no test depends on how fast anything runs.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

import pytest

from tixallo_qa.webhook_sink.testing import (
    SinkFixture,
    encode,
    raw_request,
    read_status,
    start_sink,
    ticket_created,
)

pytestmark = pytest.mark.integration

# Bounds a hang, never a speed: every wait below ends as soon as its condition holds.
HANG = 60.0


def _signed(sink: SinkFixture, delivery_id: str | None = None) -> bytes:
    payload = ticket_created()
    body = encode(payload)
    headers = sink.headers(
        body, delivery_id=delivery_id or str(uuid.uuid4()), event_type=payload["event_type"]
    )
    return raw_request(sink.webhook_url, body, headers)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.decode().strip().lower()] = value.decode().strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head.split(b" ", 2)[1]), headers, body


@dataclass
class Holder:
    """A sender stopped halfway through its body: the sink holds a slot for it until it finishes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    rest: bytes

    @classmethod
    async def start(cls, sink: SinkFixture, source: str = "127.0.0.1") -> Holder:
        request = _signed(sink)
        split = request.index(b"\r\n\r\n") + 4 + 10  # the headers and the body's first 10 bytes
        reader, writer = await asyncio.open_connection(
            sink.config.host, sink.config.port, local_addr=(source, 0)
        )
        writer.write(request[:split])
        await writer.drain()
        return cls(reader, writer, request[split:])

    async def finish(self) -> int:
        self.writer.write(self.rest)
        status = await read_status(self.reader)
        self.writer.close()
        return status


async def _wait_until_handled(sink: SinkFixture, count: int) -> None:
    """Until the sink holds ``count`` deliveries in hand (its own counter, read in its loop)."""
    deadline = asyncio.get_running_loop().time() + HANG
    while sink.server.app.inflight < count:
        assert asyncio.get_running_loop().time() < deadline, "the holders never reached the sink"
        await asyncio.sleep(0.01)


async def _post(sink: SinkFixture, source: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(
        sink.config.host, sink.config.port, local_addr=(source, 0)
    )
    writer.write(_signed(sink))
    try:
        return await _read_response(reader)
    finally:
        writer.close()


def test_a_busy_client_address_gets_503_with_retry_after_and_others_still_get_through() -> None:
    async def scenario(sink: SinkFixture) -> None:
        holders = [await Holder.start(sink) for _ in range(2)]
        await _wait_until_handled(sink, 2)
        status, headers, body = await _post(sink)
        assert status == 503 and headers["retry-after"] == "1"
        assert headers["connection"] == "close"
        assert "from your address" in json.loads(body)["error"]
        # Another address still has room under the overall limit.
        other, _, _ = await _post(sink, source="127.0.0.2")
        assert other == 200
        assert [await h.finish() for h in holders] == [200, 200]
        # The refused delivery was not recorded; its retry is, like any first delivery.
        retried, _, _ = await _post(sink)
        assert retried == 200

    with start_sink(max_inflight=3, max_inflight_per_client=2) as sink:
        asyncio.run(asyncio.wait_for(scenario(sink), HANG))
        assert sink.client.stats()["total"] == 4
        assert sink.client.health()["refused"] == {"busy": 1, "slow_body": 0}


def test_a_full_sink_answers_503_to_every_address() -> None:
    async def scenario(sink: SinkFixture) -> None:
        holders = [await Holder.start(sink, "127.0.0.1"), await Holder.start(sink, "127.0.0.2")]
        await _wait_until_handled(sink, 2)
        status, headers, body = await _post(sink, source="127.0.0.3")
        assert status == 503 and headers["retry-after"] == "1"
        assert "from your address" not in json.loads(body)["error"]
        assert [await h.finish() for h in holders] == [200, 200]

    with start_sink(max_inflight=2) as sink:
        asyncio.run(asyncio.wait_for(scenario(sink), HANG))
        assert sink.client.stats()["total"] == 2


def test_a_trickled_body_is_answered_408_and_frees_its_slot() -> None:
    async def scenario(sink: SinkFixture) -> None:
        holder = await Holder.start(sink)
        # No more bytes come: the sink gives up on the body after body_timeout and says so.
        status, headers, _ = await asyncio.wait_for(_read_response(holder.reader), HANG)
        assert status == 408 and headers["connection"] == "close"
        holder.writer.close()
        assert (await _post(sink))[0] == 200

    with start_sink(body_timeout=0.3, max_inflight=1) as sink:
        asyncio.run(asyncio.wait_for(scenario(sink), HANG))
        assert sink.client.stats()["total"] == 1
        assert sink.client.health()["refused"] == {"busy": 0, "slow_body": 1}


@dataclass
class FloodFigures:
    sent: int = 0
    attempts: int = 0
    refused: int = 0
    refused_without_retry_after: int = 0
    other: list[int] = field(default_factory=list)


def test_a_flood_is_answered_503_then_retried_and_nothing_is_lost() -> None:
    """Many senders at once while the sink's slots are held: every delivery ends up recorded once."""
    deliveries, connections, slots = 600, 40, 8
    figures = FloodFigures()

    async def send_one(sink: SinkFixture, request: bytes) -> None:
        # A well-behaved sender: on 503 wait Retry-After and send the same delivery again.
        while True:
            figures.attempts += 1
            reader, writer = await asyncio.open_connection(sink.config.host, sink.config.port)
            writer.write(request)
            try:
                status, headers, _ = await _read_response(reader)
            finally:
                writer.close()
            if status == 200:
                return
            if status != 503:
                figures.other.append(status)
                return
            figures.refused += 1
            if "retry-after" not in headers:
                figures.refused_without_retry_after += 1
            await asyncio.sleep(float(headers.get("retry-after", "1")))

    async def scenario(sink: SinkFixture) -> list[str]:
        ids = [str(uuid.uuid4()) for _ in range(deliveries)]
        requests = [_signed(sink, i) for i in ids]
        figures.sent = len(requests)
        holders = [await Holder.start(sink) for _ in range(slots)]
        await _wait_until_handled(sink, slots)
        queue = list(reversed(requests))

        async def worker() -> None:
            while queue:
                await send_one(sink, queue.pop())

        flood = [asyncio.create_task(worker()) for _ in range(connections)]
        # While every slot is held, each attempt is refused; then the holders finish.
        deadline = asyncio.get_running_loop().time() + HANG
        while figures.refused < connections:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert [await h.finish() for h in holders] == [200] * slots
        await asyncio.gather(*flood)
        return ids

    with start_sink(max_inflight=slots, max_inflight_per_client=slots) as sink:
        ids = asyncio.run(asyncio.wait_for(scenario(sink), HANG * 3))
        recorded = sink.client.events(limit=10_000)
        refused = sink.client.health()["refused"]["busy"]
    print(
        f"flood: {figures.sent} deliveries over {connections} connections, {figures.attempts} attempts, "
        f"{figures.refused} answered 503 (sink counted {refused}), {len(recorded)} recorded"
    )
    assert figures.other == [] and figures.refused_without_retry_after == 0
    assert figures.refused >= connections and refused == figures.refused
    by_id = [e.delivery_id for e in recorded if e.delivery_id in set(ids)]
    # Every delivery arrived, exactly once (a 503 is never recorded, so no retry flag either).
    assert sorted(by_id) == sorted(ids)
    assert all(e.valid and not e.retry for e in recorded)
