"""Every HTTP exchange the suite makes, kept for failure messages and the final sweeps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.core.redact import Redactor


@dataclass
class Exchange:
    """One request and what came back (secrets included: render it only through a Redactor)."""

    seq: int
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    started_at: float = 0.0  # wall clock, seconds since the epoch
    elapsed: float = 0.0
    identity: str | None = None  # "main", "other", ... or None when sent without a pooled key
    error: str | None = None  # a transport error instead of a response
    own_429: bool = False  # a 429 caused by the suite's own traffic, waited out and retried

    @property
    def text(self) -> str:
        return self.response_body.decode("utf-8", errors="replace")


# A failed check's exchanges are kept whole for its report, up to this much of each body.
RECORDED_BODY = 256 * 1024


def recorded(exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The exchange as the report keeps it (and replay re-sends it): every secret redacted."""

    def text(body: bytes | None) -> str | None:
        if body is None:
            return None
        return redactor.text(body[:RECORDED_BODY].decode("utf-8", errors="replace"))

    return {
        "seq": exchange.seq,
        "method": exchange.method,
        "url": redactor.text(exchange.url),
        "identity": exchange.identity,
        "request_headers": redactor.headers(exchange.request_headers),
        "request_body": text(exchange.request_body),
        "status": exchange.status,
        "response_headers": redactor.headers(exchange.response_headers),
        "response_body": text(exchange.response_body),
        "error": redactor.text(exchange.error) if exchange.error else None,
        "started_at": exchange.started_at,
    }


class ExchangeLog:
    """Thread-safe, append-only record of exchanges."""

    def __init__(self) -> None:
        self._items: list[Exchange] = []
        self._lock = threading.Lock()

    def new(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Exchange:
        with self._lock:
            exchange = Exchange(len(self._items) + 1, method, url, headers, body)
            self._items.append(exchange)
            return exchange

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def between(self, first: int, last: int) -> list[Exchange]:
        """The exchanges with ``first < seq <= last``."""
        with self._lock:
            return self._items[first:last]

    def by_identity(self) -> dict[str, int]:
        """How many requests went out per identity (``"none"`` for unpooled credentials)."""
        return dict(Counter(e.identity or "none" for e in self))

    def own_429s(self) -> int:
        return sum(1 for e in self if e.own_429)
