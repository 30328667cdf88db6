"""The dispatcher's HTTP client (reference/poster.py) against receivers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tixallo_qa.reference.poster import USER_AGENT, Poster, PostError

pytestmark = pytest.mark.integration

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 204 No Content\r\n\r\n"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (Content-Length bodies only, as the poster sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def run(handler: Handler, scenario: Callable[[str, list[int]], Awaitable[None]]) -> list[int]:
    """Serve ``handler`` on loopback; run ``scenario(url, connections)``; return the connections."""
    connections: list[int] = []

    async def main() -> None:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            try:
                await handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await scenario(f"http://127.0.0.1:{port}/webhooks/tixallo?x=1", connections)

    asyncio.run(main())
    return connections


def test_a_post_sends_its_headers_and_body_and_keeps_the_connection() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            heads.append(head + body)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Seen: yes\r\n\r\nok")
            await writer.drain()

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=5.0)
        for _ in range(3):
            status, headers = await poster.post(url, b'{"a":1}', {"X-Tixallo-Event": "t"})
            assert (status, headers["x-seen"]) == (200, "yes")
        await poster.aclose()

    assert len(run(handler, scenario)) == 1
    first = heads[0]
    assert first.startswith(b"POST /webhooks/tixallo?x=1 HTTP/1.1\r\n")
    assert b"\r\nX-Tixallo-Event: t\r\n" in first
    assert f"\r\nUser-Agent: {USER_AGENT}\r\n".encode() in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


def test_a_connection_the_receiver_closed_while_idle_is_replaced() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)  # keep-alive by default, then closed behind the client's back
        await writer.drain()

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=5.0)
        assert (await poster.post(url, b"{}", {}))[0] == 204
        await asyncio.sleep(0.1)  # the receiver has closed it by now
        assert (await poster.post(url, b"{}", {}))[0] == 204

    assert len(run(handler, scenario)) == 2


def test_chunked_and_close_delimited_answers_are_read_to_their_end() -> None:
    answers = iter(
        [
            b"HTTP/1.1 503 Busy\r\nRetry-After: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nbusy\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nthe body runs to the end of the connection",
        ]
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            answer = next(answers)
            writer.write(answer)
            await writer.drain()
            if b"Transfer-Encoding" not in answer:
                return  # closing ends the body

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=5.0)
        status, headers = await poster.post(url, b"{}", {})
        assert (status, headers["retry-after"]) == (503, "2")
        assert (await poster.post(url, b"{}", {}))[0] == 200  # same connection, chunked read whole

    assert len(run(handler, scenario)) == 1


def test_no_answer_garbage_and_silence_are_errors() -> None:
    behaviours = iter(["close", "garbage", "silent"])

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        what = next(behaviours)
        if what == "garbage":
            writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            await writer.drain()
        elif what == "silent":
            await asyncio.sleep(5)

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=0.5)
        with pytest.raises(PostError, match="without an answer"):
            await poster.post(url, b"{}", {})
        with pytest.raises(PostError, match="not HTTP"):
            await poster.post(url, b"{}", {})
        with pytest.raises(TimeoutError):
            await poster.post(url, b"{}", {})

    assert len(run(handler, scenario)) == 3


def test_interim_answers_cut_bodies_and_trailing_bytes() -> None:
    answers = iter(
        [
            # 103 Early Hints, then the real answer: the delivery is the 200's.
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok",
            # Bytes after a whole answer: the answer stands.
            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokJUNK JUNK\r\n\r\n",
            # A body the receiver cut off before its declared length: no usable answer.
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part",
        ]
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(next(answers))
        await writer.drain()
        await asyncio.sleep(0.05)  # then close: each answer on its own connection

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=5.0)
        status, headers = await poster.post(url, b"{}", {})
        assert (status, headers.get("x-final"), "link" in headers) == (200, "yes", False)
        assert (await poster.post(url, b"{}", {}))[0] == 201
        await asyncio.sleep(0.1)
        with pytest.raises(PostError, match="in the middle of its answer"):
            await poster.post(url, b"{}", {})

    assert len(run(handler, scenario)) == 3


def test_an_idle_connection_is_closed_after_idle_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import tixallo_qa.reference.poster as poster_module

    monkeypatch.setattr(poster_module, "IDLE_FOR", 0.1)
    closed: list[bool] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        closed.append(await reader.read(1) == b"")  # the poster closes it: EOF here

    async def scenario(url: str, _: list[int]) -> None:
        poster = Poster(timeout=5.0)
        assert (await poster.post(url, b"{}", {}))[0] == 204
        await asyncio.sleep(0.3)
        # Taking a connection for the next post sweeps the expired one: a new connection.
        assert (await poster.post(url, b"{}", {}))[0] == 204
        await asyncio.sleep(0.05)
        assert closed == [True]
        await poster.aclose()

    assert len(run(handler, scenario)) == 2


def test_a_url_that_is_not_http_is_refused() -> None:
    async def scenario() -> None:
        with pytest.raises(PostError, match="not an http"):
            await Poster(timeout=1.0).post("ftp://example.com/x", b"{}", {})

    asyncio.run(scenario())
