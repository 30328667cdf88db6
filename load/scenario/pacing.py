"""Every request goes through here: a key from this process's slice, paced, measured, errors named.

Latency goes into the collector's HDR histograms (intended-time corrected in the open model),
in-flight requests are counted, 429s are kept apart from errors, and every failure is named by
kind (``HTTP 503``, ``connection reset``, ``timeout``...) with a redacted curl of the first one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from json import loads
from typing import Any, NamedTuple

import gevent

from tixallo_qa.core.curl import curl
from tixallo_qa.core.ratelimit import KeyPool, Reservation, parse_retry_after
from tixallo_qa.core.redact import REDACTED, Redactor
from tixallo_qa.load.errors import BODY, BODY_LIMIT, kind_of
from tixallo_qa.load.scenario.collector import Collector

# A sample request shows the key as redacted whichever key of the pool sent it.
SAMPLE_HEADERS = {"Authorization": f"Bearer {REDACTED}", "Content-Type": "application/json"}

RATE_LIMITED = "429"  # the request type of 429 rows in locust's statistics
DETAIL = 200  # characters of an error answer kept with its sample


class Reply(NamedTuple):
    """What one request got (a tuple: built on every request, it costs a third of a dataclass)."""

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
        # One header dict per key (locust copies it per request): not one built per request.
        self._auth = {k: {"Authorization": f"Bearer {k}"} for k in keys}
        self._endpoints: dict[tuple[str, str], str] = {}

    def _endpoint(self, method: str, name: str) -> str:
        """``METHOD name``, the endpoint's name in every figure (built once per endpoint)."""
        endpoint = self._endpoints[method, name] = f"{method} {name}"
        return endpoint

    def spread(self, n: int) -> list[Reservation]:
        """Slots for ``n`` requests sent at once, over as many keys as the pool has."""
        return self.pool.reserve_spread(n)

    def call(
        self,
        client: Any,
        method: str,
        path: str,
        *,
        name: str,
        json: Any = None,
        intended: float | None = None,
        slot: Reservation | None = None,
        check: Callable[[Any], str | None] | None = None,
    ) -> Reply:
        """One request. With ``intended`` (a perf_counter instant) latency is measured from it.

        ``check`` looks at a 2xx answer's ``data`` and names what is wrong with it (None: it is
        as documented): such an answer is a failed request of the bad-body kind, like one that
        is not JSON at all.
        """
        slot = slot or self.pool.reserve()
        if slot.delay > 0:
            gevent.sleep(slot.delay)
        if intended is not None and time.perf_counter() - intended > self.late_threshold:
            self.collector.count("late")
        endpoint = self._endpoints.get((method, name)) or self._endpoint(method, name)
        collector = self.collector
        sent_at = time.time()
        headers = self._auth.get(slot.key) or {"Authorization": f"Bearer {slot.key}"}
        collector.started()
        try:
            with client.request(
                method, path, name=name, json=json, headers=headers, catch_response=True
            ) as resp:
                meta = resp.request_meta
                if intended is not None:
                    # Coordinated-omission correction: the user waited since the intended start.
                    meta["response_time"] = (time.perf_counter() - intended) * 1000.0
                acked_at = time.time()
                status = int(resp.status_code or 0)
                if status == 429:
                    if self.honour_retry_after:
                        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                        self.pool.penalize(slot.key, retry_after)
                    meta["request_type"] = RATE_LIMITED
                    resp.success()
                    collector.limited(endpoint)
                    return Reply(429, None, acked_at, sent_at)
                collector.answered(endpoint, float(meta.get("response_time") or 0.0), acked_at)
                if not 200 <= status < 300:
                    exception = meta.get("exception") if not status else None
                    text = self.redactor.text(
                        (resp.text or "")[:DETAIL] if status else str(exception or "no answer")
                    )
                    self._failed(
                        client,
                        endpoint,
                        kind_of(status, exception),
                        method,
                        path,
                        json,
                        acked_at,
                        text,
                    )
                    resp.failure(f"HTTP {status}: {text}")
                    return Reply(status, None, acked_at, sent_at)
                try:
                    # Parsed from the bytes (JSON is UTF-8): resp.json() would first guess a
                    # charset from the headers and decode a str copy of the whole body.
                    data = loads(resp.content)["data"]
                    problem = check(data) if check is not None else None
                except (ValueError, KeyError, TypeError):
                    problem = "the body is not {'data': ...}"
                if problem is not None:
                    self._failed(client, endpoint, BODY, method, path, json, acked_at, problem)
                    resp.failure(f"HTTP {status}: {problem}")
                    return Reply(status, None, acked_at, sent_at)
                resp.success()
                return Reply(status, data, acked_at, sent_at)
        finally:
            # A request cut off when the run stops (locust kills its users) counts for nothing.
            collector.ended()

    def _failed(
        self,
        client: Any,
        endpoint: str,
        kind: str,
        method: str,
        path: str,
        body: Any,
        at: float,
        detail: str,
    ) -> None:
        sample = None
        if self.collector.wants_sample(endpoint, kind):
            base = str(getattr(client, "base_url", "") or "")
            sample = curl(
                method, base + path, headers=SAMPLE_HEADERS, body=body,
                redactor=self.redactor, body_limit=BODY_LIMIT,
            )  # fmt: skip
        self.collector.failed(endpoint, kind, at, sample, detail)
