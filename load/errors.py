"""Errors named: what kind each failed request is (a 5xx, a reset, no answer, a timeout), and its curl.

Plain functions on plain values: the locust processes classify each failure as it happens and the
parent reads the kinds back, so both import this module (it imports neither locust nor gevent).
"""

from __future__ import annotations

SERVER = "server error"
TRANSPORT = "transport failure"
CLIENT = "client error"
BODY = "bad body"

RESET = "connection reset"
CLOSED = "closed without an answer"
TIMEOUT = "timeout"
REFUSED = "connection refused"

# Exception class names (anywhere in the MRO) by transport kind; names, so that this module need
# not import geventhttpclient or gevent (which patch the stdlib when imported).
_BY_NAME = (
    (("ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError"), RESET),
    (("ConnectionRefusedError",), REFUSED),
    (("Timeout", "TimeoutError", "timeout", "ReadTimeout", "ConnectTimeout"), TIMEOUT),
    (
        (
            "HTTPConnectionClosed",
            "RemoteDisconnected",
            "IncompleteRead",
            "HTTPParseError",
            "RemoteProtocolError",
        ),
        CLOSED,
    ),
)
BODY_LIMIT = 300  # characters of a request body in a sample curl


def transport_kind(exception: BaseException | str | None) -> str:
    """The transport kind of a failed request's exception (``"transport failure (X)"`` when unknown)."""
    if exception is None:
        return CLOSED
    if isinstance(exception, str):
        names = [exception]
        text = exception.lower()
    else:
        # The HTTP client often wraps the OS error (a reset read as "connection closed"): the
        # chain of causes says what happened on the wire.
        names, texts = [], []
        seen: set[int] = set()
        current: BaseException | None = exception
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            names += [c.__name__ for c in type(current).__mro__]
            texts.append(str(current).lower())
            current = current.__cause__ or current.__context__
        text = " ".join(texts)
    for candidates, kind in _BY_NAME:
        if any(n in candidates for n in names):
            return kind
    if "reset" in text:
        return RESET
    if "timed out" in text or "timeout" in text:
        return TIMEOUT
    if "closed" in text or "eof" in text or "empty reply" in text:
        return CLOSED
    return f"{TRANSPORT} ({names[0]})"


def kind_of(status: int, exception: BaseException | str | None = None) -> str:
    """The kind of a failed request: ``HTTP 503``, ``connection reset``, ``timeout``, ``HTTP 404``..."""
    if status <= 0:
        return transport_kind(exception)
    return f"HTTP {status}"


def family(kind: str) -> str:
    """SERVER (5xx), TRANSPORT (no usable answer), CLIENT (4xx) or BODY (2xx that is not JSON data)."""
    if kind.startswith("HTTP 5"):
        return SERVER
    if kind.startswith("HTTP "):
        return CLIENT
    if kind == BODY:
        return BODY
    return TRANSPORT
