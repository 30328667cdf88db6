"""The sink's HTTP app: deliveries on the configured path, the query API under ``/_sink/``, the page at ``/``."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tixallo_qa.core import events
from tixallo_qa.core.redact import REDACTED, Redactor
from tixallo_qa.webhook_sink import payloads, verify
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.delivery import NO_ANSWER, Delivery, now
from tixallo_qa.webhook_sink.faults import FaultRule, Faults
from tixallo_qa.webhook_sink.page import PAGE_HTML
from tixallo_qa.webhook_sink.query import Filter
from tixallo_qa.webhook_sink.store import Store, StoreError

KEEP_OF_TOO_LARGE = 1024
MAX_WAIT = 300.0
# The live page's cookie carries the token for its own GETs; named per port, because browsers
# share cookies between the ports of one host.
COOKIE = "tixallo_sink_token_{port}"
REFUSED_PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Tixallo webhook sink: token needed</title></head><body style="font-family:system-ui;margin:2em">
<h1>This webhook sink needs its token</h1>
<p>Open this page as <code>/?token=&lt;TIXALLO_SINK_TOKEN&gt;</code>: the token is the one
<code>tixallo-qa sink</code> printed when it started (also saved in its settings file).</p>
</body></html>"""


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _send_json(send: Send, status: int, data: dict[str, Any]) -> None:
    await _send_body(send, status, json.dumps(data).encode())


