"""A few paced requests per key: does it authenticate, and to which workspace."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tixallo_qa.core import tls
from tixallo_qa.core.ratelimit import KeyPool, parse_retry_after
from tixallo_qa.core.redact import fingerprint

# Tickets listed per key to fingerprint its workspace: enough overlap between two listings
# even when a few tickets are created in between.
FINGERPRINT_LIMIT = 10


@dataclass
class Answer:
    """What one request got: a status and JSON body, or the error that prevented it."""

    status: int | None = None
    body: Any = None
    retry_after: float | None = None
    error: str | None = None
    content_type: str = ""

    @property
    def ids(self) -> frozenset[str]:
        """The ticket ids of a list answer."""
        data = self.body.get("data") if isinstance(self.body, dict) else None
        if not isinstance(data, list):
            return frozenset()
        return frozenset(str(t["id"]) for t in data if isinstance(t, dict) and "id" in t)


@dataclass
class Api:
    """Paced requests to the target: never more than the per-key limit, whatever the pool."""

    base_url: str
    keys: Sequence[str]
    rate_limit: int
    timeout: float
    ca_bundle: str | None = None
    sent: int = 0
    _pool: KeyPool = field(init=False)
    _client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self._pool = KeyPool(list(self.keys) or ["-"], self.rate_limit)
        self._client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            verify=tls.client_context(self.ca_bundle),
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, key: str | None, json: Any = None) -> Answer:
        if key is not None:
            reservation = self._pool.reserve(key) if key in self._pool.keys else None
            if reservation is not None and reservation.delay > 0:
                time.sleep(
                    reservation.delay
                )  # pacing to the per-key limit, not a wait for a condition
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        self.sent += 1
        try:
            response = self._client.request(
                method, self.base_url.rstrip("/") + path, headers=headers, json=json
            )
        except httpx.TimeoutException:
            return Answer(error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Answer(error=type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        answer = Answer(
            status=response.status_code, content_type=response.headers.get("content-type", "")
        )
        try:
            answer.body = response.json()
        except ValueError:
            answer.body = None
        if response.status_code == 429:
            answer.retry_after = parse_retry_after(response.headers.get("retry-after"))
            if key is not None and key in self._pool.keys:
                self._pool.penalize(key, answer.retry_after)
        return answer

    def list_tickets(self, key: str) -> Answer:
        return self.request("GET", f"/tickets?limit={FINGERPRINT_LIMIT}", key)


def key_label(name: str, key: str, index: int | None = None, of: int = 1) -> str:
    """``TIXALLO_API_KEY #2 (key:1a2b3c4d)``: which key, never the key."""
    number = f" #{index + 1}" if index is not None and of > 1 else ""
    return f"{name}{number} ({fingerprint(key)})"


def same_workspace(a: frozenset[str], b: frozenset[str]) -> bool | None:
    """Two listings come from one workspace when they share a ticket; None when it cannot be told."""
    if not a or not b:
        return None
    return bool(a & b)
