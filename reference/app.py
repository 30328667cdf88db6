"""The HTTP routes of the reference deployment (Starlette), checks in the documented order.

Order (public-docs part B 13): unknown path 404 / unsupported method 405, then 401, then 429,
then 400 for the query or body, then 404/409 for the ticket.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
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
# The 401 fault's body, and the bucket unauthenticated requests land in under ratelimit-401-counted.
_ANON = "\x00unauthenticated"
_SHARED = "\x00shared"
CONCURRENCY_LIMIT = 4  # in-flight requests the load-5xx-under-concurrency fault tolerates

Handler = Callable[[Request], Awaitable[Response]]


class _NoJSON(Exception):
    """The body is not JSON (or holds strings that cannot be stored)."""


def _reject_constant(name: str) -> Any:
    # JSON has no NaN/Infinity; Python's parser would accept them.
    raise ValueError(name)


def _parse_json(raw: bytes) -> Any:
    try:
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
        self.validators: Validators = build_validators(self.faults)
        self.errors = self.validators.errors
        default_priority = next(
            r.default for r in self.validators.create_ticket.rules if r.name == "priority"
        )
        self.tickets = Tickets(store, self.faults, default_priority=default_priority or "medium")
        self.dispatcher = dispatcher
        self.limiter = SlidingWindowLimiter(config.rate_limit, config.rate_window)
        self.in_flight = 0

    # -- responses -----------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, **extra}, status_code=status)

    def server_error(self) -> JSONResponse:
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

    def invalid(self, exc: Invalid) -> Response:
        field_errors: Any = exc.field_errors
        if self.faults.on("validation-field-errors-shape"):
            field_errors = [
                {"field": k, "message": m} for k, msgs in exc.field_errors.items() for m in msgs
            ]
        status = 422 if self.faults.on("validation-422") else 400
        details = {"fieldErrors": field_errors, "formErrors": exc.form_errors}
        return self.error(status, self.errors.invalid_input, details=details)

    def rate_limited(self) -> Response:
        # Retry-After and window_seconds are whole seconds; round up so waiting that long suffices.
        window = math.ceil(self.config.rate_window)
        if self.faults.on("ratelimit-wrong-body"):
            body: dict[str, Any] = {"error": "Too many requests"}
        else:
            body = {
                "error": self.errors.rate_limited,
                "limit": self.config.rate_limit,
                "window_seconds": window,
            }
        headers = {} if self.faults.on("ratelimit-no-retry-after") else {"Retry-After": str(window)}
        return JSONResponse(body, status_code=429, headers=headers)

    # -- the checks before an operation ----------------------------------------------------------

    def authenticate(self, request: Request) -> tuple[str, str] | Response:
        """(key id, workspace id) of the presented key, or the 401 answer."""
        f = self.faults
        header = request.headers.get("authorization")
        if header is None:
            return self.server_error() if f.on("auth-missing-header-500") else self.unauthorized()
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if f.on("auth-any-scheme-accepted"):
            token = token or scheme
        elif (
            scheme != "Bearer" if f.on("auth-scheme-case-sensitive") else scheme.lower() != "bearer"
        ):
            return self.unauthorized()
        if not token:
            return self.unauthorized()
        found = self.store.key_for_token(token)
        if found is None:
            return (
                self.error(403, "Forbidden")
                if f.on("auth-unknown-key-403")
                else self.unauthorized()
            )
        key_id, workspace_id, revoked = found
        if revoked and not f.on("auth-revoked-key-accepted"):
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
            also = _ANON if f.on("ratelimit-401-counted") else None
            if not self.limiter.hit(bucket, also=also):
                return self.rate_limited()
        return workspace_id

    async def body(self, request: Request) -> Any:
        return _parse_json(await request.body())

    def find_ticket(
        self, raw_id: str, workspace_id: str, *, other_workspace_ok: bool
    ) -> tuple[Any, ...] | None:
        """The ticket row visible to the workspace; a non-UUID id is simply unknown (part B 8)."""
        if not _UUID.fullmatch(raw_id):
            if self.faults.on("errors-non-uuid-500"):
                raise ValueError(f"badly formed ticket id {raw_id!r}")
            return None
        row = self.store.ticket(raw_id.lower())
        if row is None or (workspace_of(row) != workspace_id and not other_workspace_ok):
            return None
        return row

    async def _load_faults(self, *, read: bool) -> Response | None:
        """Planted load-only behaviour around an operation."""
        if read and self.faults.on("load-slow-reads"):
            await asyncio.sleep(random.uniform(0.3, 0.8))
        if self.faults.on("load-5xx-under-concurrency"):
            # Yield so that concurrent requests overlap, as they would in a real server.
            await asyncio.sleep(0.02)
            if self.in_flight > CONCURRENCY_LIMIT:
                return self.server_error()
        return None

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
        if f.on("list-limit-ignored"):
            limit = self.validators.limit.default
        if f.on("list-limit-off-by-one"):
            limit += 1
        if (answer := await self._load_faults(read=True)) is not None:
            return answer
        rows = self.store.list_tickets(
            None if f.on("isolation-list-leaks") else admitted,
            limit,
            include_merged=f.on("list-merged-included"),
            oldest_first=f.on("list-oldest-first"),
        )
        return JSONResponse({"data": [self.tickets.ticket_json(r) for r in rows]})

    async def create_ticket(self, request: Request) -> Response:
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        try:
            fields = self.validators.create_ticket(await self.body(request))
        except _NoJSON:
            if self.faults.on("validation-invalid-json-500"):
                return self.server_error()
            return self.error(400, self.errors.invalid_json)
        except Invalid as exc:
            if self.faults.on("webhook-rejected-fired"):
                self._fire_for_rejected(admitted)
            return self.invalid(exc)
        if (answer := await self._load_faults(read=False)) is not None:
            return answer
        number = None
        if self.faults.on("load-ticket-number-race"):
            # Read, yield to other requests, then write: concurrent creates read the same value.
            number = self.store.peek_ticket_number(admitted) + 1
            await asyncio.sleep(0.01)
        ticket = self.tickets.create(admitted, fields, number=number)
        self.dispatcher.wake()
        return JSONResponse({"data": self.tickets.public(ticket)}, status_code=201)

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
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        if (answer := await self._load_faults(read=True)) is not None:
            return answer
        row = self.find_ticket(
            request.path_params["ticket_id"],
            admitted,
            other_workspace_ok=self.faults.on("isolation-get-other-workspace"),
        )
        if row is None or (merged(row) and self.faults.on("errors-merged-get-404")):
            return self.not_found()
        return JSONResponse({"data": self.tickets.detail_json(row)})

    async def add_message(self, request: Request) -> Response:
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
        try:
            fields = self.validators.add_message(await self.body(request))
        except _NoJSON:
            if f.on("validation-invalid-json-500"):
                return self.server_error()
            return self.error(400, self.errors.invalid_json)
        except Invalid as exc:
            return self.invalid(exc)
        if (answer := await self._load_faults(read=False)) is not None:
            return answer
        row = self.find_ticket(ticket_id, admitted, other_workspace_ok=other_ok)
        if row is None:
            return self.not_found()
        if merged(row) and not f.on("errors-merged-accepted"):
            return self.error(400 if f.on("errors-merged-400") else 409, self.errors.merged)
        message = self.tickets.add_message(row, fields["body"])
        self.dispatcher.wake()
        return JSONResponse({"data": self.tickets.message_json(message)}, status_code=201)


class _Endpoint:
    """One documented path: its methods' handlers, and 405 with ``Allow`` for any other method."""

    def __init__(self, api: Api, handlers: dict[str, Handler]) -> None:
        self.api = api
        if "GET" in handlers:
            handlers = {**handlers, "HEAD": handlers["GET"]}
        self.handlers = handlers
        self.allow = ", ".join(sorted(handlers))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        handler = self.handlers.get(request.method)
        api = self.api
        if handler is None:
            response = api.method_not_allowed(self.allow)
        else:
            api.in_flight += 1
            try:
                response = await handler(request)
            finally:
                api.in_flight -= 1
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
        Route(f"{API}/tickets/{{ticket_id}}/messages", _Endpoint(api, {"POST": api.add_message})),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: crashed},
        lifespan=lifespan,
    )
    # '/api/v1/tickets/' is an undocumented path (404), not a redirect.
    app.router.redirect_slashes = False
    app.state.api = api
    app.state.dispatcher = dispatcher
    return app