async def _send_body(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", b"%d" % len(body)),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _hold(seconds: float, receive: Receive) -> float | None:
    """Hold a delivery's answer ``seconds``; the seconds after which the sender hung up, if it did."""
    started = asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass  # the rest of a body refused as too large
    except TimeoutError:
        return None
    return asyncio.get_running_loop().time() - started


class SinkApp:
    """ASGI app: the delivery path is served by a lean handler; everything else by Starlette."""

    def __init__(self, config: SinkConfig) -> None:
        if config.db_path is None:
            raise ValueError("SinkApp needs a db_path (webhook_sink.server picks a temporary one)")
        self.config = config
        self.verifier = verify.make_verifier(config)
        self.faults = Faults()
        self._redactor = Redactor([config.secret])
        self._secret_headers = {h.lower() for h in self.verifier.signature_headers}
        self._store: Store | None = None
        self.api = Starlette(routes=self._routes(), lifespan=self._lifespan)
        self._token = config.token.encode() if config.token else None
        self._cookie = COOKIE.format(port=config.port)
        # Deliveries in hand (reading, verifying, committing), in all and per client address.
        self._inflight = 0
        self._per_client: dict[str, int] = {}
        # Deliveries answered 503 (busy) or 408 (a body too slow to arrive): never recorded,
        # always answered, so the sender retries them.
        self.refused = {"busy": 0, "slow_body": 0}

    @property
    def inflight(self) -> int:
        """Deliveries in hand right now (what the flood limits count)."""
        return self._inflight

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the sink is not running")
        return self._store

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        assert self.config.db_path is not None
        store = Store(
            self.config.db_path,
            synchronous=self.config.synchronous,
            max_batch=self.config.max_batch,
        )
        await store.open()
        self._store = store
        try:
            yield
        finally:
            await store.close()
            self._store = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
        elif scope["path"] == self.config.path:
            # The one route that answers without credentials: Tixallo has none to send.
            await self._admit(scope, receive, send)
        elif self._token is None:
            await self.api(scope, receive, send)
        elif scope["path"] == "/" and b"token=" in scope.get("query_string", b""):
            await self._page_login(scope, send)
        elif self._authorized(scope):
            await self.api(scope, receive, send)
        else:
            await self._unauthorized(scope, send)

    # -- access ----------------------------------------------------------------------------
    def _valid(self, candidate: str) -> bool:
        assert self._token is not None
        return hmac.compare_digest(candidate.strip().encode(), self._token)

    def _authorized(self, scope: Scope) -> bool:
        """A bearer token, or (for reads only: the live page's own fetches) the page's cookie."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                kind, _, credential = value.decode("latin-1").partition(" ")
                if kind.lower() == "bearer" and self._valid(credential):
                    return True
            elif name == b"cookie" and scope["method"] in ("GET", "HEAD"):
                try:
                    jar = SimpleCookie(value.decode("latin-1"))
                except CookieError:
                    continue
                morsel = jar.get(self._cookie)
                if morsel is not None and self._valid(morsel.value):
                    return True
        return False

    async def _page_login(self, scope: Scope, send: Send) -> None:
        """``/?token=...``: set the page's cookie and drop the token from the address bar."""
        given = parse_qs(scope["query_string"].decode("latin-1")).get("token", [""])[0]
        if scope["method"] != "GET" or not self._valid(given):
            await self._unauthorized(scope, send)
            return
        cookie = f"{self._cookie}={given}; Path=/; HttpOnly; SameSite=Strict"
        if self.config.tls_cert:
            cookie += "; Secure"
        await _send_body(
            send,
            303,
            b"",
            [
                (b"location", b"/"),
                (b"set-cookie", cookie.encode()),
                (b"cache-control", b"no-store"),
            ],
            content_type=b"text/plain",
        )

    async def _unauthorized(self, scope: Scope, send: Send) -> None:
        if scope["path"] == "/":
            await _send_body(send, 401, REFUSED_PAGE, content_type=b"text/html; charset=utf-8")
            return
        body = json.dumps(
            {
                "error": "this sink needs its token: send Authorization: Bearer <TIXALLO_SINK_TOKEN>",
                "sink": "tixallo-qa",
            }
        ).encode()
        await _send_body(send, 401, body, [(b"www-authenticate", b'Bearer realm="tixallo-sink"')])

    # -- flood limits ----------------------------------------------------------------------
    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the delivery within the limits, or answer 503 with Retry-After (never drop it)."""
        client = scope.get("client")
        address = client[0] if client else ""
        c = self.config
        mine = self._per_client.get(address, 0)
        if self._inflight >= c.max_inflight or mine >= c.max_inflight_per_client:
            self.refused["busy"] += 1
            which = "" if self._inflight >= c.max_inflight else " from your address"
            await _send_body(
                send,
                503,
                b'{"error": "the sink is busy%s: retry after %d s"}'
                % (which.encode(), c.retry_after),
                # Closing sheds a flooding connection; a sender's retry opens a new one.
                [(b"retry-after", b"%d" % c.retry_after), (b"connection", b"close")],
            )
            return
        self._inflight += 1
        self._per_client[address] = mine + 1
        try:
            await self._delivery(scope, receive, send)
        finally:
            self._inflight -= 1
            left = self._per_client[address] - 1
            if left:
                self._per_client[address] = left
            else:
                del self._per_client[address]

    # -- deliveries ------------------------------------------------------------------------
    async def _delivery(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            body = b'{"error": "deliveries are POSTed here"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [(b"allow", b"POST"), (b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received_at, received_monotonic = now()
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            # One deadline for the whole body: a trickled body must not hold its slot for long.
            async with asyncio.timeout(self.config.body_timeout):
                verdict, detail, body, size = await self._read_body(headers, receive)
        except TimeoutError:
            self.refused["slow_body"] += 1
            await _send_body(
                send,
                408,
                b'{"error": "the body did not arrive within %g s"}' % self.config.body_timeout,
                [(b"connection", b"close")],
            )
            return
        if verdict is None and not _is_json_type(headers.get("content-type", "")):
            verdict = verify.WRONG_CONTENT_TYPE
            detail = (
                f"Content-Type {headers.get('content-type', '(none)')!r} is not application/json"
            )
        if verdict is None:
            check = self.verifier.verify(headers, body)
            verdict, detail = check.verdict, check.detail
        payload: Any = None
        parsed = False
        text: str | None = None
        if verdict not in (verify.TOO_LARGE, verify.WRONG_CONTENT_TYPE):
            try:
                if json.detect_encoding(body) == "utf-8":
                    # Strict UTF-8, as json.loads(bytes) would read it; the text is then stored
                    # as the payload (no json.dumps per delivery). A BOM or bad UTF-8 falls
                    # back to json.loads(bytes), whose answer and errors are unchanged.
                    with contextlib.suppress(UnicodeDecodeError):
                        text = body.decode()
                    if text is not None and text.startswith("\ufeff"):
                        text = None
                payload, parsed = json.loads(body if text is None else text), True
            except (ValueError, UnicodeDecodeError) as exc:
                text = None
                if verdict == verify.VALID:
                    verdict, detail = verify.MALFORMED_JSON, f"body is not JSON: {exc}"
        header_event = headers.get(verify.EVENT_HEADER)
        event_type: str | None = header_event
        errors: list[str] = []
        if parsed:
            event_type, errors = payloads.schema_errors(payload, header_event)
            said = payload.get("event_type") if isinstance(payload, dict) else None
            errors += events.header_errors(
                said if isinstance(said, str) else None, headers, self.verifier.delivery_headers
            )
        is_obj = isinstance(payload, dict)
        ticket_id = payload.get("ticket_id") if is_obj else None
        message_id = payload.get("message_id") if is_obj else None
        delivery_id = next((headers[h] for h in verify.DELIVERY_HEADERS if headers.get(h)), None)
        logical_key = events.payload_key(event_type, payload) if is_obj else None
        fault = self.faults.draw(
            first_attempt=not self.store.arrivals.known(delivery_id, logical_key)
        )
        stall = fault.stall if fault is not None else 0.0
        hung_up = await _hold(stall, receive) if stall > 0 else None
        status = (
            fault.status
            if fault is not None and fault.status is not None
            else verify.STATUS[verdict]
        )
        if hung_up is not None:
            # Nothing was answered: the sender gave up first (a timeout of its own).
            status = NO_ANSWER
            gone = f"no answer: the sender hung up after {hung_up:.1f} s of a {stall:g} s stall"
            detail = f"{detail}; {gone}" if detail else gone
        record = Delivery(
            verdict=verdict,
            status=status,
            received_at=received_at,
            received_monotonic=received_monotonic,
            headers=self._redact(headers),
            body=body,
            body_size=size,
            payload=payload if parsed else None,
            payload_json=text,
            event_type=event_type,
            delivery_id=delivery_id,
            ticket_id=ticket_id if isinstance(ticket_id, str) else None,
            message_id=message_id if isinstance(message_id, str) else None,
            logical_key=logical_key,
            schema_errors=errors,
            injected=fault is not None,
            detail=detail,
        )
        store = self.store
        store.prepare(record)
        try:
            await store.add(record)
        except StoreError as exc:
            # Not recorded means not acknowledged: the sender must retry.
            await _send_json(send, 503, {"error": f"not recorded: {exc}"})
            return
        if hung_up is not None:
            return  # no one to answer
        if not detail and fault is None:
            # The common answer, formatted as json.dumps would (verdicts are plain ASCII names).
            await _send_body(
                send, status, b'{"seq": %d, "verdict": "%s"}' % (record.seq, verdict.encode())
            )
            return
        answer: dict[str, Any] = {"seq": record.seq, "verdict": verdict}
        if detail:
            answer["detail"] = detail
        if fault is not None:
            answer["injected"] = True
        await _send_json(send, status, answer)

    async def _read_body(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[str | None, str, bytes, int]:
        limit = self.config.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            # Refused before reading: keep only the first KiB as evidence.
            message = await receive()
            first = message.get("body", b"")[:KEEP_OF_TOO_LARGE]
            return (
                verify.TOO_LARGE,
                f"Content-Length {declared} exceeds {limit} bytes",
                first,
                int(declared),
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                first = b"".join(chunks)[:KEEP_OF_TOO_LARGE]
                first += chunk[: max(0, KEEP_OF_TOO_LARGE - len(first))]
                return verify.TOO_LARGE, f"body exceeds {limit} bytes", first, size
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return None, "", b"".join(chunks), size

    def _redact(self, headers: dict[str, str]) -> dict[str, str]:
        out = self._redactor.headers(headers)
        for name in self._secret_headers & out.keys():
            out[name] = REDACTED
        return out

    # -- query API -------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        return [
            Route("/", self._page, methods=["GET"]),
            Route("/_sink/health", self._health, methods=["GET"]),
            Route("/_sink/events", self._events, methods=["GET"]),
            Route("/_sink/wait", self._wait, methods=["GET"]),
            Route("/_sink/stats", self._stats, methods=["GET"]),
            Route("/_sink/clear", self._clear, methods=["POST"]),
            Route("/_sink/marks", self._marks, methods=["GET", "POST"]),
            Route("/_sink/faults", self._faults, methods=["GET", "POST", "DELETE"]),
        ]

    async def _page(self, request: Request) -> Response:
        return HTMLResponse(PAGE_HTML, headers={"cache-control": "no-store"})

    async def _health(self, request: Request) -> Response:
        c = self.config
        return JSONResponse(
            {
                "ok": True,
                "webhook_path": c.path,
                "scheme": c.scheme,
                "tolerance": c.tolerance,
                "max_body": c.max_body,
                "hmac_header": c.hmac_header if c.scheme == "hmac" else None,
                "last_seq": self.store.last_committed,
                "generation": self.store.generation,
                "token_required": self._token is not None,
                "tls": bool(c.tls_cert),
                "limits": {
                    "max_body": c.max_body,
                    "max_inflight": c.max_inflight,
                    "max_inflight_per_client": c.max_inflight_per_client,
                    "body_timeout": c.body_timeout,
                    "max_connections": c.max_connections,
                },
                "refused": dict(self.refused),
            }
        )

    @staticmethod
    def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise ValueError(f"{name}={raw} is outside {low:g}..{high:g}")
        return value

    async def _events(self, request: Request) -> Response:
        try:
            flt = Filter.from_params(request.query_params)
            limit = int(self._number(request, "limit", 100, 1, 10_000))
            order = request.query_params.get("order", "asc")
            if order not in ("asc", "desc"):
                raise ValueError("order must be asc or desc")
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        store = self.store
        events = await store.query(flt, limit=limit, descending=order == "desc")
        return JSONResponse(
            {"events": events, "last_seq": store.last_committed, "generation": store.generation}
        )

    async def _wait(self, request: Request) -> Response:
        try:
            flt = Filter.from_params(request.query_params)
            count = int(self._number(request, "count", 1, 1, 100_000))
            timeout = self._number(request, "timeout", 10.0, 0, MAX_WAIT)
            limit = int(self._number(request, "limit", 1000, 1, 10_000))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        events, satisfied = await self.store.wait(flt, count=count, timeout=timeout, limit=limit)
        return JSONResponse({"events": events, "satisfied": satisfied, "count": count})

    async def _stats(self, request: Request) -> Response:
        return JSONResponse({**await self.store.stats(), "refused": dict(self.refused)})

    async def _clear(self, request: Request) -> Response:
        await self.store.clear()
        return JSONResponse({"cleared": True, "generation": self.store.generation})

    async def _marks(self, request: Request) -> Response:
        if request.method == "GET":
            unmatched = request.query_params.get("unmatched", "").lower() in ("1", "true", "yes")
            return JSONResponse({"marks": await self.store.marks(unmatched=unmatched)})
        try:
            data = json.loads(await request.body())
            marks = data.get("marks") if isinstance(data, dict) else data
            if not isinstance(marks, list) or not all(isinstance(m, dict) for m in marks):
                raise ValueError('send a list of marks, or {"marks": [...]}')
            added = await self.store.add_marks(marks)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"added": added})

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = json.loads(await request.body())
                if not isinstance(data, dict):
                    raise ValueError("send a JSON object")
                self.faults.set(FaultRule.from_json(data))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            self.faults.clear()
        return JSONResponse({"fault": self.faults.describe()})


def create_app(config: SinkConfig) -> SinkApp:
    """The sink's ASGI app for ``config`` (which must name a db file)."""
    return SinkApp(config)
