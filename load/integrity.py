"""Integrity under load: every ticket and message the run created, read back and compared.

One ``GET /tickets/{id}`` per created ticket returns the ticket and its conversation, so reading
every ticket checks every message too:

- lost writes: a ticket that answers 404, a message missing from its ticket's conversation;
- field mismatches: a field that differs from what was sent or what the 201 answered, and a
  message stored twice;
- conversation order: a message posted well after another was acknowledged (``ORDER_MARGIN``,
  for the clocks of a deployment's several servers) must be listed after it; messages sent at
  the same time may come in either order, and so may two with the same timestamp (the docs
  leave their precision open);
- distinct ticket numbers, over every created ticket (no reads needed).

On an unlimited target every ticket is read; on a rate-limited one as many as the keys' budget
allows within ``budget`` seconds (tickets with concurrent writes first), and the coverage is stated.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from tixallo_qa.core.ratelimit import KeyPool, parse_retry_after
from tixallo_qa.core.redact import Redactor

# Fields of the create request that a read must return unchanged (customer fields are nested).
TICKET_FIELDS = ("subject", "description", "priority")
# Fields of the 201 answer a read must repeat (not status: the app's own flows may change it).
ECHOED = ("source", "customer_id")
# Seconds between one message's 201 and another's send before their order is asserted.
ORDER_MARGIN = 0.1
# A ticket that reads wrong within this many seconds of its last write is read again after it
# (a deployment may serve reads from a replica a moment behind; a lost write stays lost).
SETTLE = 5.0
ATTEMPTS = 8  # a 429 rests that key and the next attempt takes another
WORKERS = 8  # reads in flight at once
UNLIMITED_BUDGET = 300.0  # seconds: the backstop when no rate limit bounds the read-back
SAMPLE = 10  # problem lines kept per kind
FOUND, LOST, SKIP, STOP = "found", "lost", "skip", "stop"


@dataclass
class IntegrityResult:
    """What the read-back found; counts are of created tickets and messages."""

    tickets: int = 0
    messages: int = 0
    duplicates: dict[int, list[str]] = field(default_factory=dict)
    checked: int = 0  # tickets read back
    messages_checked: int = 0  # messages of the tickets read back
    lost_tickets: list[str] = field(default_factory=list)
    lost_messages: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # one line per problem
    order: list[str] = field(default_factory=list)
    # Message pairs whose order is defined (one acknowledged before the other was sent).
    ordered_pairs: int = 0
    unread: int = 0
    unread_reason: str = ""

    @property
    def lost(self) -> int:
        return len(self.lost_tickets) + len(self.lost_messages)

    @property
    def coverage(self) -> float | None:
        return self.checked / self.tickets if self.tickets else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "messages": self.messages,
            "duplicate_numbers": len(self.duplicates),
            "duplicates_sample": {
                str(k): v for k, v in list(sorted(self.duplicates.items()))[:SAMPLE]
            },
            "readback_checked": self.checked,
            "readback_messages_checked": self.messages_checked,
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "lost_tickets": len(self.lost_tickets),
            "lost_messages": len(self.lost_messages),
            "lost_sample": (self.lost_tickets + self.lost_messages)[:SAMPLE],
            "readback_mismatches": len(self.mismatches),
            "mismatch_sample": self.mismatches[:SAMPLE],
            "order_violations": len(self.order),
            "ordered_pairs": self.ordered_pairs,
            "order_sample": self.order[:SAMPLE],
            "unread": self.unread,
            "unread_reason": self.unread_reason,
        }


@dataclass
class Findings:
    """What one ticket's read showed."""

    messages: int = 0
    lost_messages: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    ordered_pairs: int = 0


def duplicate_numbers(tickets: Iterable[Mapping[str, Any]]) -> dict[int, list[str]]:
    """ticket_number -> ticket ids, for every number the API handed out more than once."""
    by_number: dict[int, list[str]] = {}
    for t in tickets:
        if t.get("ticket_number") is not None:
            by_number.setdefault(int(t["ticket_number"]), []).append(str(t["ticket_id"]))
    return {n: ids for n, ids in by_number.items() if len(set(ids)) > 1}


