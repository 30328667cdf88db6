"""The dispatcher's HTTP: one POST per delivery over kept-alive asyncio connections.

httpx's async stack (httpcore over anyio) took more than half of the reference deployment's CPU
under a load run, most of it bookkeeping around a request (cancellation shields, pool
assignment, an import attempt per request that fails when ``sniffio`` is absent) rather than
the request itself. A webhook delivery needs little: write one POST on a connection to the
receiver, read the status and headers, read the body to its end so the connection can be used
again. The answer is parsed by ``httptools`` (uvicorn's C parser).

A kept-alive connection the receiver closed while it sat idle is found only when it is used:
a request on a reused connection that got no byte back is sent once more on a new one, as any
HTTP client does (the delivery id is the same, so a receiver that did get it sees a retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools

READ = 65536
USER_AGENT = "Tixallo-Webhooks/reference"


class PostError(Exception):
    """The receiver broke off or sent something that is not HTTP."""


@dataclass
class _Answer:
    """What the parser saw of one answer (httptools' callbacks fill it in)."""

    headers: dict[str, str] = field(default_factory=dict)
    received: bool = False  # any byte of an answer
    headers_done: bool = False
    complete: bool = False
    keep_alive: bool = False
    parser: Any = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # httptools knows it only now: after the message it answers False whatever was said.
        self.keep_alive = bool(self.parser.should_keep_alive())

    def on_message_complete(self) -> None:
        self.complete = True


_Key = tuple[str, str, int]
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Poster:
    """POSTs to any receiver URL; keeps up to ``keep`` idle connections per receiver."""

    def __init__(
        self, *, timeout: float, context: ssl.SSLContext | None = None, keep: int = 64
    ) -> None:
        self.timeout = timeout
        self.context = context
        self.keep = keep
        self._idle: dict[_Key, list[_Conn]] = {}

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str]]:
        """One POST; its status and headers (names in lower case). Raises on no usable answer."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise PostError(f"not an http(s) URL: {url!r}")
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        authority = parts.netloc.rpartition("@")[2]
        given = {name.lower() for name in headers}
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {authority}",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        if "user-agent" not in given:
            lines.append(f"User-Agent: {USER_AGENT}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        key = (scheme, host, port)
        async with asyncio.timeout(self.timeout):
            while True:
                conn, reused = await self._connection(key)
                answer = _Answer()
                try:
                    status, keep = await self._exchange(conn, request, answer)
                except (OSError, EOFError, PostError, httptools.HttpParserError) as exc:
                    self._close(conn)
                    if reused and not answer.received:
                        continue  # closed by the receiver while idle: once more, on a new one
                    if isinstance(exc, httptools.HttpParserError):
                        raise PostError(f"the answer is not HTTP: {exc}") from exc
                    raise
                except BaseException:  # cancelled or timed out mid-exchange: not reusable
                    self._close(conn)
                    raise
                if keep:
                    self._release(key, conn)
                else:
                    self._close(conn)
                return status, answer.headers

    async def _connection(self, key: _Key) -> tuple[_Conn, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn[0].at_eof() and not conn[1].is_closing():
                return conn, True
            self._close(conn)
        scheme, host, port = key
        context = (self.context or ssl.create_default_context()) if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname=host if context else None, limit=READ
        )
        return (reader, writer), False

    async def _exchange(self, conn: _Conn, request: bytes, answer: _Answer) -> tuple[int, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            data = await reader.read(READ)
            if not data:
                if answer.headers_done:  # a body that ends with the connection
                    return parser.get_status_code(), False
                raise PostError("the receiver closed the connection without an answer")
            answer.received = True
            parser.feed_data(data)
        return parser.get_status_code(), answer.keep_alive

    def _release(self, key: _Key, conn: _Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.keep:
            idle.append(conn)
        else:
            self._close(conn)

    @staticmethod
    def _close(conn: _Conn) -> None:
        conn[1].close()

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        writers = [w for conns in idle.values() for _, w in conns]
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
