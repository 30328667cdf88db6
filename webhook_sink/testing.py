"""Pytest fixtures for the webhook sink: one in-process sink per session, cleared per test.

``webhook_sink`` yields a ``SinkFixture``: its ``url``, ``webhook_url``, ``secret`` and
``client`` (a ``SinkClient``), plus ``headers()``/``deliver()`` to act as a signing sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tixallo_qa.webhook_sink.client import SinkClient
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.server import SinkServer
from tixallo_qa.webhook_sink.verify import make_verifier

# A known secret for tests only; valid for every scheme ("whsec_" + base64 for Standard Webhooks).
TEST_SECRET = "whsec_dGl4YWxsby1xYSB0ZXN0IHNlY3JldCAwMTIzNDU2Nzg5"
# The query API's token of test sinks (a real sink makes a random one).
TEST_TOKEN = "tixallo-qa-test-sink-token-0123456789"
_numbers = itertools.count(1000)


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ticket_created(**overrides: Any) -> dict[str, Any]:
    """A ``ticket.created`` payload valid against the spec (fields overridable)."""
    payload = {
        "event_type": "ticket.created",
        "created_at": _now_rfc3339(),
        "ticket_id": str(uuid.uuid4()),
        "ticket_number": next(_numbers),
        "subject": "Webhook delivery delayed",
        "status": "new",
        "priority": "high",
        "source": "api",
        "customer_id": str(uuid.uuid4()),
    }
    payload.update(overrides)
    return payload


def message_created(**overrides: Any) -> dict[str, Any]:
    """A ``ticket.message.created`` payload valid against the spec (fields overridable)."""
    payload = {
        "event_type": "ticket.message.created",
        "created_at": _now_rfc3339(),
        "ticket_id": str(uuid.uuid4()),
        "ticket_number": next(_numbers),
        "message_id": str(uuid.uuid4()),
        "author_type": "customer",
        "body": "Thanks, could you share a screenshot?",
    }
    payload.update(overrides)
    return payload


def encode(payload: Any) -> bytes:
    """A payload as the bytes a sender posts (bytes and str pass through)."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


def sign_headers(
    config: SinkConfig,
    body: bytes,
    *,
    scheme: str | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
    delivery_id: str | None = None,
    event_type: str | None = None,
) -> dict[str, str]:
    """Every header a sender of ``scheme`` (default: the sink's) would send with ``body``."""
    signer = make_verifier(
        config.replace(
            scheme=scheme or config.scheme,
            secret=secret if secret is not None else (config.secret or ""),
        )
    )
    return signer.sign(body, delivery_id=delivery_id, event_type=event_type, timestamp=timestamp)


def raw_request(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """A complete HTTP/1.1 POST of ``body`` to ``url``, as bytes on the wire."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
    ]
    lines += [
        f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def post_concurrently(
    host: str, port: int, requests: list[bytes], connections: int
) -> tuple[float, list[float], list[int]]:
    """Send ``raw_request``s over ``connections`` keep-alive sockets at once: elapsed, latencies, statuses.

    Raw asyncio streams rather than an HTTP client library, so the sender is never the bottleneck.
    """
    pending = list(reversed(requests))
    latencies: list[float] = []
    statuses: list[int] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                request = pending.pop()
                started = time.perf_counter()
                writer.write(request)
                statuses.append(await read_status(reader))
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, len(requests))))))
    return time.perf_counter() - started, latencies, statuses


@dataclass
class SinkFixture:
    """A running sink seen from a test: where it is, its client, and a way to send to it."""

    server: SinkServer
    client: SinkClient
    http: httpx.Client = field(repr=False)

    @property
    def config(self) -> SinkConfig:
        return self.server.config

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def webhook_url(self) -> str:
        return self.server.webhook_url

    @property
    def secret(self) -> str:
        return self.config.secret or ""

    @property
    def token(self) -> str:
        return self.config.token or ""

    def auth(self) -> dict[str, str]:
        """The header the query API wants (empty when the sink runs without a token)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def headers(self, body: bytes, **kwargs: Any) -> dict[str, str]:
        """Signed headers for ``body`` (see ``sign_headers`` for the keyword arguments)."""
        return sign_headers(self.config, body, **kwargs)

    def deliver(
        self,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        drop: tuple[str, ...] = (),
        timeout: float = 10.0,
        **sign: Any,
    ) -> httpx.Response:
        """POST ``payload`` signed like a sender; ``headers`` override, ``drop`` removes headers."""
        body = encode(payload)
        if isinstance(payload, dict) and "event_type" not in sign:
            sign["event_type"] = payload.get("event_type")
        merged = {**self.headers(body, **sign), **(headers or {})}
        lowered = {d.lower() for d in drop}
        merged = {k: v for k, v in merged.items() if k.lower() not in lowered}
        return self.http.post(self.webhook_url, content=body, headers=merged, timeout=timeout)

    def clear(self) -> None:
        """Forget every record and any injected fault."""
        self.client.clear_faults()
        self.client.clear()


@contextlib.contextmanager
def start_sink(*, verify: ssl.SSLContext | bool = True, **config: Any) -> Iterator[SinkFixture]:
    """A sink on a free loopback port (temporary db, ``TEST_SECRET``, ``TEST_TOKEN``) for a block.

    ``token=None`` runs it without a token; ``verify`` is how its clients check an https sink.
    """
    values: dict[str, Any] = {"port": 0, "secret": TEST_SECRET, "token": TEST_TOKEN, **config}
    server = SinkServer(SinkConfig(**values)).start()
    try:
        with (
            SinkClient(server.url, token=server.config.token, verify=verify) as client,
            httpx.Client(trust_env=False, verify=verify) as http,
        ):
            yield SinkFixture(server, client, http)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def webhook_sink_server() -> Iterator[SinkFixture]:
    """One in-process sink for the whole session (scheme tixallo, ``TEST_SECRET``)."""
    with start_sink() as sink:
        yield sink


@pytest.fixture
def webhook_sink(webhook_sink_server: SinkFixture) -> SinkFixture:
    """The session's sink, cleared of records and faults for this test."""
    webhook_sink_server.clear()
    return webhook_sink_server
