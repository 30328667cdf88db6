"""Every HTTP exchange the suite makes, kept for failure messages and the final sweeps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field


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

    def by_identity(self) -> dict[str, int]:
        """How many requests went out per identity (``"none"`` for unpooled credentials)."""
        return dict(Counter(e.identity or "none" for e in self))

    def own_429s(self) -> int:
        return sum(1 for e in self if e.own_429)
