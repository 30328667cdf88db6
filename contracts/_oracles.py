"""Always-on oracles: the properties every object obeys wherever it appears, on every path and channel.

The paced session hands every exchange to ``Oracles.observe`` (named checks, schemathesis'
generated, negative and stateful cases alike) and the webhook sweep hands it the sink's events
(``observe_events``). Each oracle is named below with its doc line; a violation names the
exchange or delivery where the property broke and the earlier one it disagrees with. A check
during which a violation arose fails with it (``_oracle_hooks``), and one final check per oracle
reports them all (``test_oracles``).
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._curl import describe, truncate
from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.contracts._time import instant, is_rfc3339, is_utc
from tixallo_qa.contracts._transport import MAIN, OTHER
from tixallo_qa.core import spec
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.core.redact import Redactor


@dataclass(frozen=True)
class Oracle:
    """One always-on property: its name (the check is ``oracle-<name>``) and what it asserts."""

    name: str
    doc: str


NOTE_MARKER = "note-marker-nowhere"
ISOLATION = "workspace-isolation"
AUTHOR = "posted-messages-from-customer"
TIMESTAMPS = "timestamps-utc-coherent"
NUMBERS = "ticket-number-unique-increasing"
SAME_FIELDS = "same-object-same-fields"
SCHEMA = "responses-match-spec"
LISTS = "lists-newest-first-within-limit"

ORACLES: tuple[Oracle, ...] = (
    Oracle(
        NOTE_MARKER,
        "the internal-note marker, the API keys and the webhook secret appear in no response body, header or error body and in no webhook payload or delivery header",
    ),
    Oracle(
        ISOLATION,
        "every ticket, message and customer read with a key belongs to that key's workspace: nothing of the other workspace in a list, a ticket, a customer or a webhook",
    ),
    Oracle(
        AUTHOR,
        "messages posted through the API (a ticket's description included) are author_type 'customer' on every read: the create answer, the conversation, the webhook",
    ),
    Oracle(
        TIMESTAMPS,
        "timestamps are RFC 3339 in UTC; nothing is updated before it was created; a conversation is oldest first and no message predates its ticket; what the suite created is stamped within its request, give or take TIXALLO_WEBHOOK_TOLERANCE",
    ),
    Oracle(
        NUMBERS,
        "ticket_number is unique in its workspace over every ticket the suite saw, and increases over the tickets it created one after another",
    ),
    Oracle(
        SAME_FIELDS,
        "a ticket, message or customer has equal fields on every read (create answer, GET, list, webhook) and the create answer holds what was sent; updated_at and the conversation change only when a message was posted, and never go back",
    ),
    Oracle(
        SCHEMA,
        "every answer of a documented operation and status matches the spec's schema for it, whichever check sent the request; a 400 that says it is a validation error has the validation error's shape",
    ),
    Oracle(
        LISTS,
        "every list is newest first, holds at most its limit and leaves out the merged ticket; a list shorter than its limit holds every ticket of the workspace the suite created before it",
    ),
)
BY_NAME: dict[str, Oracle] = {o.name: o for o in ORACLES}

# The API reference: "every message posted via this endpoint is recorded with author_type: customer".
CUSTOMER = "customer"
# Out of order by more than this counts: a faithful deployment may stamp whole seconds (part B
# 15) and order objects of one second either way, so ties and near-ties are not a defect.
ORDER_SLACK = 1.0
# Statuses after which a posted message certainly did not change its ticket.
NOT_APPLIED = frozenset({400, 401, 403, 404, 405, 409, 422, 429})
BODY_SHOWN = 1200
WORKSPACES = {MAIN: "main workspace", OTHER: "other workspace"}


_VALIDATION_ERROR = "#/components/schemas/ValidationError"
_UUID_IN_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True)
class Source:
    """Where something was seen: one exchange of the suite, or one delivery the sink recorded."""

    label: str
    # "getTicket 200", "webhook ticket.created": one path or channel, for de-duplication.
    channel: str
    exchange: Exchange | None = None
    event: Any = None  # webhook_sink.client.Event
    start: float = 0.0  # wall clock: request sent, or delivery received
    end: float = 0.0

    def render(self, redactor: Redactor, focus: str | None = None) -> str:
        if self.exchange is not None:
            return describe(self.exchange, redactor, body_limit=BODY_SHOWN, focus=focus)
        event = self.event
        payload = json.dumps(getattr(event, "payload", None), ensure_ascii=False)
        summary = event.summary() if hasattr(event, "summary") else repr(event)
        return f"  {summary}\n  payload: {truncate(payload, BODY_SHOWN)}"


@dataclass(frozen=True)
class Violation:
    """One broken property: which oracle, what, where it broke and the earlier read it contradicts."""

    oracle: str
    what: str
    at: Source
    earlier: Source | None = None

    def render(self, redactor: Redactor) -> str:
        lines = [f"[oracle {self.oracle}] {self.what}", f"where it broke: {self.at.label}"]
        # A long body is shown around the object the violation names (its first id).
        named = _UUID_IN_TEXT.search(self.what)
        focus = named.group(0) if named else None
        lines.append(self.at.render(redactor, focus))
        if self.earlier is not None and self.earlier.label != self.at.label:
            lines.append(f"the earlier one it disagrees with: {self.earlier.label}")
            lines.append(self.earlier.render(redactor, focus))
        return redactor.text("\n".join(lines))


def render_all(violations: list[Violation], redactor: Redactor, *, shown: int = 6) -> str:
    """The first few violations in full, then how many more."""
    # The oracles broken, named in the first line: what a baseline's fingerprint tells apart.
    names = ", ".join(sorted({v.oracle for v in violations}))
    head = f"{len(violations)} violation(s) of {names}:"
    body = "\n\n".join(v.render(redactor) for v in violations[:shown])
    more = f"\n\n… and {len(violations) - shown} more" if len(violations) > shown else ""
    return f"{head}\n\n{body}{more}"


@dataclass
class _Value:
    value: Any
    source: Source


@dataclass
class _Read:
    start: float
    end: float
    value: Any
    source: Source


@dataclass
class _Ticket:
    by_suite: bool = False
    created: Source | None = None  # the suite's create request, when the suite made it
    created_span: tuple[float, float] | None = None
    sent: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, _Value] = field(default_factory=dict)
    updated: list[_Read] = field(default_factory=list)
    conversations: list[_Read] = field(default_factory=list)
    posts: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Message:
    fields: dict[str, _Value] = field(default_factory=dict)
    # The API request that created it (the ticket's, for the description).
    posted: Source | None = None
    span: tuple[float, float] | None = None


def plain(value: object) -> bool:
    """A string any faithful store keeps byte for byte: NFC, no control, format or unassigned characters."""
    if not isinstance(value, str) or unicodedata.normalize("NFC", value) != value:
        return False
    return all(
        ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
        for ch in value
    )


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value))} characters)"


def _json(raw: bytes | str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON value, keys included (the decoded form of escaped text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


class Oracles:
    """Watches every exchange and webhook delivery of a run and records what breaks an oracle."""

    def __init__(
        self,
        base_url: str,
        *,
        needles: Iterable[tuple[str, str | None]] = (),
        merged_ticket_id: str | None = None,
        tolerance: float = 300.0,
        shared_webhooks: bool = False,
    ) -> None:
        self._base_path = urlsplit(base_url).path.rstrip("/")
        # What must never be answered, by what it is ("the internal-note marker", "an API key").
        self._needles = {value: what for what, value in needles if value}
        self._needle = (
            re.compile("|".join(re.escape(n) for n in sorted(self._needles, key=len, reverse=True)))
            if self._needles
            else None
        )
        self._merged = merged_ticket_id.lower() if merged_ticket_id else None
        self._invalid = _spec.error_text("ValidationError")
        self._tolerance = tolerance
        self._shared = shared_webhooks
        # What each request was, read from the spec.
        self._routes = [(self._pattern(op["path"]), op) for op in _spec.operations()]
        limit = _spec.limit()
        self._limit = (int(limit["minimum"]), int(limit["maximum"]), int(limit["default"]))
        request = _spec.request_properties("CreateTicketRequest")
        ticket = spec.component("Ticket")["properties"]
        # Request fields the ticket echoes, with the default the spec gives when one is left out.
        self._echoed = {n: s.get("default") for n, s in request.items() if n in ticket}
        self._customer_fields = list(spec.component("Customer")["properties"])
        self._lock = threading.RLock()
        self._violations: list[Violation] = []
        self._keys: set[tuple[Any, ...]] = set()
        self._owners: dict[tuple[str, str], tuple[str, Source]] = {}
        self._tickets: dict[str, _Ticket] = {}
        self._messages: dict[str, _Message] = {}
        self._customers: dict[str, dict[str, _Value]] = {}
        self._numbers: dict[str, dict[int, tuple[str, Source]]] = {}
        self._creates: dict[str, list[tuple[float, float, int, str, Source]]] = {}
        self._events: set[int] = set()
        self.errors: list[str] = []
        self.exchanges = 0

    # -- what the suite reads ------------------------------------------------------------------

    @staticmethod
    def _pattern(template: str) -> re.Pattern[str]:
        parts = re.split(r"\{([^}]+)\}", template)
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)
        )
        return re.compile(f"^{regex}$")

    def _route(self, exchange: Exchange) -> tuple[dict[str, Any], dict[str, str]] | None:
        path = urlsplit(exchange.url).path
        if not path.startswith(self._base_path):
            return None
        relative = path[len(self._base_path) :] or "/"
        for pattern, op in self._routes:
            m = pattern.match(relative)
            if m and op["method"] == exchange.method.upper():
                return op, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _source(self, exchange: Exchange, op: dict[str, Any] | None) -> Source:
        parts = urlsplit(exchange.url)
        relative = (
            parts.path[len(self._base_path) :]
            if parts.path.startswith(self._base_path)
            else parts.path
        )
        query = f"?{parts.query}" if parts.query else ""
        who = exchange.identity or "no pooled key"
        label = f"request #{exchange.seq} {exchange.method} {relative}{query} as {who} → {exchange.status}"
        name = op["operation_id"] if op else f"{exchange.method} {relative}"
        return Source(
            label,
            f"{name} {exchange.status}",
            exchange=exchange,
            start=exchange.started_at,
            end=exchange.started_at + exchange.elapsed,
        )

    def observe(self, exchange: Exchange, response: object = None) -> None:
        """Paced-session observer: judge one exchange (never raises: an oracle bug is recorded)."""
        with self._lock:
            try:
                self.exchanges += 1
                self._observe(exchange)
            except Exception as exc:  # the request that showed it must still reach its check
                self.errors.append(f"request #{exchange.seq}: {type(exc).__name__}: {exc}")

    def _observe(self, exchange: Exchange) -> None:
        route = self._route(exchange)
        op, params = route if route else (None, {})
        src = self._source(exchange, op)
        body = _json(exchange.response_body) if exchange.status is not None else None
        if exchange.status is not None:
            self._scan(exchange.response_body, exchange.response_headers, src, decoded=body)
        if op is None:
            return
        op_id = op["operation_id"]
        ticket_id = params.get("ticket_id")
        if op_id == "addMessage" and ticket_id and exchange.status not in NOT_APPLIED:
            self._ticket(ticket_id).posts.append((src.start, src.end))
        if exchange.status is None:
            return
        self._schema(op, exchange, body, src)
        if not 200 <= exchange.status < 300 or not isinstance(body, dict):
            return
        data = body.get("data")
        identity = exchange.identity if exchange.identity in WORKSPACES else None
        sent = _json(exchange.request_body)
        sent = sent if isinstance(sent, dict) else {}
        if op_id == "listTickets" and isinstance(data, list):
            self._list(data, identity, src, exchange.url)
        elif op_id == "createTicket" and isinstance(data, dict):
            self._created(data, sent, identity, src)
        elif op_id == "getTicket" and isinstance(data, dict):
            self._detail(data, identity, src)
        elif op_id == "addMessage" and isinstance(data, dict) and ticket_id:
            self._posted(data, sent, ticket_id, identity, src)

    def observe_events(self, events: Iterable[Any]) -> None:
        """Judge the webhook deliveries the sink recorded (each once, however often it is handed over)."""
        with self._lock:
            for event in events:
                if event.seq in self._events:
                    continue
                self._events.add(event.seq)
                try:
                    self._event(event)
                except Exception as exc:
                    self.errors.append(f"delivery #{event.seq}: {type(exc).__name__}: {exc}")

    # -- the record ----------------------------------------------------------------------------

    def violations(self, oracle: str | None = None) -> list[Violation]:
        with self._lock:
            return [v for v in self._violations if oracle is None or v.oracle == oracle]

    def created_by_suite(self, identity: str) -> int:
        """How many tickets of ``identity``'s workspace the suite saw itself create."""
        with self._lock:
            return sum(
                1
                for tid, t in self._tickets.items()
                if t.created is not None
                and tid != self._merged
                and self._owner("ticket", tid) == identity
            )

    def mark(self) -> int:
        """A bookmark: ``since(mark)`` gives what requests broke after it."""
        with self._lock:
            return len(self._violations)

    def since(self, mark: int, until: int | None = None) -> list[Violation]:
        """Violations found in exchanges (not deliveries) after ``mark`` (and before ``until``)."""
        with self._lock:
            return [v for v in self._violations[mark:until] if v.at.exchange is not None]

    def _violate(
        self,
        oracle: str,
        key: tuple[Any, ...],
        what: str,
        at: Source,
        earlier: Source | None = None,
    ) -> None:
        if (oracle, *key) in self._keys:
            return
        self._keys.add((oracle, *key))
        self._violations.append(Violation(oracle, what, at, earlier))

    def _ticket(self, ticket_id: str) -> _Ticket:
        return self._tickets.setdefault(ticket_id.lower(), _Ticket())

    # -- oracles over whole answers ------------------------------------------------------------

    def _scan(
        self,
        body: bytes | str | None,
        headers: Mapping[str, str],
        src: Source,
        *,
        decoded: Any = None,
    ) -> None:
        """note-marker-nowhere: nothing secret or internal in a body, a header or a payload.

        ``decoded`` is the body's JSON when the caller parsed it already (else parsed here).
        """
        if self._needle is None:
            return
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        places = [("body", text, "")]
        if decoded is None:
            decoded = _json(text)
        if decoded is not None:
            places.append(("body", "\n".join(_strings(decoded)), " (JSON-escaped)"))
        places += [(f"header {k}", f"{k}: {v}", "") for k, v in headers.items()]
        for place, haystack, how in places:
            for found in self._needle.finditer(haystack):
                what = self._needles[found.group(0)]
                self._violate(
                    NOTE_MARKER,
                    (what, src.channel, place),
                    f"{what} (shown as <redacted>) appears in the {place}{how} of {src.label}",
                    src,
                )

    def _schema(self, op: dict[str, Any], exchange: Exchange, body: Any, src: Source) -> None:
        """responses-match-spec: the documented schema of this operation and status holds."""
        assert exchange.status is not None
        pointer = _spec.response_pointer(op["path"], op["method"], exchange.status)
        if pointer is None:
            return
        name = f"{op['operation_id']} {exchange.status}"
        if body is None:
            self._violate(
                SCHEMA,
                (name, "not json"),
                f"{name}: the spec documents a JSON body; this one is not JSON",
                src,
            )
            return
        for error in spec.errors(pointer, body):
            where = "/".join(map(str, error.path)) or "(root)"
            rule = "/".join(map(str, error.relative_schema_path))
            self._violate(
                SCHEMA,
                (name, rule),
                f"{name}: {where}: {error.message} (breaks the spec's schema for this answer)",
                src,
            )
        # A 400 may be any error body (the spec's anyOf), but one that names itself a validation
        # error is the documented validation error, fieldErrors and formErrors included.
        if exchange.status == 400 and isinstance(body, dict) and body.get("error") == self._invalid:
            for problem in _spec.validate(_VALIDATION_ERROR, body):
                self._violate(
                    SCHEMA,
                    (name, "validation error", problem),
                    f"{name}: the body says {self._invalid!r} but is not the documented "
                    f"validation error: {problem}",
                    src,
                )

    def _list(self, items: list[Any], identity: str | None, src: Source, url: str) -> None:
        """lists-newest-first-within-limit, then every ticket of the list as a read of it."""
        bound = self._bound(url)
        if len(items) > bound:
            self._violate(
                LISTS,
                ("count", src.channel, bound),
                f"the list holds {len(items)} tickets, more than its limit {bound}",
                src,
            )
        tickets = [t for t in items if isinstance(t, dict) and isinstance(t.get("id"), str)]
        ids = [str(t["id"]).lower() for t in tickets]
        if self._merged and self._merged in ids:
            self._violate(
                LISTS,
                ("merged", src.channel),
                f"the merged ticket {self._merged} is listed (merged tickets are left out)",
                src,
            )
        stamps = [instant(t.get("created_at")) for t in tickets]
        for i in range(len(tickets) - 1):
            a, b = stamps[i], stamps[i + 1]
            if a is not None and b is not None and (b - a).total_seconds() > ORDER_SLACK:
                self._violate(
                    LISTS,
                    ("order", ids[i], ids[i + 1]),
                    f"the list is not newest first: ticket {ids[i]} (created_at {tickets[i].get('created_at')}) "
                    f"is listed before the newer ticket {ids[i + 1]} (created_at {tickets[i + 1].get('created_at')})",
                    src,
                )
        spans = [self._tickets.get(i) for i in ids]
        for i, earlier in enumerate(spans):
            for j in range(i + 1, len(spans)):
                later = spans[j]
                if (
                    earlier
                    and later
                    and earlier.created_span
                    and later.created_span
                    and later.created_span[0] - earlier.created_span[1] > ORDER_SLACK
                ):
                    self._violate(
                        LISTS,
                        ("created order", ids[i], ids[j]),
                        f"the list is not newest first: ticket {ids[i]} is listed before ticket {ids[j]}, "
                        "which the suite created after it",
                        src,
                    )
        if identity is not None:
            self._left_out(set(ids), [s for s in stamps if s is not None], identity, src)
            exact = self._exact_limit(url)
            if exact is not None and len(items) < exact:
                self._short(set(ids), exact, len(items), identity, src)
        for ticket in tickets:
            self._ticket_seen(ticket, identity, src, "listed")

    def _left_out(
        self, listed: set[str], stamps: list[datetime], identity: str, src: Source
    ) -> None:
        """lists-newest-first-within-limit: no ticket newer than a listed one is left out."""
        if not stamps:
            return
        oldest = min(stamps)
        for tid, ticket in self._tickets.items():
            created = ticket.fields.get("created_at")
            if (
                tid in listed
                or tid == self._merged
                or ticket.created is None
                or created is None
                or ticket.created.end >= src.start  # not yet created when the list was asked for
                or self._owner("ticket", tid) != identity
            ):
                continue
            stamp = instant(created.value)
            if stamp is not None and (stamp - oldest).total_seconds() > ORDER_SLACK:
                self._violate(
                    LISTS,
                    ("left out", src.channel),
                    f"the list leaves out ticket {tid} (created_at {created.value}) but holds a ticket "
                    f"created before it (created_at {oldest.isoformat()}): not the newest tickets",
                    src,
                    ticket.created,
                )
                return

    def _short(self, listed: set[str], limit: int, held: int, identity: str, src: Source) -> None:
        """lists-newest-first-within-limit: a list shorter than its limit is the whole workspace.

        So it holds every ticket of that workspace the suite saw created (ORDER_SLACK before the
        list was asked for: a ticket a moment old may not show yet on a replicated store).
        """
        for tid, ticket in self._tickets.items():
            if (
                tid in listed
                or tid == self._merged
                or ticket.created is None
                or ticket.created.end + ORDER_SLACK >= src.start
                or self._owner("ticket", tid) != identity
            ):
                continue
            self._violate(
                LISTS,
                ("short", src.channel, limit),
                f"the list holds {held} tickets, fewer than its limit {limit}, so it should be "
                f"every ticket of the workspace; it leaves out ticket {tid}, created earlier",
                src,
                ticket.created,
            )
            return

    def _exact_limit(self, url: str) -> int | None:
        """The page size a list was asked for, when that is beyond doubt (else None).

        A limit only a lenient reader takes (a leading +, zeros, two values) is left open by the
        docs (part B 7): how many tickets it asks for is not known.
        """
        low, high, default = self._limit
        values = parse_qs(urlsplit(url).query, keep_blank_values=True).get("limit")
        if values is None:
            return default
        if len(values) == 1 and re.fullmatch(r"[1-9][0-9]*", values[0], re.ASCII):
            value = int(values[0])
            return value if low <= value <= high else None
        return None

    def _bound(self, url: str) -> int:
        """The most tickets a list may hold: its valid limit, the default, or at worst the maximum."""
        low, high, default = self._limit
        values = parse_qs(urlsplit(url).query, keep_blank_values=True).get("limit")
        if values is None:
            return default
        if len(values) == 1 and re.fullmatch(r"[0-9]+", values[0], re.ASCII):
            value = int(values[0])
            if low <= value <= high:
                return value
        return high

    # -- one object at a time ------------------------------------------------------------------

    def _claim(self, kind: str, oid: Any, identity: str | None, src: Source, how: str) -> None:
        """workspace-isolation: an id seen with one workspace's key is never seen with the other's."""
        if identity is None or not isinstance(oid, str) or not oid:
            return
        key = (kind, oid.lower())
        found = self._owners.get(key)
        if found is None:
            self._owners[key] = (identity, src)
            return
        owner, where = found
        if owner != identity:
            self._violate(
                ISOLATION,
                key,
                f"{kind} {oid} belongs to the {WORKSPACES[owner]} (seen in {where.label}) but was "
                f"{how} with the {WORKSPACES[identity]}'s key",
                src,
                where,
            )

    def _owner(self, kind: str, oid: str) -> str | None:
        found = self._owners.get((kind, oid.lower()))
        return found[0] if found else None

    def _utc(self, value: Any, what: str, key: tuple[Any, ...], src: Source) -> None:
        """timestamps-utc-coherent: RFC 3339 with the UTC designator."""
        if value is None or is_utc(value):
            return
        problem = "is not RFC 3339" if not is_rfc3339(value) else "is not in UTC"
        self._violate(
            TIMESTAMPS,
            (*key, src.channel),
            f"{what} {value!r} {problem} (part B 15: RFC 3339 in UTC)",
            src,
        )

    def _same(
        self,
        fields: dict[str, _Value],
        kind: str,
        oid: str,
        name: str,
        value: Any,
        src: Source,
        *,
        stamp: bool = False,
    ) -> None:
        """same-object-same-fields: the first read of a field is the one every later read must equal."""
        ref = fields.get(name)
        if ref is None:
            fields[name] = _Value(value, src)
            return
        if stamp:
            a, b = instant(ref.value), instant(value)
            same = a is None or b is None or a == b  # unparsable stamps are the timestamp oracle's
        else:
            same = ref.value == value
        if not same:
            self._violate(
                SAME_FIELDS,
                (kind, oid.lower(), name),
                f"{kind} {oid}: {name} is {_short(value)} here but {_short(ref.value)} in the earlier read",
                src,
                ref.source,
            )

    def _within_request(self, value: Any, what: str, src: Source) -> None:
        """timestamps-utc-coherent: something the suite just created is stamped during its request."""
        stamp = instant(value)
        if stamp is None or src.exchange is None:
            return
        low, high = src.start - self._tolerance, src.end + self._tolerance
        if not low <= stamp.timestamp() <= high:
            sent = datetime.fromtimestamp(src.start).astimezone().isoformat(timespec="seconds")
            self._violate(
                TIMESTAMPS,
                ("clock", what, src.channel),
                f"{what} {value!r} is not within TIXALLO_WEBHOOK_TOLERANCE={self._tolerance:g} s of the "
                f"request that created it (sent {sent} by this machine's clock): a zone or clock bug",
                src,
            )

    def _ticket_seen(
        self, data: dict[str, Any], identity: str | None, src: Source, how: str
    ) -> None:
        """One read of a ticket (the create answer, GET, a list item, a webhook payload)."""
        tid = data.get("id")
        if not isinstance(tid, str):
            return
        ticket = self._ticket(tid)
        self._claim("ticket", tid, identity, src, how)
        self._claim(
            "customer",
            data.get("customer_id"),
            identity,
            src,
            f"{how} (as customer_id of ticket {tid})",
        )
        for name in ("created_at", "updated_at"):
            if name in data:
                self._utc(data[name], f"ticket {tid} {name}", (tid, name), src)
        created, updated = instant(data.get("created_at")), instant(data.get("updated_at"))
        if created is not None and updated is not None and updated < created:
            self._violate(
                TIMESTAMPS,
                ("updated before created", tid.lower(), src.channel),
                f"ticket {tid} is updated ({data.get('updated_at')}) before it was created ({data.get('created_at')})",
                src,
            )
        # Any ticket's number, creation time and customer are fixed; what the suite itself
        # created is also compared field by field (an agent may edit other tickets meanwhile).
        fixed = ["ticket_number", "created_at", "customer_id"]
        if ticket.by_suite:
            fixed += ["subject", "description", "status", "priority", "source"]
        first_number = "ticket_number" not in ticket.fields
        for name in fixed:
            if name in data:
                self._same(
                    ticket.fields, "ticket", tid, name, data[name], src, stamp=name == "created_at"
                )
        owner = self._owner("ticket", tid)
        number = data.get("ticket_number")
        if (
            first_number
            and owner is not None
            and isinstance(number, int)
            and not isinstance(number, bool)
        ):
            taken = self._numbers.setdefault(owner, {})
            held = taken.get(number)
            if held is None:
                taken[number] = (tid.lower(), src)
            elif held[0] != tid.lower():
                self._violate(
                    NUMBERS,
                    ("unique", owner, number),
                    f"ticket_number {number} is held by two tickets of the {WORKSPACES[owner]}: {tid} and {held[0]}",
                    src,
                    held[1],
                )
        if "updated_at" in data and src.exchange is not None:
            self._updated(ticket, tid, data["updated_at"], src)

    def _posted_between(self, ticket: _Ticket, start: float, end: float) -> bool:
        return any(s < end and e > start for s, e in ticket.posts)

    def _updated(self, ticket: _Ticket, tid: str, value: Any, src: Source) -> None:
        """same-object-same-fields: updated_at moves only forward, and only with a new message."""
        stamp = instant(value)
        if stamp is None:
            return
        before = [r for r in ticket.updated if r.end < src.start]
        if before:
            last = max(before, key=lambda r: r.end)
            if stamp < last.value:
                self._violate(
                    SAME_FIELDS,
                    ("updated_at back", tid.lower(), last.source.channel, src.channel),
                    f"ticket {tid}: updated_at goes back in time: {value!r} here, {last.value.isoformat()} in the earlier read",
                    src,
                    last.source,
                )
            elif (
                ticket.by_suite
                and stamp != last.value
                and not self._posted_between(ticket, last.start, src.end)
            ):
                self._violate(
                    SAME_FIELDS,
                    ("updated_at changed", tid.lower(), last.source.channel, src.channel),
                    f"ticket {tid}: updated_at is {value!r} here but {last.value.isoformat()} in the earlier read, "
                    "and no message was posted to it in between",
                    src,
                    last.source,
                )
        ticket.updated.append(_Read(src.start, src.end, stamp, src))

    def _created(
        self, data: dict[str, Any], sent: dict[str, Any], identity: str | None, src: Source
    ) -> None:
        """A createTicket answer: what was sent comes back; the number follows creation order."""
        tid = data.get("id")
        if not isinstance(tid, str):
            return
        ticket = self._ticket(tid)
        ticket.by_suite = True
        ticket.created = src
        ticket.created_span = (src.start, src.end)
        ticket.sent = sent
        for name, default in self._echoed.items():
            expected = sent.get(name, default)
            if name in sent and not plain(expected):
                continue
            if expected is not None and data.get(name) != expected:
                self._violate(
                    SAME_FIELDS,
                    ("sent", tid.lower(), name),
                    f"ticket {tid}: the create answer's {name} is {_short(data.get(name))} for a request that "
                    + (
                        f"sent {_short(expected)}"
                        if name in sent
                        else f"left it out (default {expected!r})"
                    ),
                    src,
                )
        self._within_request(data.get("created_at"), f"ticket {tid} created_at", src)
        self._ticket_seen(data, identity, src, "created")
        number = data.get("ticket_number")
        if identity is None or not isinstance(number, int):
            return
        mine = self._creates.setdefault(identity, [])
        for _start, end, other, other_id, other_src in mine:
            if end < src.start and number <= other:
                self._violate(
                    NUMBERS,
                    ("order", tid.lower(), other_id),
                    f"ticket {tid} got ticket_number {number}, but ticket {other_id}, created before this "
                    f"request was sent, has {other}: numbers must increase with creation order (part B 6)",
                    src,
                    other_src,
                )
        mine.append((src.start, src.end, number, tid.lower(), src))

    def _detail(self, data: dict[str, Any], identity: str | None, src: Source) -> None:
        """A getTicket answer: the ticket, its customer and its conversation."""
        tid = data.get("id")
        if not isinstance(tid, str):
            return
        self._ticket_seen(data, identity, src, "read")
        ticket = self._ticket(tid)
        customer, cid = data.get("customer"), data.get("customer_id")
        if isinstance(customer, dict) and isinstance(cid, str):
            fields = self._customers.setdefault(cid.lower(), {})
            for name in self._customer_fields:
                if name in customer:
                    self._same(fields, "customer", cid, name, customer[name], src)
            email, wanted = customer.get("email"), ticket.sent.get("customer_email")
            if ticket.by_suite and plain(wanted) and isinstance(email, str):
                assert isinstance(wanted, str)
                if email.lower() != wanted.lower():
                    self._violate(
                        SAME_FIELDS,
                        ("sent", tid.lower(), "customer_email"),
                        f"ticket {tid}: its customer's email is {email!r}, the ticket was created for {wanted!r}",
                        src,
                    )
        messages = data.get("messages")
        if isinstance(messages, list):
            self._conversation(
                ticket, tid, [m for m in messages if isinstance(m, dict)], data, identity, src
            )

    def _conversation(
        self,
        ticket: _Ticket,
        tid: str,
        messages: list[dict[str, Any]],
        data: dict[str, Any],
        identity: str | None,
        src: Source,
    ) -> None:
        description = ticket.sent.get("description")
        if ticket.by_suite and isinstance(description, str):
            # The description is the ticket's first message (part B 4): posted through the API too.
            for m in messages:
                mid = m.get("id")
                if m.get("body") == description and isinstance(mid, str):
                    record = self._messages.setdefault(mid.lower(), _Message())
                    if record.posted is None:
                        record.posted = ticket.created or src
                        record.span = ticket.created_span
                    break
        ids: list[str] = []
        previous = None
        for position, m in enumerate(messages):
            mid = m.get("id")
            if not isinstance(mid, str):
                continue
            ids.append(mid.lower())
            self._message_seen(m, tid, identity, src)
            stamp = instant(m.get("created_at"))
            self._predates(mid, tid, m.get("created_at"), data.get("created_at"), src)
            if stamp is not None and previous is not None and stamp < previous[0]:
                self._violate(
                    TIMESTAMPS,
                    ("oldest first", tid.lower(), src.channel),
                    f"ticket {tid}'s conversation is not oldest first: message {position + 1} ({m.get('created_at')}) "
                    f"is older than message {previous[1]} ({previous[2]})",
                    src,
                )
            if stamp is not None:
                previous = (stamp, position + 1, m.get("created_at"))
        spans = [self._messages[i].span if i in self._messages else None for i in ids]
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                a, b = spans[i], spans[j]
                if a is not None and b is not None and a[0] - b[1] > ORDER_SLACK:
                    self._violate(
                        TIMESTAMPS,
                        ("created order", tid.lower(), ids[i], ids[j]),
                        f"ticket {tid}'s conversation is not oldest first: message {ids[i]} comes before "
                        f"message {ids[j]}, which was created before it",
                        src,
                    )
        before = [r for r in ticket.conversations if r.end < src.start]
        if before:
            last = max(before, key=lambda r: r.end)
            kept = [i for i in ids if i in last.value]
            if kept != list(last.value):
                missing = [i for i in last.value if i not in ids]
                what = (
                    f"messages {missing} of the earlier read are gone"
                    if missing
                    else "its messages come in another order than in the earlier read"
                )
                self._violate(
                    SAME_FIELDS,
                    ("conversation", tid.lower(), src.channel),
                    f"ticket {tid}'s conversation only grows: {what}",
                    src,
                    last.source,
                )
        ticket.conversations.append(_Read(src.start, src.end, ids, src))

    def _message_seen(
        self, m: dict[str, Any], ticket_id: str | None, identity: str | None, src: Source
    ) -> None:
        """One read of a message (the post's answer, a conversation entry, a webhook payload)."""
        mid = m.get("id")
        if not isinstance(mid, str):
            return
        record = self._messages.setdefault(mid.lower(), _Message())
        self._claim("message", mid, identity, src, "read")
        if "created_at" in m:
            self._utc(m["created_at"], f"message {mid} created_at", (mid, "created_at"), src)
        if ticket_id is not None:
            self._same(record.fields, "message", mid, "ticket_id", ticket_id.lower(), src)
        for name in ("author_type", "body", "created_at"):
            if name in m:
                self._same(
                    record.fields, "message", mid, name, m[name], src, stamp=name == "created_at"
                )
        if record.posted is not None and "author_type" in m and m["author_type"] != CUSTOMER:
            self._violate(
                AUTHOR,
                (mid.lower(), src.channel),
                f"message {mid}, posted through the API, has author_type {m['author_type']!r} here, not {CUSTOMER!r}",
                src,
                record.posted,
            )

    def _posted(
        self,
        data: dict[str, Any],
        sent: dict[str, Any],
        ticket_id: str,
        identity: str | None,
        src: Source,
    ) -> None:
        """An addMessage answer: the message is the customer's, holds what was sent, belongs to the ticket."""
        self._claim("ticket", ticket_id, identity, src, "posted to")
        mid = data.get("id")
        if not isinstance(mid, str):
            return
        record = self._messages.setdefault(mid.lower(), _Message())
        record.posted = src
        record.span = (src.start, src.end)
        body = sent.get("body")
        if plain(body) and data.get("body") != body:
            self._violate(
                SAME_FIELDS,
                ("sent", mid.lower(), "body"),
                f"message {mid}: the answer's body is {_short(data.get('body'))} for a request that sent {_short(body)}",
                src,
            )
        self._within_request(data.get("created_at"), f"message {mid} created_at", src)
        ticket = self._tickets.get(ticket_id.lower())
        opened = ticket.fields.get("created_at") if ticket else None
        if opened is not None:
            self._predates(mid, ticket_id, data.get("created_at"), opened.value, src, opened.source)
        self._message_seen(data, ticket_id, identity, src)

    def _predates(
        self,
        mid: str,
        tid: str,
        stamp: Any,
        opened: Any,
        src: Source,
        earlier: Source | None = None,
    ) -> None:
        """timestamps-utc-coherent: no message is stamped before its ticket."""
        a, b = instant(stamp), instant(opened)
        if a is not None and b is not None and a < b:
            self._violate(
                TIMESTAMPS,
                ("predates", mid.lower(), src.channel),
                f"message {mid} of ticket {tid} is stamped {stamp}, before its ticket ({opened})",
                src,
                earlier,
            )

    def _event(self, event: Any) -> None:
        """One webhook delivery: nothing secret in it, and its objects equal the API's."""
        src = Source(
            f"webhook delivery #{event.seq} ({event.event_type or 'no event type'})",
            f"webhook {event.event_type}",
            event=event,
            start=float(event.received_at or 0.0),
            end=float(event.received_at or 0.0),
        )
        raw = event.body or json.dumps(event.payload, ensure_ascii=False)
        self._scan(raw, dict(event.headers or {}), src)
        payload = event.payload
        if not event.valid or not isinstance(payload, dict):
            return
        # The sink's endpoint is the main workspace's, unless it is shared with others.
        owner = None if self._shared else MAIN
        if "created_at" in payload:
            self._utc(
                payload["created_at"], f"{event.event_type} payload created_at", ("payload",), src
            )
        if event.event_type == TICKET_CREATED and isinstance(payload.get("ticket_id"), str):
            ticket = {k: v for k, v in payload.items() if k not in ("event_type", "ticket_id")}
            ticket["id"] = payload["ticket_id"]
            self._ticket_seen(ticket, owner, src, "delivered")
        elif event.event_type == MESSAGE_CREATED and isinstance(payload.get("message_id"), str):
            ticket_id = payload.get("ticket_id")
            if isinstance(ticket_id, str):
                self._ticket_seen(
                    {"id": ticket_id, "ticket_number": payload.get("ticket_number")}
                    if "ticket_number" in payload
                    else {"id": ticket_id},
                    owner,
                    src,
                    "delivered",
                )
            message = {k: payload[k] for k in ("author_type", "body", "created_at") if k in payload}
            message["id"] = payload["message_id"]
            self._message_seen(
                message, ticket_id if isinstance(ticket_id, str) else None, owner, src
            )
