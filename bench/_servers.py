"""Trivial servers the benchmarks compare against, run as ``python -m bench._servers KIND --ready-file F``.

- ``raw``: a bare ASGI callable on uvicorn that reads each body and answers 200 (the same stack
  as the sink's delivery path, which is a lean ASGI handler too, minus the sink's work).
- ``starlette``: uvicorn + a Starlette route that reads the body and answers 200: the minimal
  receiver a person would write.
- ``api``: the four Tixallo paths with constant answers (ids from a counter), so load tools can
  run their real scenarios against an endpoint that costs next to nothing. ``--stall-period P
  --stall-for D`` freezes its event loop for D seconds every P seconds (a planted stall, like a
  GC pause or a lock); ``GET /_stalls`` returns when each stall began and ended (wall clock).
  ``--webhook-url U`` (secret in ``TIXALLO_WEBHOOK_SECRET``) also posts a signed
  ``ticket.created`` to U for each create, like a deployment's dispatcher, off the request path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
OK = b'{"ok": true}'
_JSON = (b"content-type", b"application/json")


def ticket_uuid(n: int) -> str:
    """The id the ``api`` server gives its n-th created ticket (1-based): predictable on purpose."""
    return str(uuid.UUID(int=(0xBE7C << 112) | n))


async def _drain(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept and discard."""
    if scope["type"] != "http":
        return
    await _drain(receive)
    await _answer(send, 200, OK)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def receive_webhook(request: Request) -> Response:
        await request.body()
        return Response(OK, media_type="application/json")

    return Starlette(routes=[Route("/webhooks/tixallo", receive_webhook, methods=["POST"])])


class ApiApp:
    """Constant answers on the Tixallo v1 paths; optional planted stalls of the whole event loop."""

    def __init__(
        self, stall_period: float, stall_for: float, webhook_url: str | None = None
    ) -> None:
        self.created = 0
        self.stall_period = stall_period
        self.stall_for = stall_for
        self.stalls: list[tuple[float, float]] = []
        self.task: asyncio.Task[None] | None = None
        self.webhook_url = webhook_url
        self.secret = os.environ.get("TIXALLO_WEBHOOK_SECRET", "")
        self.client: Any = None
        self.pending: set[asyncio.Task[None]] = set()

    async def _fire(self, ticket_id: str, number: int) -> None:
        from tixallo_qa.core import signing
        from tixallo_qa.webhook_sink.testing import ticket_created

        payload = ticket_created(ticket_id=ticket_id, ticket_number=number)
        body = json.dumps(payload).encode()
        headers = signing.make("tixallo", self.secret).sign(body, event_type="ticket.created")
        await self.client.post(self.webhook_url, body, headers)

    async def _stall_loop(self) -> None:
        while True:
            now = time.time()
            # Stalls start on wall-clock multiples of the period, so they are easy to audit.
            await asyncio.sleep(self.stall_period - now % self.stall_period)
            began = time.time()
            time.sleep(self.stall_for)  # blocks the loop: nothing is read or answered meanwhile
            self.stalls.append((began, time.time()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if self.webhook_url:
                        # Imported now rather than on the first create, which would stall.
                        import tixallo_qa.webhook_sink.testing
                        import tixallo_qa.webhook_sink.verify  # noqa: F401

                        # The reference deployment's own poster (httpx's async stack cost more
                        # CPU per delivery than the server's whole request, and stalled it).
                        from tixallo_qa.reference.poster import Poster

                        self.client = Poster(timeout=10)
                    if self.stall_period > 0 and self.stall_for > 0:
                        self.task = asyncio.create_task(self._stall_loop())
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.task is not None:
                        self.task.cancel()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await _drain(receive)
        path, method = scope["path"], scope["method"]
        if path == "/_stalls":
            await _answer(send, 200, json.dumps({"stalls": self.stalls}).encode())
        elif method == "POST" and path == "/api/v1/tickets":
            self.created += 1
            n = self.created
            body = {"data": {"id": ticket_uuid(n), "ticket_number": n}}
            await _answer(send, 201, json.dumps(body).encode())
            if self.client is not None:
                task = asyncio.create_task(self._fire(ticket_uuid(n), n))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
        elif method == "POST":
            await _answer(send, 201, b'{"data": {"id": "%s"}}' % str(uuid.uuid4()).encode())
        elif path == "/api/v1/tickets":
            await _answer(send, 200, b'{"data": []}')
        else:
            await _answer(send, 200, b'{"data": {}}')


def serve(app: Any, ready_file: str, *, lifespan: Literal["on", "off"] = "off") -> None:
    """Serve ``app`` on a free loopback port like the sink and the reference do (uvloop, httptools)."""
    import uvicorn
    import uvloop

    from tixallo_qa.webhook_sink.server import bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            lifespan=lifespan,
            log_level="warning",
            access_log=False,
        )
    )

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.01)
        info = {"url": f"http://127.0.0.1:{port}", "port": port, "pid": os.getpid()}
        tmp = Path(ready_file + ".tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, ready_file)
        await task

    uvloop.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._servers", description=__doc__)
    parser.add_argument("kind", choices=("raw", "starlette", "api"))
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--stall-period", type=float, default=0.0)
    parser.add_argument("--stall-for", type=float, default=0.0)
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args(argv)
    if args.kind == "raw":
        serve(raw_app, args.ready_file)
    elif args.kind == "starlette":
        serve(starlette_app(), args.ready_file, lifespan="on")
    else:
        app = ApiApp(args.stall_period, args.stall_for, args.webhook_url)
        serve(app, args.ready_file, lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
