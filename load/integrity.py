"""Integrity under load: distinct ticket numbers, and a sample of created tickets read back unchanged."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tixallo_qa.core.ratelimit import KeyPool
from tixallo_qa.core.redact import Redactor

# Fields of the create request that a read must return unchanged (customer fields are nested).
TICKET_FIELDS = ("subject", "description", "priority")
ATTEMPTS = 8  # a 429 rests that key and the next attempt takes another


@dataclass
class IntegrityResult:
    tickets: int = 0
    duplicates: dict[int, list[str]] = field(default_factory=dict)
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)  # one line per problem ticket

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "duplicate_numbers": len(self.duplicates),
            "duplicates_sample": {str(k): v for k, v in list(sorted(self.duplicates.items()))[:10]},
            "readback_checked": self.checked,
            "readback_mismatches": len(self.mismatches),
            "mismatch_sample": self.mismatches[:10],
        }


def duplicate_numbers(tickets: Iterable[Mapping[str, Any]]) -> dict[int, list[str]]:
    """ticket_number -> ticket ids, for every number the API handed out more than once."""
    by_number: dict[int, list[str]] = {}
    for t in tickets:
        if t.get("ticket_number") is not None:
            by_number.setdefault(int(t["ticket_number"]), []).append(str(t["ticket_id"]))
    return {n: ids for n, ids in by_number.items() if len(set(ids)) > 1}


def sample(items: Sequence[Any], size: int) -> list[Any]:
    """``size`` items spread evenly over the run (first, last and between), deterministic."""
    if size <= 0 or not items:
        return []
    if size >= len(items):
        return list(items)
    step = (len(items) - 1) / max(1, size - 1)
    return [items[round(i * step)] for i in range(size)]


def compare(
    ticket: Mapping[str, Any], bodies: Sequence[str], fetched: Mapping[str, Any]
) -> list[str]:
    """How a fetched ticket differs from what was sent (empty when it matches)."""
    sent = ticket["sent"]
    problems = []
    for name in TICKET_FIELDS:
        if name in sent and fetched.get(name) != sent[name]:
            problems.append(f"{name}: sent {sent[name]!r}, read {fetched.get(name)!r}")
    if fetched.get("ticket_number") != ticket.get("ticket_number"):
        problems.append(
            f"ticket_number: created as {ticket.get('ticket_number')}, read {fetched.get('ticket_number')}"
        )
    customer = fetched.get("customer") or {}
    if str(customer.get("email", "")).lower() != str(sent.get("customer_email", "")).lower():
        problems.append(
            f"customer.email: sent {sent.get('customer_email')!r}, read {customer.get('email')!r}"
        )
    messages = [m.get("body") for m in fetched.get("messages") or [] if isinstance(m, Mapping)]
    if not messages or messages[0] != sent.get("description"):
        problems.append("the description is not the first message")
    # Our posted bodies must appear in order (a request cut off at shutdown may add one we never saw).
    rest = iter(messages[1:])
    for body in bodies:
        if not any(m == body for m in rest):
            problems.append(f"posted message {body[:40]!r} is missing or out of order")
            break
    return problems


def read_back(
    base_url: str,
    keys: Sequence[str],
    rate_limit: int,
    created: Sequence[Mapping[str, Any]],
    *,
    size: int = 20,
    timeout: float = 10.0,
    redactor: Redactor | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
) -> IntegrityResult:
    """Check distinct numbers over every created ticket, then GET a paced sample and compare."""
    redactor = redactor or Redactor(keys)
    tickets = [r for r in created if r["kind"] == "ticket"]
    bodies: dict[str, list[str]] = {}
    for r in created:
        if r["kind"] == "message":
            bodies.setdefault(str(r["ticket_id"]), []).append(str(r["sent"]["body"]))
    result = IntegrityResult(tickets=len(tickets), duplicates=duplicate_numbers(tickets))
    chosen = sample(tickets, size)
    if not chosen or not keys:
        return result
    # The run's pools fill keys from the front of each slice, so the back ones have budget left.
    pool = KeyPool(list(reversed(keys)), rate_limit)
    with httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        transport=transport,
        trust_env=False,
        verify=verify,
    ) as http:
        for ticket in chosen:
            problem = _read_one(http, pool, ticket, bodies, redactor, sleep)
            if problem is None:
                continue  # could not be read (rate-limited throughout): not checked, not a mismatch
            result.checked += 1
            if problem:
                result.mismatches.append(problem)
    return result


def _read_one(
    http: httpx.Client,
    pool: KeyPool,
    ticket: Mapping[str, Any],
    bodies: Mapping[str, list[str]],
    redactor: Redactor,
    sleep: Callable[[float], None],
) -> str | None:
    """'' when the ticket reads back as sent, a problem line, or None when it could not be read."""
    ident = str(ticket["ticket_id"])
    last: str | None = None
    for _attempt in range(ATTEMPTS):
        slot = pool.reserve()
        if slot.delay:
            sleep(slot.delay)
        try:
            response = http.get(
                f"/tickets/{ident}", headers={"Authorization": f"Bearer {slot.key}"}
            )
        except httpx.HTTPError as exc:
            last = f"{ident}: GET failed: {redactor.text(str(exc))}"
            continue
        if response.status_code == 429:
            pool.penalize(slot.key, float(response.headers.get("Retry-After") or 60))
            last = None
            continue
        if response.status_code != 200:
            return (
                f"{ident}: GET answered {response.status_code} {redactor.text(response.text[:200])}"
            )
        found = compare(ticket, bodies.get(ident, []), response.json().get("data") or {})
        return f"{ident}: {'; '.join(found)}" if found else ""
    return last
