"""Small network helpers: free ports, waiting for a port, loopback checks."""

from __future__ import annotations

import errno
import ipaddress
import socket
from urllib.parse import urlsplit


class ListenError(OSError):
    """A server cannot listen where it was asked to; the message says why and what to do."""


class PortInUseError(ListenError):
    """The port a server was asked to listen on is taken."""


def listen(host: str, port: int, *, hint: str = "", backlog: int = 2048) -> socket.socket:
    """A listening socket on ``host:port`` (0 = a free port), or one clear error line.

    Binding before the server starts turns a taken port into ``PortInUseError`` instead of a
    traceback deep inside uvicorn, and resolves port 0 before anyone is told the address.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use: stop what listens there or choose another port{hint}"
            ) from None
        raise ListenError(
            f"cannot listen on {host}:{port} ({exc.strerror}): choose another host or port{hint}"
        ) from None
    sock.listen(backlog)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """Raise ``PortInUseError`` with a one-line fix when ``host:port`` cannot be bound."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on {host} is already in use: stop what listens there or choose another port"
                ) from None
            raise


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")