def spread_order(n: int) -> list[int]:
    """0..n-1 so that every prefix is spread over the whole range (bit-reversed order)."""
    if n <= 1:
        return list(range(n))
    bits = (n - 1).bit_length()
    return sorted(range(n), key=lambda i: int(f"{i:0{bits}b}"[::-1], 2))


def reading_order(
    tickets: Sequence[Mapping[str, Any]], messages: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[Mapping[str, Any]]:
    """Tickets with concurrent writes first (where races lose writes), each group spread over the run."""

    def group(t: Mapping[str, Any]) -> int:
        mine = messages.get(str(t["ticket_id"]), ())
        if any(m.get("burst") for m in mine):
            return 0
        if t.get("burst"):
            return 1
        return 2 if mine else 3

    groups: dict[int, list[Mapping[str, Any]]] = {}
    for t in tickets:
        groups.setdefault(group(t), []).append(t)
    out: list[Mapping[str, Any]] = []
    for g in sorted(groups):
        items = groups[g]
        out.extend(items[i] for i in spread_order(len(items)))
    return out


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _same_instant(a: Any, b: Any) -> bool:
    x, y = _instant(a), _instant(b)
    return x == y if x is not None and y is not None else a == b


def compare(
    ticket: Mapping[str, Any],
    posted: Sequence[Mapping[str, Any]],
    fetched: Mapping[str, Any],
) -> Findings:
    """How a fetched ticket and its conversation differ from what the run sent and was answered."""
    out = Findings(messages=len(posted))
    sent, returned = ticket["sent"], ticket.get("returned") or {}
    for name in TICKET_FIELDS:
        if name in sent and fetched.get(name) != sent[name]:
            out.mismatches.append(f"{name}: sent {sent[name]!r}, read {fetched.get(name)!r}")
    for name in ECHOED:
        if name in returned and fetched.get(name) != returned[name]:
            out.mismatches.append(
                f"{name}: the 201 said {returned[name]!r}, read {fetched.get(name)!r}"
            )
    if "created_at" in returned and not _same_instant(
        fetched.get("created_at"), returned["created_at"]
    ):
        out.mismatches.append(
            f"created_at: the 201 said {returned['created_at']!r}, read {fetched.get('created_at')!r}"
        )
    if fetched.get("ticket_number") != ticket.get("ticket_number"):
        out.mismatches.append(
            f"ticket_number: created as {ticket.get('ticket_number')}, read {fetched.get('ticket_number')}"
        )
    customer = fetched.get("customer") or {}
    if str(customer.get("email", "")).lower() != str(sent.get("customer_email", "")).lower():
        out.mismatches.append(
            f"customer.email: sent {sent.get('customer_email')!r}, read {customer.get('email')!r}"
        )
    listed = [m for m in fetched.get("messages") or [] if isinstance(m, Mapping)]
    if not listed or listed[0].get("body") != sent.get("description"):
        out.mismatches.append("the description is not the first message")
    position: dict[str, int] = {}
    for i, m in enumerate(listed):
        ident = str(m.get("id"))
        if ident in position:
            out.mismatches.append(f"message {ident} is listed twice")
        position.setdefault(ident, i)
    bodies: dict[str, int] = {}
    for m in listed:
        bodies[str(m.get("body"))] = bodies.get(str(m.get("body")), 0) + 1
    for record in posted:
        ident = str(record["message_id"])
        at = position.get(ident)
        if at is None:
            out.lost_messages.append(f"message {ident} (acknowledged 201) is missing")
            continue
        m, body = listed[at], record["sent"]["body"]
        if m.get("body") != body:
            out.mismatches.append(
                f"message {ident} body: sent {body[:40]!r}, read {str(m.get('body'))[:40]!r}"
            )
        elif bodies.get(body, 0) > 1:
            out.mismatches.append(f"message {ident} is stored {bodies[body]} times")
        echo = record.get("returned") or {}
        if "author_type" in echo and m.get("author_type") != echo["author_type"]:
            out.mismatches.append(
                f"message {ident} author_type: the 201 said {echo['author_type']!r}, read {m.get('author_type')!r}"
            )
    _check_order(posted, listed, position, out)
    return out


def _check_order(
    posted: Sequence[Mapping[str, Any]],
    listed: Sequence[Mapping[str, Any]],
    position: Mapping[str, int],
    out: Findings,
) -> None:
    """A message acknowledged before another was sent must be listed first (ties in time aside)."""
    present = [r for r in posted if str(r["message_id"]) in position]
    for a in present:
        for b in present:
            if a is b or a.get("proc") != b.get("proc"):
                continue  # clocks of different load machines are not compared
            if not float(a["acked_at"]) + ORDER_MARGIN < float(b["sent_at"]):
                continue
            out.ordered_pairs += 1
            pa, pb = position[str(a["message_id"])], position[str(b["message_id"])]
            if pa < pb:
                continue
            ta, tb = listed[pa].get("created_at"), listed[pb].get("created_at")
            if _same_instant(ta, tb):
                continue  # the same timestamp: the order between them is the deployment's choice
            out.order.append(
                f"message {b['message_id']} (sent after {a['message_id']} was acknowledged) is "
                f"listed before it (created_at {tb} vs {ta})"
            )


def read_back(
    base_url: str,
    keys: Sequence[str],
    rate_limit: int,
    created: Sequence[Mapping[str, Any]],
    *,
    limit: int | None = None,
    budget: float = 30.0,
    timeout: float = 10.0,
    redactor: Redactor | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
    workers: int = WORKERS,
    verify: ssl.SSLContext | bool = True,
) -> IntegrityResult:
    """Distinct numbers over every created ticket, then GET each ticket (paced) and compare."""
    redactor = redactor or Redactor(keys)
    tickets = [r for r in created if r["kind"] == "ticket"]
    messages: dict[str, list[Mapping[str, Any]]] = {}
    for r in created:
        if r["kind"] == "message":
            messages.setdefault(str(r["ticket_id"]), []).append(r)
    known = {str(t["ticket_id"]) for t in tickets}
    result = IntegrityResult(
        tickets=len(tickets),
        messages=sum(len(v) for k, v in messages.items() if k in known),
        duplicates=duplicate_numbers(tickets),
    )
    chosen = reading_order(tickets, messages)
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen or not keys:
        result.unread = len(tickets)
        result.unread_reason = "read-back is off" if limit == 0 else "no key to read with"
        return result
    deadline = clock() + (budget if rate_limit > 0 else max(budget, UNLIMITED_BUDGET))
    # The run's pools fill keys from the front of each slice, so the back ones have budget left.
    pool = KeyPool(list(reversed(keys)), rate_limit)
    lock = threading.Lock()
    queue = iter(chosen)
    stopped: list[str] = []
    skipped: list[str] = []
    again: list[Mapping[str, Any]] = []

    def settle(ticket: Mapping[str, Any]) -> None:
        """Wait until the ticket's last write is SETTLE seconds old (within the budget)."""
        mine = messages.get(str(ticket["ticket_id"]), [])
        newest = max([float(ticket["acked_at"]), *(float(m["acked_at"]) for m in mine)])
        wait = newest + SETTLE - wall()
        if wait > 0 and clock() + wait < deadline:
            sleep(wait)

    def work(http: httpx.Client, second_look: bool = False) -> None:
        while True:
            with lock:
                if stopped:
                    return
                ticket = next(queue, None)
            if ticket is None:
                return
            if second_look:
                settle(ticket)
            status, outcome = _read_one(http, pool, ticket, redactor, sleep, clock, deadline)
            with lock:
                if status == STOP:
                    if not stopped:
                        stopped.append(str(outcome))
                    return
                if status == SKIP:
                    skipped.append(str(outcome))
                    continue
                data = outcome if isinstance(outcome, Mapping) else None
                posted = messages.get(str(ticket["ticket_id"]), [])
                if (
                    not second_look
                    and _fresh(ticket, posted, wall())
                    and _wrong(ticket, posted, data)
                ):
                    again.append(ticket)  # read again once its writes have settled
                    continue
                _record(result, ticket, posted, data)

    with (
        httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            trust_env=False,
            verify=verify,
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
        ) as http,
        ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="readback") as pool_x,
    ):
        for future in [pool_x.submit(work, http) for _ in range(max(1, workers))]:
            future.result()
        queue = iter(again)
        for future in [pool_x.submit(work, http, True) for _ in range(max(1, workers))]:
            future.result()
    result.unread = len(tickets) - result.checked
    if result.unread:
        reasons = [*stopped, *skipped[:1]] or [f"--readback-sample {limit}"]
        if skipped:
            reasons[-1] = f"{len(skipped)} could not be read, e.g. {skipped[0]}"
        result.unread_reason = redactor.text("; ".join(reasons))
    return result


