"""The load generator's HTTP (load/scenario/wire.py) against pytest-httpserver: what it sends, what it reads."""

from __future__ import annotations

import gzip
import socket
import threading
import zlib
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tixallo_qa.load.scenario.wire import ACCEPT_ENCODING, USER_AGENT, Wire, decode

pytestmark = pytest.mark.integration


def wire(server: HTTPServer, prefix: str = "/api/v1") -> Wire:
    return Wire(server.url_for(prefix), concurrency=2, timeout=5.0)


def test_a_request_goes_under_the_base_path_with_its_headers_and_body(
    httpserver: HTTPServer,
) -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response('{"data": {"id": "t1"}}', status=201, content_type="application/json")

    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_handler(answer)
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}
    got = wire(httpserver).send("POST", "/tickets", b'{"subject": "s"}', headers)
    assert (got.status, got.content) == (201, b'{"data": {"id": "t1"}}')
    (request,) = seen
    assert request.get_data() == b'{"subject": "s"}'
    assert request.headers["Authorization"] == "Bearer k"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Accept-Encoding"] == ACCEPT_ENCODING


def test_the_query_string_is_sent_as_given(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets", query_string="limit=20").respond_with_data("[]")
    assert wire(httpserver).send("GET", "/tickets?limit=20", None, {}).status == 200


def test_a_redirect_is_an_answer_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("followed")
    got = wire(httpserver).send("GET", "/tickets", None, {})
    assert (got.status, got.content) == (301, b"")
    assert got.headers.get("location") == httpserver.url_for("/elsewhere")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_a_compressed_answer_is_read_decoded(httpserver: HTTPServer, encoding, encode) -> None:  # type: ignore[no-untyped-def]
    body = b'{"data": []}' * 50
    httpserver.expect_request("/api/v1/tickets").respond_with_data(
        encode(body), headers={"Content-Encoding": encoding}
    )
    assert wire(httpserver).send("GET", "/tickets", None, {}).content == body


def test_decode_takes_raw_deflate_and_leaves_other_encodings_alone() -> None:
    body = b"hello " * 20
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode(raw.compress(body) + raw.flush(), "deflate") == body
    assert decode(body, "identity") == body
    assert decode(body, None) == body


def test_keep_alive_reuses_one_connection() -> None:
    """An HTTP/1.1 server that keeps connections open (pytest-httpserver's closes each one)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            threading.Thread(target=answer_all, args=(conn,), daemon=True).start()

    def answer_all(conn: socket.socket) -> None:
        with conn:
            buffered = b""
            while True:
                while b"\r\n\r\n" not in buffered:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                _, _, buffered = buffered.partition(b"\r\n\r\n")
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    try:
        client = Wire(
            f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1", concurrency=2, timeout=5.0
        )
        for _ in range(5):
            assert client.send("GET", "/tickets", None, {}).content == b"{}"
        assert len(accepted) == 1
    finally:
        listener.close()


@pytest.fixture
def hangs_up() -> Iterator[tuple[str, list[bytes]]]:
    """A server that reads each request and closes its connection without a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                heard.append(conn.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1", heard
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone does not
    listener.close()
    thread.join(5)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_a_connection_closed_without_an_answer_raises_not_retries(
    hangs_up: tuple[str, list[bytes]], method: str
) -> None:
    url, heard = hangs_up
    body = b"{}" if method in ("POST", "PUT") else None
    with pytest.raises(Exception) as caught:
        Wire(url, concurrency=4, timeout=5.0).send(method, "/tickets", body, {})
    # The load run names it by kind (load.errors), from the exception itself.
    from tixallo_qa.load.errors import CLOSED, RESET, transport_kind

    assert transport_kind(caught.value) in (CLOSED, RESET)
    # geventhttpclient's own request() would have sent an idempotent one up to 5 times here.
    assert len(heard) == 1, heard
