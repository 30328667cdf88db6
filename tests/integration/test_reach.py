"""The reachability probe against a deployment that hangs up on some connections."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from tixallo_qa.core import reach

pytestmark = pytest.mark.integration

ANSWER = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"


def _reset(conn: socket.socket) -> None:
    """Close with a TCP reset (linger 0), as a crashed worker or a dropping proxy does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.fixture
def resets_first() -> Iterator[tuple[str, list[int], list[int]]]:
    """A server resetting the first ``resets[0]`` connections after reading each request."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []
    resets = [1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            if len(accepted) <= resets[0]:
                _reset(conn)
            else:
                with conn:
                    conn.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/tickets", accepted, resets
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(5)


def test_one_reset_is_asked_again(resets_first: tuple[str, list[int], list[int]]) -> None:
    url, accepted, _ = resets_first
    assert reach.probe(url, timeout=5).status == 401
    assert len(accepted) == 2


def test_a_deployment_that_resets_every_connection_is_unreachable(
    resets_first: tuple[str, list[int], list[int]],
) -> None:
    url, accepted, resets = resets_first
    resets[0] = 10
    with pytest.raises(reach.UnreachableError, match="unreachable"):
        reach.probe(url, timeout=5)
    assert len(accepted) == 2  # asked twice, no more


def test_a_refused_port_is_not_asked_again() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(reach.UnreachableError, match="refused"):
        reach.probe(f"http://127.0.0.1:{port}/api/v1/tickets", timeout=5)