def _fresh(ticket: Mapping[str, Any], posted: Sequence[Mapping[str, Any]], now: float) -> bool:
    newest = max([float(ticket["acked_at"]), *(float(m["acked_at"]) for m in posted)])
    return now - newest < SETTLE


def _wrong(
    ticket: Mapping[str, Any], posted: Sequence[Mapping[str, Any]], data: Mapping[str, Any] | None
) -> bool:
    if data is None:
        return True
    found = compare(ticket, posted, data)
    return bool(found.lost_messages or found.mismatches or found.order)


def _record(
    result: IntegrityResult,
    ticket: Mapping[str, Any],
    posted: Sequence[Mapping[str, Any]],
    outcome: Mapping[str, Any] | None,
) -> None:
    ident = str(ticket["ticket_id"])
    result.checked += 1
    result.messages_checked += len(posted)
    if outcome is None:
        result.lost_tickets.append(f"ticket {ident} (acknowledged 201) answers 404")
        result.lost_messages.extend(
            f"message {m['message_id']} of lost ticket {ident}" for m in posted
        )
        return
    found = compare(ticket, posted, outcome)
    result.lost_messages.extend(f"{ident}: {line}" for line in found.lost_messages)
    result.mismatches.extend(f"{ident}: {line}" for line in found.mismatches)
    result.order.extend(f"{ident}: {line}" for line in found.order)
    result.ordered_pairs += found.ordered_pairs


