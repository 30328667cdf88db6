"""Every request goes through here: a key from this process's slice, paced, 429s kept apart from errors."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gevent

from tixallo_qa.core.ratelimit import KeyPool, parse_retry_after
from tixallo_qa.core.redact import Redactor
from tixallo_qa.load.scenario.collector import Collector

RATE_LIMITED = "429"  # the request type of 429 rows in locust's statistics


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any  # the response's "data" on a 2xx, else None
    acked_at: float  # wall clock when the answer arrived
    sent_at: float


class Pacer:
    """Sends requests on a ``FastHttpSession`` with per-key pacing over this process's keys."""

    def __init__(
        self,
        keys: Sequence[str],
        rate_limit: int,
        late_threshold: float,
        collector: Collector,
        secrets: Sequence[str],
        *,
        honour_retry_after: bool = True,
    ) -> None:
        self.pool = KeyPool(keys, rate_limit)
        self.late_threshold = late_threshold
        self.collector = collector
        self.redactor = Redactor(secrets)
        self.honour_retry_after = honour_retry_after

    def call(
        self,
        client: Any,
        method: str,
        path: str,
        *,
        name: str,
        json: Any = None,
        intended: float | None = None,
    ) -> Reply:
        """One request. With ``intended`` (a perf_counter instant) latency is measured from it."""
        slot = self.pool.reserve()
        if slot.delay > 0:
            gevent.sleep(slot.delay)
        if intended is not None and time.perf_counter() - intended > self.late_threshold:
            self.collector.count("late")
        sent_at = time.time()
        headers = {"Authorization": f"Bearer {slot.key}"}
        with client.request(
            method, path, name=name, json=json, headers=headers, catch_response=True
        ) as resp:
            if intended is not None:
                # Coordinated-omission correction: the user waited since the intended start.
                resp.request_meta["response_time"] = (time.perf_counter() - intended) * 1000.0
            acked_at = time.time()
            status = int(resp.status_code or 0)
            if status == 429:
                if self.honour_retry_after:
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    self.pool.penalize(slot.key, retry_after)
                resp.request_meta["request_type"] = RATE_LIMITED
                resp.success()
                return Reply(429, None, acked_at, sent_at)
            if not 200 <= status < 300:
                text = self.redactor.text(
                    (resp.text or "")[:120]
                    if status
                    else str(resp.request_meta.get("exception") or "no answer")
                )
                resp.failure(f"HTTP {status}: {text}")
                return Reply(status, None, acked_at, sent_at)
            try:
                data = resp.json()["data"]
            except (ValueError, KeyError, TypeError):
                resp.failure(f"HTTP {status}: the body is not {{'data': ...}}")
                return Reply(status, None, acked_at, sent_at)
            resp.success()
            return Reply(status, data, acked_at, sent_at)
