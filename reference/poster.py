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
An idle connection is kept at most ``IDLE_FOR`` seconds (receivers close theirs after a few
seconds too); older ones are closed whenever a connection is taken or given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools

READ = 65536
IDLE_FOR = 5.0  # seconds an unused kept-alive connection is kept
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
        if 100 <= self.parser.get_status_code() < 200:
            # An interim answer (100 Continue, 103 Early Hints): the final one follows.
            self.headers.clear()
            self.headers_done = False
            return
        self.complete = True

    def framed(self) -> bool:
        """Whether the answer says where its body ends (so a close before that cuts it short)."""
        return "content-length" in self.headers or "transfer-encoding" in self.headers


_Key = tuple[str, str, int]
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Idle = tuple[_Conn, float]  # a connection and when it was last given back


class Poster:
    """POSTs to any receiver URL; keeps up to ``keep`` idle connections per receiver."""

    def __init__(
        self, *, timeout: float, context: ssl.SSLContext | None = None, keep: int = 64
    ) -> None:
        self.timeout = timeout
        self.context = context
        self.keep = keep
        self._idle: dict[_Key, list[_Idle]] = {}

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
        self._expire(time.monotonic())
        idle = self._idle.get(key)
        while idle:
            conn, _ = idle.pop()  # the most recently used: the least likely to be closed
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
                if answer.headers_done and not answer.framed():
                    return parser.get_status_code(), False  # a body that ends with the close
                if answer.headers_done:
                    raise PostError(
                        "the receiver closed the connection in the middle of its answer"
                    )
                raise PostError("the receiver closed the connection without an answer")
            answer.received = True
            try:
                parser.feed_data(data)
            except httptools.HttpParserError:
                if not answer.complete:
                    raise
                # Bytes after a whole answer: the answer stands, the connection is not reused.
                return parser.get_status_code(), False
        return parser.get_status_code(), answer.keep_alive

    def _release(self, key: _Key, conn: _Conn) -> None:
        now = time.monotonic()
        self._expire(now)
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.keep:
            idle.append((conn, now))
        else:
            self._close(conn)

    def _expire(self, now: float) -> None:
        """Close the connections idle longer than ``IDLE_FOR`` (each list is oldest first)."""
        for key, idle in list(self._idle.items()):
            while idle and now - idle[0][1] > IDLE_FOR:
                self._close(idle.pop(0)[0])
            if not idle:
                del self._idle[key]

    @staticmethod
    def _close(conn: _Conn) -> None:
        conn[1].close()

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        writers = [conn[1] for conns in idle.values() for conn, _ in conns]
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