def _read_one(
    http: httpx.Client,
    pool: KeyPool,
    ticket: Mapping[str, Any],
    redactor: Redactor,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
) -> tuple[str, Mapping[str, Any] | str | None]:
    """(FOUND, data), (LOST, None) on a 404, (SKIP, why) for this ticket, or (STOP, why) for all."""
    ident = str(ticket["ticket_id"])
    last = "rate-limited (429) on every attempt"
    for _attempt in range(ATTEMPTS):
        slot = pool.reserve()
        if clock() + slot.delay > deadline:
            return STOP, "the keys' budget (TIXALLO_RATE_LIMIT) ran out within the read-back time"
        if slot.delay:
            sleep(slot.delay)
        try:
            response = http.get(
                f"/tickets/{ident}", headers={"Authorization": f"Bearer {slot.key}"}
            )
        except httpx.HTTPError as exc:
            last = f"GET /tickets/{ident} failed: {redactor.text(str(exc)) or type(exc).__name__}"
            continue
        if response.status_code == 429:
            pool.penalize(slot.key, parse_retry_after(response.headers.get("Retry-After")))
            continue
        if response.status_code == 404:
            return LOST, None
        if response.status_code != 200:
            last = f"GET /tickets/{ident} answered {response.status_code} {redactor.text(response.text[:200])}"
            continue
        try:
            data = response.json().get("data")
        except ValueError:
            data = None
        if isinstance(data, Mapping):
            return FOUND, data
        last = f"GET /tickets/{ident} answered 200 without {{'data': {{...}}}}"
    return SKIP, last
