"""The HTTP routes of the reference deployment (Starlette), checks in the documented order.

Order (public-docs part B 13): unknown path 404 / unsupported method 405, then 401, then 429,
then 400 for the query or body, then 404/409 for the ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tixallo_qa.core import events
from tixallo_qa.core.events import TICKET_CREATED
from tixallo_qa.reference.config import ServerConfig
from tixallo_qa.reference.dispatcher import Dispatcher, enqueue
from tixallo_qa.reference.faults import FaultSet
from tixallo_qa.reference.limiter import SlidingWindowLimiter
from tixallo_qa.reference.store import Store, new_id
from tixallo_qa.reference.tickets import SOURCE_API, STATUS_NEW, Tickets, merged, workspace_of
from tixallo_qa.reference.validation import Invalid, Validators, build_validators

API = "/api/v1"
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII
)
# What a lenient UUID parser (Postgres' uuid input) also takes: no hyphens, or braces.
_UUID_LOOSE = re.compile(r"\{?[0-9a-fA-F]{32}\}?|\{" + _UUID.pattern + r"\}", re.ASCII)
# Optional request fields of createTicket (validation-null-optional-500).
_OPTIONAL_FIELDS = ("customer_name", "priority")
# The API key's length: "txk_" + token_urlsafe(24) (auth-key-suffix-accepted compares only that).
_KEY_LENGTH = 36
# Where auth-key-in-query reads the key, by its parameter (default 0: ?api_key=).
_QUERY_KEY_NAMES = ("api_key", "key", "token", "access_token")
# The 401 fault's body, and the bucket unauthenticated requests land in under ratelimit-401-counted.
_ANON = "\x00unauthenticated"
_SHARED = "\x00shared"
CONCURRENCY_LIMIT = 4  # in-flight requests the load-5xx-under-concurrency fault tolerates
# Load faults' fixed parts (their parameter is the other number).
SLOW_TAIL_SHARE = 0.03  # share of gets load-slow-get-tail slows down
BURST_503_FOR = 0.25  # seconds of 503s per period under load-503-burst
HANG_FOR = 3600.0  # seconds load-hang keeps a request unanswered
OVERLAP = 0.01  # seconds the concurrency faults hold a request, so that concurrent ones overlap
BACKDATE = 5.0  # seconds load-messages-out-of-order puts a message in the past
# Faults that act on the connection itself, before any route (see _App).
TRANSPORT_FAULTS = frozenset(
    {"load-hang", "load-connection-reset", "load-no-answer-under-concurrency"}
)

Handler = Callable[[Request], Awaitable[Response]]


class _NoJSON(Exception):
    """The body is not JSON (or holds strings that cannot be stored)."""


def _reject_constant(name: str) -> Any:
    # JSON has no NaN/Infinity; Python's parser would accept them.
    raise ValueError(name)


def _parse_json(raw: bytes, *, first_value_only: bool = False) -> Any:
    try:
        if first_value_only:
            # The validation-json-trailing fault: read one value, ignore whatever follows it.
            decoder = json.JSONDecoder(parse_constant=_reject_constant)
            value = decoder.raw_decode(raw.decode().lstrip())[0]
        else:
            value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise _NoJSON from None
    try:
        # Lone surrogates ("\ud800") parse but cannot be stored as UTF-8 text.
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise _NoJSON from None
    return value


class Api:
    """The four public operations plus the checks in front of them."""

    def __init__(self, config: ServerConfig, store: Store, dispatcher: Dispatcher) -> None:
        self.config = config
        self.store = store
        self.faults = FaultSet(config.faults)
        self.admitted = 0  # authenticated requests since the start (the warm-up fault counts them)
        self.validators: Validators = build_validators(self.faults)
        self.errors = self.validators.errors
        default_priority = next(
            r.default for r in self.validators.create_ticket.rules if r.name == "priority"
        )
        self.tickets = Tickets(store, self.faults, default_priority=default_priority or "medium")
        self.dispatcher = dispatcher
        extra = 1 if self.faults.on("ratelimit-off-by-one") and config.rate_limit > 0 else 0
        self.limiter = SlidingWindowLimiter(config.rate_limit + extra, config.rate_window)
        self.refused: dict[str, int] = {}  # 429s per bucket (the early-retry-served fault)
        self.in_flight = 0
        # Load faults: creates in flight, messages in flight per ticket, the last create's subject.
        self.creates_in_flight = 0
        self.messages_in_flight: dict[str, int] = {}
        self.last_subject: str | None = None
        self.last_read: dict[str, dict[str, Any]] = {}  # per workspace, the last ticket read by id
        self.answers = 0  # 2xx answers so far (load-answer-cut)

    # -- responses -----------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return self._json_error({"error": message, **extra}, status)

    def _json_error(
        self, body: dict[str, Any], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        f = self.faults
        if f.on("errors-text-content-type") and status == f.param("errors-text-content-type", 404):
            return PlainTextResponse(json.dumps(body), status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    def server_error(self) -> Response:
        return self.error(500, "Internal server error")

    def not_found(self) -> Response:
        if self.faults.on("errors-404-body"):
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return self.error(404, self.errors.not_found)

    def unknown_path(self) -> Response:
        if self.faults.on("errors-unknown-path-text"):
            return PlainTextResponse("Not Found", status_code=404)
        return self.not_found()

    def method_not_allowed(self, allow: str) -> Response:
        headers = {} if self.faults.on("errors-405-no-allow") else {"Allow": allow}
        return JSONResponse({"error": "Method not allowed"}, status_code=405, headers=headers)

    def unauthorized(self) -> Response:
        if self.faults.on("ratelimit-401-counted"):
            self.limiter.record(_ANON)
        if self.faults.on("auth-wrong-401-body"):
            return self.error(401, "Invalid API key")
        return self.error(401, self.errors.unauthorized)

    def invalid(self, exc: Invalid, **extra: Any) -> Response:
        field_errors: Any = exc.field_errors
        if self.faults.on("validation-field-errors-shape"):
            field_errors = [
                {"field": k, "message": m} for k, msgs in exc.field_errors.items() for m in msgs
            ]
        status = 422 if self.faults.on("validation-422") else 400
        details = {"fieldErrors": field_errors, "formErrors": exc.form_errors, **extra}
        if exc.form_errors and self.faults.on("validation-form-errors-shape"):
            details = {"formErrors": exc.form_errors, **extra}
        return self.error(status, self.errors.invalid_input, details=details)

    def rate_limited(self, request: Request | None = None) -> Response:
        # Retry-After and window_seconds are whole seconds; round up so waiting that long suffices.
        window = math.ceil(self.config.rate_window)
        retry_after = window
        if self.faults.on("ratelimit-retry-after-lie"):
            share = self.faults.param("ratelimit-retry-after-lie", 0.1)
            retry_after = max(1, math.ceil(self.config.rate_window * share))
        if self.faults.on("ratelimit-wrong-body"):
            body: dict[str, Any] = {"error": "Too many requests"}
        else:
            body = {
                "error": self.errors.rate_limited,
                "limit": self.config.rate_limit,
                "window_seconds": window * 1000
                if self.faults.on("ratelimit-window-ms")
                else window,
            }
        headers = (
            {} if self.faults.on("ratelimit-no-retry-after") else {"Retry-After": str(retry_after)}
        )
        if (
            request is not None
            and request.method == "POST"
            and self.faults.on("ratelimit-no-retry-after-on-writes")
        ):
            headers = {}
        if (
            request is not None
            and "ticket_id" in request.path_params
            and self.faults.on("ratelimit-no-retry-after-on-ticket-paths")
        ):
            headers = {}
        return self._json_error(body, 429, headers)

    # -- the checks before an operation ----------------------------------------------------------

    def authenticate(self, request: Request) -> tuple[str, str] | Response:
        """(key id, workspace id) of the presented key, or the 401 answer."""
        f = self.faults
        header = request.headers.get("authorization")
        if header is None and f.on("auth-key-in-query"):
            name = _QUERY_KEY_NAMES[int(f.param("auth-key-in-query", 0))]
            if request.query_params.get(name):
                header = f"Bearer {request.query_params[name]}"
        if header is None:
            return self.server_error() if f.on("auth-missing-header-500") else self.unauthorized()
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if not token and scheme.lower() == "bearer" and f.on("auth-empty-token-500"):
            return self.server_error()
        if f.on("auth-any-scheme-accepted"):
            token = token or scheme
        elif (
            scheme != "Bearer" if f.on("auth-scheme-case-sensitive") else scheme.lower() != "bearer"
        ):
            return self.unauthorized()
        if not token:
            return self.unauthorized()
        found = self.store.key_for_token(token)
        if found is None and f.on("auth-key-suffix-accepted") and len(token) > _KEY_LENGTH:
            found = self.store.key_for_token(token[:_KEY_LENGTH])
        if found is None:
            return (
                self.error(403, "Forbidden")
                if f.on("auth-unknown-key-403")
                else self.unauthorized()
            )
        key_id, workspace_id, revoked = found
        on_ticket_path = "ticket_id" in request.path_params
        if (
            revoked
            and not f.on("auth-revoked-key-accepted")
            and not (on_ticket_path and f.on("auth-revoked-on-ticket-paths"))
        ):
            return self.unauthorized()
        return key_id, workspace_id

    def admit(self, request: Request) -> str | Response:
        """Authenticate, then charge the key's rate limit: the workspace id, or the 401/429."""
        auth = self.authenticate(request)
        if isinstance(auth, Response):
            return auth
        key_id, workspace_id = auth
        f = self.faults
        if not f.on("ratelimit-none"):
            bucket = _SHARED if f.on("ratelimit-shared") else key_id
            if f.on("ratelimit-per-workspace"):
                bucket = workspace_id
            also = _ANON if f.on("ratelimit-401-counted") else None
            if not self.limiter.hit(bucket, also=also):
                self.refused[bucket] = self.refused.get(bucket, 0) + 1
                every = int(f.param("ratelimit-early-retry-served", 2))
                if not (f.on("ratelimit-early-retry-served") and self.refused[bucket] % every == 0):
                    return self.rate_limited(request)
            else:
                request.state.rate_bucket = bucket
        self.admitted += 1
        if f.on("errors-warm-up-500") and self.admitted <= f.param("errors-warm-up-500", 10):
            return self.server_error()  # after the limit: it counts like any answer (part B 14)
        return workspace_id

    async def body(self, request: Request) -> Any:
        return _parse_json(await request.body())

    def find_ticket(
        self, raw_id: str, workspace_id: str, *, other_workspace_ok: bool
    ) -> tuple[Any, ...] | None:
        """The ticket row visible to the workspace; a non-UUID id is simply unknown (part B 8)."""
        if not _UUID.fullmatch(raw_id) and self.faults.on("errors-uuid-prefix"):
            prefix = _UUID.match(raw_id)
            raw_id = prefix.group(0) if prefix else raw_id
        if not _UUID.fullmatch(raw_id):
            if self.faults.on("errors-unhyphenated-id-500") and _UUID_LOOSE.fullmatch(raw_id):
                raise ValueError(f"ticket id {raw_id!r} parsed by the database, not by the route")
            if self.faults.on("errors-non-uuid-500"):
                raise ValueError(f"badly formed ticket id {raw_id!r}")
            return None
        row = self.store.ticket(raw_id.lower())
        if row is None or (workspace_of(row) != workspace_id and not other_workspace_ok):
            return None
        return row

    def _too_large(self, raw: bytes) -> Response | None:
        """errors-body-size-limit: a body parser's size cap below what the documented limits need."""
        f = self.faults
        if (
            f.on("errors-body-size-limit")
            and len(raw) > f.param("errors-body-size-limit", 100) * 1024
        ):
            return self.error(413, "Payload too large")
        return None

    def _body_crash(self, parsed: Any, *, create: bool) -> Response | None:
        """Faults of code that assumes an object body, or a string where a field is present."""
        f = self.faults
        if not isinstance(parsed, dict):
            return self.server_error() if f.on("validation-non-object-500") else None
        if (
            create
            and f.on("validation-null-optional-500")
            and any(k in parsed and parsed[k] is None for k in _OPTIONAL_FIELDS)
        ):
            return self.server_error()  # e.g. name.trim() on null
        return None

    def _ticket_first(self, request: Request) -> Response | None:
        """auth-ticket-before-auth: the ticket is loaded before the key is checked."""
        if not self.faults.on("auth-ticket-before-auth"):
            return None
        raw_id = request.path_params["ticket_id"]
        if not _UUID.fullmatch(raw_id) or self.store.ticket(raw_id.lower()) is None:
            return self.not_found()
        return None

    def _merged_answer(self) -> Response:
        f = self.faults
        if f.on("errors-409-text-content-type"):
            return PlainTextResponse(json.dumps({"error": self.errors.merged}), status_code=409)
        return self.error(400 if f.on("errors-merged-400") else 409, self.errors.merged)

    def _fire_for_rejected_message(self, row: tuple[Any, ...], sent: Any) -> None:
        """webhook-rejected-message-fired: the event is queued before validation fails."""
        body = sent.get("body") if isinstance(sent, dict) else None
        message = {
            "id": new_id(),
            "author_type": "customer",
            "body": body if isinstance(body, str) else "",
            "created_at": self.store.now(),
        }
        ticket = {"id": str(row[0]), "ticket_number": int(row[1])}
        with self.store.tx():
            enqueue(
                self.store,
                self.faults,
                workspace_of(row),
                events.payload(events.MESSAGE_CREATED, ticket, message),
            )
        self.dispatcher.wake()

    async def _load_faults(self, op: str, workspace_id: str) -> Response | None:
        """Planted load-only behaviour around an operation (list, get, create or message)."""
        f = self.faults
        read = op in ("list", "get")
        if read and f.on("load-slow-reads"):
            await asyncio.sleep(random.uniform(0.3, 0.8))
        if op == "list" and f.on("load-slow-list"):
            await asyncio.sleep(f.param("load-slow-list", 302) / 1000)
        if op == "create" and f.on("load-slow-create"):
            await asyncio.sleep(f.param("load-slow-create", 304) / 1000)
        if op == "get" and f.on("load-slow-get-tail") and random.random() < SLOW_TAIL_SHARE:
            await asyncio.sleep(f.param("load-slow-get-tail", 810) / 1000)
        per_100 = 0.0
        if op == "list" and f.on("load-slow-as-data-grows"):
            per_100 = f.param("load-slow-as-data-grows", 20)
        if op == "create" and f.on("load-create-slows-as-data-grows"):
            per_100 = f.param("load-create-slows-as-data-grows", 25)
        if per_100:
            tickets = self.store.peek_ticket_number(workspace_id)
            await asyncio.sleep(per_100 * tickets / 100 / 1000)
        if f.on("load-503-burst") and time.time() % f.param("load-503-burst", 2) < BURST_503_FOR:
            return self.error(503, "Service unavailable")
        if f.on("load-5xx-under-concurrency"):
            # Yield so that concurrent requests overlap, as they would in a real server.
            await asyncio.sleep(0.02)
            if self.in_flight > f.param("load-5xx-under-concurrency", CONCURRENCY_LIMIT):
                return self.server_error()
        return None

    async def transport_fault(self, send: Send) -> bool:
        """Planted faults of the connection: no answer ever, a reset, a close without an answer."""
        f = self.faults
        if f.on("load-hang") and random.random() < f.param("load-hang", 0.01):
            await asyncio.sleep(HANG_FOR)
            return True
        if f.on("load-connection-reset") and random.random() < f.param(
            "load-connection-reset", 0.01
        ):
            return await _drop_connection(send, reset=True)
        if f.on("load-no-answer-under-concurrency"):
            self.in_flight += 1
            try:
                await asyncio.sleep(OVERLAP)
                crowded = self.in_flight > f.param("load-no-answer-under-concurrency", 8)
            finally:
                self.in_flight -= 1
            if crowded:
                return await _drop_connection(send, reset=False)
        return False

    async def _crowded(self, fault: str, default: float, *, creates: bool = False) -> bool:
        """Whether more than the fault's number of requests (or creates) overlap this one."""
        if creates:
            self.creates_in_flight += 1
        try:
            await asyncio.sleep(OVERLAP)
            crowd = self.creates_in_flight if creates else self.in_flight
        finally:
            if creates:
                self.creates_in_flight -= 1
        return crowd > self.faults.param(fault, default)

    def cut(self, response: Response) -> Response:
        """load-answer-cut: every Nth 2xx answer loses its second half (a consistent length)."""
        if not 200 <= response.status_code < 300 or not isinstance(response.body, bytes):
            return response
        self.answers += 1
        if self.answers % int(self.faults.param("load-answer-cut", 300)):
            return response
        body = response.body
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(body[: len(body) // 2], response.status_code, headers=headers)

    async def _webhook_copies(self) -> int:
        """How many times this request's event is queued (load-webhook-double-under-concurrency)."""
        f = self.faults
        if not f.on("load-webhook-double-under-concurrency"):
            return 1
        await asyncio.sleep(OVERLAP)
        return 2 if self.in_flight > f.param("load-webhook-double-under-concurrency", 6) else 1

    # -- operations ----------------------------------------------------------------------------

    async def list_tickets(self, request: Request) -> Response:
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        try:
            limit = self.validators.limit.parse(request.query_params.get("limit"))
        except Invalid as exc:
            return self.invalid(exc)
        f = self.faults
        if f.on("list-unknown-param-400"):
            unknown = sorted({k for k in request.query_params if k != "limit"})
            if unknown:
                named = ", ".join(f"'{k}'" for k in unknown)
                return self.invalid(
                    Invalid(form_errors=[f"Unrecognized key(s) in object: {named}"])
                )
        if f.on("list-limit-capped"):
            limit = min(limit, int(f.param("list-limit-capped", 20)))
        skip = 0
        if f.on("list-page-applied"):
            # The planned page parameter, implemented early: page N skips N-1 pages.
            with contextlib.suppress(ValueError):
                skip = max(0, int(request.query_params.get("page", "1")) - 1) * limit
        if f.on("list-limit-ignored"):
            limit = self.validators.limit.default
        if f.on("list-limit-off-by-one"):
            limit += 1
        if (answer := await self._load_faults("list", admitted)) is not None:
            return answer
        small = limit <= f.param("list-oldest-first-small", 3)
        rows = self.store.list_tickets(
            None if f.on("isolation-list-leaks") else admitted,
            limit,
            include_merged=f.on("list-merged-included"),
            oldest_first=f.on("list-oldest-first") or (small and f.on("list-oldest-first-small")),
            by_activity=f.on("list-order-by-activity"),
            status=request.query_params.get("status")
            if f.on("list-status-filter-applied")
            else None,
            skip=skip,
        )
        if f.on("load-list-short-under-concurrency") and await self._crowded(
            "load-list-short-under-concurrency", 6
        ):
            rows = rows[: max(1, len(rows) // 2)]  # load shedding: half a page when busy
        if f.on("isolation-list-leak-small") and limit <= f.param("isolation-list-leak-small", 5):
            leaked = self.store.newest_elsewhere(admitted)
            if leaked is not None:
                rows = [*rows[: limit - 1], leaked]
        return JSONResponse({"data": [self.tickets.listed_json(r) for r in rows]})

    async def create_ticket(self, request: Request) -> Response:
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        raw = await request.body()
        if (too_big := self._too_large(raw)) is not None:
            return too_big
        try:
            parsed = _parse_json(raw)
            if (crash := self._body_crash(parsed, create=True)) is not None:
                return crash
            fields = self.validators.create_ticket(parsed)
        except _NoJSON:
            if self.faults.on("validation-invalid-json-500"):
                return self.server_error()
            return self.error(400, self.errors.invalid_json)
        except Invalid as exc:
            if self.faults.on("webhook-rejected-fired"):
                self._fire_for_rejected(admitted)
            return self.invalid(exc)
        if (answer := await self._load_faults("create", admitted)) is not None:
            return answer
        f = self.faults
        number = None
        if f.on("load-ticket-number-race"):
            # Read, yield to other requests, then write: concurrent creates read the same value.
            number = self.store.peek_ticket_number(admitted) + 1
            await asyncio.sleep(f.param("load-ticket-number-race", 10) / 1000)
        lose = f.on("load-lost-create-under-concurrency")
        cross = f.on("load-crossed-fields-under-concurrency")
        crossed_event = f.on("load-webhook-crossed-under-concurrency")
        crowd = 0
        if lose or cross or crossed_event:
            self.creates_in_flight += 1
            try:
                await asyncio.sleep(OVERLAP)
                crowd = self.creates_in_flight
            finally:
                self.creates_in_flight -= 1
        other = self.last_subject
        event_changes = None
        if (
            crossed_event
            and crowd > f.param("load-webhook-crossed-under-concurrency", 4)
            and other is not None
        ):
            event_changes = {"subject": other}  # the event is built from a shared buffer
        ticket = self.tickets.create(
            admitted,
            fields,
            number=number,
            copies=await self._webhook_copies(),
            event_changes=event_changes,
        )
        self.last_subject = ticket["subject"]
        public = self.tickets.public(ticket)
        if f.on("load-create-answer-no-id-under-concurrency") and await self._crowded(
            "load-create-answer-no-id-under-concurrency", 3, creates=True
        ):
            public = {k: v for k, v in public.items() if k != "id"}
        if lose and crowd > f.param("load-lost-create-under-concurrency", 4):
            self.store.forget_ticket(ticket["id"])  # acknowledged below, never stored
        elif (
            cross
            and crowd > f.param("load-crossed-fields-under-concurrency", 4)
            and other is not None
        ):
            self.store.set_subject(ticket["id"], other)  # a buffer shared between requests
        self.dispatcher.wake()
        return JSONResponse({"data": public}, status_code=201)

    def _fire_for_rejected(self, workspace_id: str) -> None:
        now = self.store.now()
        ghost = {
            "id": new_id(),
            "created_at": now,
            "ticket_number": self.store.peek_ticket_number(workspace_id) + 1,
            "subject": "",
            "status": STATUS_NEW,
            "priority": self.tickets.default_priority,
            "source": SOURCE_API,
            "customer_id": new_id(),
        }
        with self.store.tx():
            enqueue(self.store, self.faults, workspace_id, events.payload(TICKET_CREATED, ghost))
        self.dispatcher.wake()

    async def get_ticket(self, request: Request) -> Response:
        if (early := self._ticket_first(request)) is not None:
            return early
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        if (answer := await self._load_faults("get", admitted)) is not None:
            return answer
        row = self.find_ticket(
            request.path_params["ticket_id"],
            admitted,
            other_workspace_ok=self.faults.on("isolation-get-other-workspace"),
        )
        if row is None and self.faults.on("isolation-merged-readable-elsewhere"):
            # Merged tickets are resolved through the survivor, without the workspace filter.
            anywhere = self.find_ticket(
                request.path_params["ticket_id"], admitted, other_workspace_ok=True
            )
            row = anywhere if anywhere is not None and merged(anywhere) else None
        if row is None or (merged(row) and self.faults.on("errors-merged-get-404")):
            return self.not_found()
        headers = {}
        if self.faults.on("notes-marker-in-header"):
            notes = self.store.internal_notes(str(row[0]))
            if notes:
                headers["X-Ticket-Notes"] = " | ".join(notes)
        detail = self.tickets.detail_json(row)
        if self.faults.on("load-get-crossed-under-concurrency"):
            # A buffer shared between requests: a crowded read answers the last one read.
            other = self.last_read.get(admitted)
            self.last_read[admitted] = detail
            if other is not None and await self._crowded("load-get-crossed-under-concurrency", 5):
                detail = other
        return JSONResponse({"data": detail}, headers=headers)

    async def add_message(self, request: Request) -> Response:
        if (early := self._ticket_first(request)) is not None:
            return early
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        f = self.faults
        ticket_id = request.path_params["ticket_id"]
        other_ok = f.on("isolation-message-other-workspace")
        if f.on("errors-check-order"):
            row = self.find_ticket(ticket_id, admitted, other_workspace_ok=other_ok)
            if row is not None and merged(row):
                return self.error(409, self.errors.merged)
        raw = await request.body()
        if (too_big := self._too_large(raw)) is not None:
            return too_big
        parsed: Any = None
        try:
            parsed = _parse_json(raw, first_value_only=f.on("validation-json-trailing"))
            if (crash := self._body_crash(parsed, create=False)) is not None:
                return crash
            fields = self.validators.add_message(parsed)
        except _NoJSON:
            if f.on("validation-invalid-json-500"):
                return self.server_error()
            return self.error(400, self.errors.invalid_json)
        except Invalid as exc:
            if f.on("webhook-rejected-message-fired"):
                row = self.find_ticket(ticket_id, admitted, other_workspace_ok=other_ok)
                if row is not None and not merged(row):
                    self._fire_for_rejected_message(row, parsed)
            if f.on("notes-marker-in-error"):
                row = self.find_ticket(ticket_id, admitted, other_workspace_ok=other_ok)
                notes = self.store.internal_notes(str(row[0])) if row is not None else []
                if notes:
                    return self.invalid(exc, ticket_notes=notes)
            return self.invalid(exc)
        if (answer := await self._load_faults("message", admitted)) is not None:
            return answer
        row = self.find_ticket(ticket_id, admitted, other_workspace_ok=other_ok)
        if row is None and f.on("isolation-merged-409-elsewhere"):
            anywhere = self.find_ticket(ticket_id, admitted, other_workspace_ok=True)
            if anywhere is not None and merged(anywhere):
                return self._merged_answer()
        if row is None:
            if f.on("errors-404-message-path-body"):
                return self.error(404, "Ticket not found")
            return self.not_found()
        if merged(row) and not f.on("errors-merged-accepted"):
            return self._merged_answer()
        repeat = (
            f.on("roundtrip-repeat-message-200")
            and self.store.public_message_count(str(row[0])) >= 2
        )
        lose = f.on("load-lost-message-under-concurrency")
        crowd = 0
        if lose:
            key = str(row[0])
            self.messages_in_flight[key] = self.messages_in_flight.get(key, 0) + 1
            try:
                await asyncio.sleep(OVERLAP)
                crowd = self.messages_in_flight[key]
            finally:
                self.messages_in_flight[key] -= 1
                if not self.messages_in_flight[key]:
                    del self.messages_in_flight[key]
        backdate = 0.0
        if f.on("load-messages-out-of-order"):
            await asyncio.sleep(OVERLAP)
            crowded = self.in_flight > f.param("load-messages-out-of-order", 6)
            backdate = BACKDATE if crowded else 0.0
        message = self.tickets.add_message(
            row, fields["body"], copies=await self._webhook_copies(), backdate=backdate
        )
        if lose and crowd > f.param("load-lost-message-under-concurrency", 2):
            # A lost update: acknowledged, then overwritten.
            self.store.forget_message(message["id"])
        self.dispatcher.wake()
        return JSONResponse(
            {"data": self.tickets.message_json(message)}, status_code=200 if repeat else 201
        )


async def _drop_connection(send: Send, *, reset: bool) -> bool:
    """Close the client's connection without an answer (a TCP reset with ``reset``); False in-process."""
    # uvicorn's send is a bound method of its request cycle, which holds the transport.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER 0: closing sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let uvicorn see the disconnect before the app returns, so it sends no 500 on a dead socket.
    await asyncio.sleep(0.005)
    return True


class _App(Starlette):
    """The Starlette app, with the connection-level faults in front of everything."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api: Api = self.state.api
        if (
            scope["type"] == "http"
            and api.faults.active & TRANSPORT_FAULTS
            and str(scope.get("path", "")).startswith(API)
            and await api.transport_fault(send)
        ):
            return
        await super().__call__(scope, receive, send)


class _Endpoint:
    """One documented path: its methods' handlers, and 405 with ``Allow`` for any other method."""

    def __init__(self, api: Api, handlers: dict[str, Handler], *, messages: bool = False) -> None:
        self.api = api
        self.messages = messages
        if "GET" in handlers:
            handlers = {**handlers, "HEAD": handlers["GET"]}
        self.handlers = handlers
        self.allow = ", ".join(sorted(handlers))
        if api.faults.on("errors-405-allow-extra"):
            # A framework default: every method it knows, whatever the route serves.
            self.allow = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        handler = self.handlers.get(request.method)
        api = self.api
        if handler is None:
            response = api.method_not_allowed(self.allow)
            if api.faults.on("auth-before-routing"):
                auth = api.authenticate(request)
                if isinstance(auth, Response):
                    response = auth
            if (
                self.messages
                and request.method == "GET"
                and api.faults.on("errors-messages-get-404")
            ):
                response = api.not_found()
        else:
            api.in_flight += 1
            try:
                response = await handler(request)
            finally:
                api.in_flight -= 1
            if api.faults.on("load-answer-cut"):
                response = api.cut(response)
            uncounted = api.faults.param("ratelimit-status-not-counted", 400)
            bucket = getattr(request.state, "rate_bucket", None)
            if (
                bucket is not None
                and api.faults.on("ratelimit-status-not-counted")
                and response.status_code == int(uncounted)
            ):
                api.limiter.refund(bucket)
        await response(scope, receive, send)


STALL_EVERY, STALL_FOR = 4.0, 1.0  # seconds: the stall fault's period and pause


async def _stall() -> None:
    """The stall fault: now and then block the whole event loop, like a stop-the-world pause."""
    while True:
        await asyncio.sleep(STALL_EVERY - STALL_FOR)
        time.sleep(STALL_FOR)  # blocking on purpose: no request, no webhook moves meanwhile


def create_app(config: ServerConfig, store: Store) -> Starlette:
    """The ASGI app; the dispatcher runs in its lifespan, in the same event loop."""
    dispatcher = Dispatcher(
        store,
        timeout=config.webhook_timeout,
        retries=config.webhook_retries,
        faults=FaultSet(config.faults),
        scheme=config.webhook_scheme,
        ca_bundle=config.ca_bundle,
    )
    api = Api(config, store, dispatcher)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dispatcher.start()
        stall = asyncio.create_task(_stall()) if api.faults.on("stall") else None
        try:
            yield
        finally:
            if stall is not None:
                stall.cancel()
            await dispatcher.stop()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def http_error(request: Request, exc: Exception) -> Response:
        if api.faults.on("auth-before-routing"):
            auth = api.authenticate(request)
            if isinstance(auth, Response):
                return auth
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return api.method_not_allowed((exc.headers or {}).get("Allow", "GET, HEAD"))
        return api.unknown_path()

    async def crashed(request: Request, exc: Exception) -> Response:
        return api.server_error()

    routes = [
        Route("/healthz", healthz),
        Route(
            f"{API}/tickets", _Endpoint(api, {"GET": api.list_tickets, "POST": api.create_ticket})
        ),
        Route(f"{API}/tickets/{{ticket_id}}", _Endpoint(api, {"GET": api.get_ticket})),
        Route(
            f"{API}/tickets/{{ticket_id}}/messages",
            _Endpoint(api, {"POST": api.add_message}, messages=True),
        ),
    ]
    app = _App(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: crashed},
        lifespan=lifespan,
    )
    # '/api/v1/tickets/' is an undocumented path (404), not a redirect.
    app.router.redirect_slashes = False
    app.state.api = api
    app.state.dispatcher = dispatcher
    return app
