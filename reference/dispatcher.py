"""Webhook delivery: a durable outbox written in the creating transaction, and an async sender."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import random
import secrets
import time
import uuid
from collections import deque
from datetime import datetime
from typing import Any

from tixallo_qa.core import signing, tls
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.core.ratelimit import parse_retry_after
from tixallo_qa.reference.faults import FaultSet
from tixallo_qa.reference.poster import Poster
from tixallo_qa.reference.store import Store, shift_ts

log = logging.getLogger("reference.dispatcher")

LATE_DELAY = 15.0  # seconds, the webhook-late fault
STALE_SKEW = 600  # seconds, the webhook-stale-timestamp fault
LOSS_RATE = 20  # deliveries per second, the load-webhook-loss fault
TAIL_DELAY = (2.0, 6.0)  # seconds, the load-webhook-tail-late fault (its share is the parameter)
VERY_LATE_DELAY = 15.0  # seconds, the load-webhook-very-late fault
BATCH = 200
MAX_RETRY_AFTER = 60.0  # seconds: the longest Retry-After of a receiver the dispatcher honours


def enqueue(
    store: Store, faults: FaultSet, workspace_id: str, payload: dict[str, Any], copies: int = 1
) -> int:
    """Queue the event ``payload`` (``core.events.payload``) ``copies`` times for every subscribed
    active endpoint of the workspace; returns the count.

    Call inside the transaction that creates the ticket or message, so a rolled-back request
    emits nothing and a committed one is never lost. ``copies`` > 1 only serves a load fault.
    """
    event_type = str(payload["event_type"])
    if event_type == TICKET_CREATED and faults.on("webhook-created-missing"):
        return 0
    if event_type == MESSAGE_CREATED and faults.on("webhook-message-missing"):
        return 0
    if faults.on("webhook-payload-wrong-value"):
        payload = {**payload, "ticket_number": payload["ticket_number"] + 1}
    if event_type == MESSAGE_CREATED and faults.on("webhook-author-agent"):
        payload = {**payload, "author_type": "agent"}
    if event_type == TICKET_CREATED and faults.on("webhook-timestamp-offset"):
        hours = faults.param("webhook-timestamp-offset", 1)
        payload = {**payload, "created_at": shift_ts(payload["created_at"], offset_hours=hours)}
    if event_type == MESSAGE_CREATED and faults.on("webhook-body-html-escaped"):
        payload = {**payload, "body": html.escape(str(payload["body"]), quote=False)}
    if event_type == TICKET_CREATED and faults.on("webhook-subject-trimmed"):
        payload = {**payload, "subject": payload["subject"].strip()}
    if (
        event_type == TICKET_CREATED
        and payload.get("priority") == "urgent"
        and faults.on("webhook-urgent-as-high")
    ):
        payload = {**payload, "priority": "high"}
    body: dict[str, Any] = payload
    if faults.on("webhook-payload-nested"):
        data = {k: v for k, v in payload.items() if k != "event_type"}
        body = {"event_type": event_type, "created_at": payload["created_at"], "data": data}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    scope = None if faults.on("webhook-cross-workspace") else workspace_id
    at = time.time() + (LATE_DELAY if faults.on("webhook-late") else 0.0)
    share = random.random()
    if faults.on("load-webhook-tail-late") and share < faults.param("load-webhook-tail-late", 0.02):
        at += random.uniform(*TAIL_DELAY)
    if faults.on("load-webhook-very-late") and share < faults.param("load-webhook-very-late", 0.01):
        at += VERY_LATE_DELAY
    copies *= 2 if faults.on("webhook-double-fire") else 1
    count = 0
    for endpoint_id in store.subscribed_endpoints(scope, event_type):
        for _ in range(copies):
            delivery_id = None
            if faults.on("webhook-delivery-id-not-uuid"):
                delivery_id = f"dlv_{secrets.token_hex(12)}"
            if faults.on("webhook-delivery-id-per-ticket"):
                # Derived from the ticket, not the event: every event of a ticket shares it.
                delivery_id = str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{endpoint_id}/{payload['ticket_id']}")
                )
            if faults.on("webhook-delivery-id-unhyphenated"):
                delivery_id = uuid.uuid4().hex
            if faults.on("webhook-delivery-id-per-second"):
                # Derived from the event's second: events created in the same second share it.
                second = str(payload["created_at"])[:19]
                delivery_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{endpoint_id}/{second}"))
            store.enqueue(endpoint_id, event_type, text, at, delivery_id)
            count += 1
    return count


class Dispatcher:
    """Sends due outbox rows from the server's event loop; woken at once when a request commits."""

    def __init__(
        self,
        store: Store,
        *,
        timeout: float = 10.0,
        retries: tuple[float, ...] = (1.0, 5.0, 25.0),
        faults: FaultSet | None = None,
        concurrency: int = 64,
        scheme: str = signing.DEFAULT,
        ca_bundle: str | None = None,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.retries = retries
        self.faults = faults or FaultSet()
        self.scheme = signing.get(scheme)
        self.ca_bundle = ca_bundle
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._client: Poster | None = None
        self._recent: deque[float] = deque()

    def wake(self) -> None:
        """Something was queued or rescheduled: look at the outbox now."""
        self._wake.set()

    async def start(self) -> None:
        # No proxy from the environment ever sees a delivery; an https receiver is verified
        # against the configured bundle (TIXALLO_CA_BUNDLE).
        self._client = Poster(timeout=self.timeout, context=tls.client_context(self.ca_bundle))
        # Deliveries pending when the last process stopped are due now: at least once.
        self.store.release_leases(time.time())
        self._runner = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop sending; unsent deliveries stay pending in the outbox for the next start."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        lease = self.timeout + 30.0
        while True:
            self._wake.clear()
            now = time.time()
            rows = self.store.claim_due(now, now + lease, BATCH)
            for row in rows:
                task = asyncio.create_task(self._deliver(row))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if len(rows) == BATCH:
                await asyncio.sleep(0)
                continue
            next_due = self.store.next_due()
            wait = None if next_due is None else max(0.0, next_due - time.time())
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def _dropped_by_load_fault(self, rate: float) -> bool:
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= rate:
            return True
        # Only sent deliveries fill the window, so exactly the excess over the rate is lost.
        self._recent.append(now)
        return False

    async def _deliver(self, row: tuple[Any, ...]) -> None:
        seq, delivery_id, event_type, payload, attempts, url, secret = row
        if self.faults.on("load-webhook-loss") and self._dropped_by_load_fault(
            self.faults.param("load-webhook-loss", LOSS_RATE)
        ):
            self.store.mark_delivered(seq, None)
            return
        async with self._slots:
            status: int | None = None
            error: str | None = None
            timed_out = False
            wait = 0.0
            try:
                body = payload.encode()
                if self.faults.on("load-webhook-cut") and not seq % int(
                    self.faults.param("load-webhook-cut", 40)
                ):
                    body = body[: len(body) // 2]  # signed as cut: only the JSON is broken
                status, wait = await self._post(
                    url, secret, event_type, delivery_id, body, retry=attempts > 0
                )
            except (
                Exception
            ) as exc:  # any failure to deliver (refused, timeout, bad URL) is retried
                error = f"{type(exc).__name__}: {exc}"[:500]
                timed_out = isinstance(exc, TimeoutError)
        if status is not None and 200 <= status < 300:
            self.store.mark_delivered(seq, status)
            return
        attempt = attempts + 1  # attempts made so far, this one included
        gave_up = (
            status is not None and 400 <= status < 500 and self.faults.on("webhook-no-retry-on-4xx")
        ) or (timed_out and self.faults.on("webhook-no-retry-on-timeout"))
        if attempt > len(self.retries) or gave_up:
            self.store.mark_failed(seq, status, error)
            log.warning("webhook %s to %s failed after %d attempts", delivery_id, url, attempt)
            return
        new_id = str(uuid.uuid4()) if self.faults.on("webhook-retry-new-id") else None
        # A busy receiver's Retry-After is a floor under the backoff, never a reason to hurry.
        delay = max(self.retries[attempt - 1], min(wait, MAX_RETRY_AFTER))
        self.store.mark_retry(seq, time.time() + delay, status, error, new_id)
        self.wake()

    async def _post(
        self,
        url: str,
        secret: str,
        event_type: str,
        delivery_id: str,
        body: bytes,
        *,
        retry: bool = False,
    ) -> tuple[int, float]:
        """POST one delivery: its status, and the seconds a 429/503's Retry-After asks for."""
        assert self._client is not None
        ts = int(time.time())
        if self.faults.on("webhook-stale-timestamp"):
            ts -= STALE_SKEW
        if self.faults.on("webhook-timestamp-ms"):
            ts = int(time.time() * 1000)
        if self.faults.on("webhook-timestamp-event-time"):
            # The event's time, not this attempt's: a retry carries the first attempt's time.
            with contextlib.suppress(ValueError, KeyError, TypeError):
                created = json.loads(body)["created_at"].replace("Z", "+00:00")
                ts = int(datetime.fromisoformat(created).timestamp())
        signer = self.scheme(secret)
        # The bad-signature fault signs other bytes than it sends (one more byte at the end).
        signed = body + b" " if self.faults.on("webhook-bad-signature") else body
        if self.faults.on("webhook-signed-ascii-escaped"):
            # Signs a re-serialisation (ASCII-escaped), sends the stored UTF-8 text.
            with contextlib.suppress(ValueError):
                signed = json.dumps(json.loads(body), separators=(",", ":")).encode()
        headers = signer.sign(signed, delivery_id=delivery_id, event_type=event_type, timestamp=ts)
        if retry and self.faults.on("webhook-retry-headers-dropped"):
            headers.pop("X-Tixallo-Event", None)
        status, answer = await self._client.post(url, body, headers)
        wait = 0.0
        if status in (429, 503):
            wait = parse_retry_after(answer.get("retry-after"), default=0.0)
        return status, wait
