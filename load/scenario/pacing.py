"""Every request goes through here: a key from this process's slice, paced, measured, errors named.

Latency goes into the collector's HDR histograms (intended-time corrected in the open model),
in-flight requests are counted, 429s are kept apart from errors, and every failure is named by
kind (``HTTP 503``, ``connection reset``, ``timeout``...) with a redacted curl of the first one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from json import dumps, loads
from time import perf_counter
from typing import Any, NamedTuple

import gevent

from tixallo_qa.core.curl import curl
from tixallo_qa.core.ratelimit import KeyPool, Reservation, parse_retry_after
from tixallo_qa.core.redact import REDACTED, Redactor
from tixallo_qa.load.errors import BODY, BODY_LIMIT, kind_of
from tixallo_qa.load.scenario.collector import Collector
from tixallo_qa.load.scenario.wire import Answer, Wire

# A sample request shows the key as redacted whichever key of the pool sent it.
SAMPLE_HEADERS = {"Authorization": f"Bearer {REDACTED}", "Content-Type": "application/json"}

RATE_LIMITED = "429"  # the request type of 429 rows in locust's statistics
DETAIL = 200  # characters of an error answer kept with its sample


class RequestFailed(Exception):
    """How a failed request stands in locust's statistics: ``HTTP 503: ...`` and the like."""


class Reply(NamedTuple):
    """What one request got (a tuple: built on every request, it costs a third of a dataclass)."""

    status: int
    data: Any  # the response's "data" on a 2xx, else None
    acked_at: float  # wall clock when the answer arrived
    sent_at: float


class Pacer:
    """Sends requests on a ``Wire`` with per-key pacing over this process's keys.

    Every request is reported to locust's statistics too (``report``: locust's request event,
    given by the locustfile), under the names and types ``FastHttpSession`` reported them by.
    """

    def __init__(
        self,
        keys: Sequence[str],
        rate_limit: int,
        late_threshold: float,
        collector: Collector,
        secrets: Sequence[str],
        *,
        honour_retry_after: bool = True,
        report: Callable[..., Any] | None = None,
    ) -> None:
        self.pool = KeyPool(keys, rate_limit)
        self.late_threshold = late_threshold
        self.collector = collector
        self.redactor = Redactor(secrets)
        self.honour_retry_after = honour_retry_after
        # The headers of a read and of a write, one dict per key: not built per request.
        self._reads = {k: self._headers(k, False) for k in keys}
        self._writes = {k: self._headers(k, True) for k in keys}
        self._endpoints: dict[tuple[str, str], str] = {}
        self._fire = report or (lambda **_: None)

    @staticmethod
    def _headers(key: str, body: bool) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def _report(
        self, kind: str, name: str, ms: float, size: int, failure: BaseException | None
    ) -> None:
        """One request into locust's own statistics (its CSV, HTML and console)."""
        self._fire(
            request_type=kind, name=name, response_time=ms, response_length=size,
            exception=failure, context={},
        )  # fmt: skip

    def _endpoint(self, method: str, name: str) -> str:
        """``METHOD name``, the endpoint's name in every figure (built once per endpoint)."""
        endpoint = self._endpoints[method, name] = f"{method} {name}"
        return endpoint

    def spread(self, n: int) -> list[Reservation]:
        """Slots for ``n`` requests sent at once, over as many keys as the pool has."""
        return self.pool.reserve_spread(n)

    def call(
        self,
        client: Wire,
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
        if intended is not None and perf_counter() - intended > self.late_threshold:
            self.collector.count("late")
        endpoint = self._endpoints.get((method, name)) or self._endpoint(method, name)
        collector = self.collector
        body = None if json is None else dumps(json).encode()
        headers = (self._writes if body is not None else self._reads).get(slot.key) or (
            self._headers(slot.key, body is not None)
        )
        sent_at = time.time()
        begun = perf_counter()
        collector.started()
        try:
            try:
                answer: Answer | None = client.send(method, path, body, headers)
                error: BaseException | None = None
            except Exception as exc:  # no answer at all: reset, refused, timed out, not HTTP
                answer, error = None, exc
            # Coordinated-omission correction: an open-model user waited since the intended start.
            ms = (perf_counter() - (begun if intended is None else intended)) * 1000.0
            acked_at = time.time()
            status = answer.status if answer is not None else 0
            size = len(answer.content) if answer is not None else 0
            if status == 429:
                assert answer is not None
                if self.honour_retry_after:
                    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
                    self.pool.penalize(slot.key, retry_after)
                self._report(RATE_LIMITED, name, ms, size, None)
                collector.limited(endpoint)
                return Reply(429, None, acked_at, sent_at)
            collector.answered(endpoint, ms, acked_at)
            if answer is None or not 200 <= status < 300:
                text = self.redactor.text(
                    answer.text[:DETAIL] if answer is not None else str(error or "no answer")
                )
                self._failed(
                    client, endpoint, kind_of(status, error), method, path, json, acked_at, text
                )
                self._report(method, name, ms, size, RequestFailed(f"HTTP {status}: {text}"))
                return Reply(status, None, acked_at, sent_at)
            try:
                # Parsed from the bytes (JSON is UTF-8): no str copy of the whole body first.
                data = loads(answer.content)["data"]
                problem = check(data) if check is not None else None
            except (ValueError, KeyError, TypeError):
                problem = "the body is not {'data': ...}"
            if problem is not None:
                self._failed(client, endpoint, BODY, method, path, json, acked_at, problem)
                self._report(method, name, ms, size, RequestFailed(f"HTTP {status}: {problem}"))
                return Reply(status, None, acked_at, sent_at)
            self._report(method, name, ms, size, None)
            return Reply(status, data, acked_at, sent_at)
        finally:
            # A request cut off when the run stops (locust kills its users) counts for nothing.
            collector.ended()

    def _failed(
        self,
        client: Wire,
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
            sample = curl(
                method, client.base_url + path, headers=SAMPLE_HEADERS, body=body,
                redactor=self.redactor, body_limit=BODY_LIMIT,
            )  # fmt: skip
        self.collector.failed(endpoint, kind, at, sample, detail)
