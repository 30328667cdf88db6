"""Can a URL be reached: one cheap request, and the one line (what, where, the fix) when it cannot.

The target, the contract suite's transport, the load runner and doctor all tell "unreachable"
from "answered badly" here, so the same failure reads the same everywhere and exits 3.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tixallo_qa.core import tls

# A probe never waits longer than this for a connection, whatever TIXALLO_REQUEST_TIMEOUT says:
# failing fast is its purpose.
PROBE_TIMEOUT = 10.0


class UnreachableError(ConnectionError):
    """The target (or sink) cannot be reached; ``str()`` is the one line to print."""


@dataclass(frozen=True)
class Answer:
    """What a probe got back: the status, the ``Date`` header, and when (wall clock) it went and came."""

    status: int
    date: str | None
    sent_at: float
    received_at: float

    @property
    def elapsed(self) -> float:
        return self.received_at - self.sent_at


def _where(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, f"{host}:{port}"


def is_transport_failure(exc: BaseException) -> bool:
    """No HTTP answer at all: refused, unresolvable, reset, a TLS failure or a connect timeout.

    A read timeout is not one: the server accepted the request, and a slow answer may be the
    deployment's own defect.
    """
    for e in tls.causes(exc):
        if isinstance(e, ssl.SSLError | ConnectionError | socket.gaierror):
            return True
        name = type(e).__name__
        if name in ("ConnectTimeout", "ConnectTimeoutError", "NewConnectionError", "ConnectError"):
            return True
    text = str(exc)
    return any(
        t in text
        for t in ("Connection refused", "Name or service not known", "CERTIFICATE_VERIFY_FAILED")
    )


def problem(
    exc: BaseException,
    url: str,
    *,
    what: str = "the deployment",
    setting: str = "TIXALLO_BASE_URL",
    ca_bundle: str | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> str:
    """One line for a transport failure reaching ``url``: what failed, where, and the fix."""
    host, label = _where(url)
    error = tls.ssl_error(exc)
    if error is not None:
        return f"{what} at {url} cannot be used: " + tls.tls_problem(
            host, error, ca_bundle, setting=setting
        )
    chain = list(tls.causes(exc))
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in str(
        exc
    ):
        return (
            f"{what} at {url} is unreachable: nothing listens on {label} (connection refused): "
            f"start it, or fix the host and port in {setting}"
        )
    if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service not known" in str(
        exc
    ):
        return (
            f"{what} at {url} is unreachable: {host} does not resolve: fix the host name in "
            f"{setting}, or check your DNS or VPN"
        )
    if any(isinstance(e, TimeoutError) or "Timeout" in type(e).__name__ for e in chain):
        return (
            f"{what} at {url} did not answer within {timeout:g} s: check the address in {setting} "
            "and the network between (firewall, VPN), or raise TIXALLO_REQUEST_TIMEOUT"
        )
    root = chain[-1] if chain else exc
    reason = getattr(root, "strerror", None) or str(root) or type(root).__name__
    return (
        f"{what} at {url} is unreachable ({str(reason).splitlines()[0][:160]}): check {setting} "
        "and that it is running"
    )


# What a deployment that is up can still do to one request now and then (refused, unresolvable,
# TLS failures and timeouts are not retried: they say the same the second time).
HANG_UPS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def probe(
    url: str,
    *,
    ca_bundle: str | None = None,
    timeout: float = PROBE_TIMEOUT,
    what: str = "the deployment",
    setting: str = "TIXALLO_BASE_URL",
    headers: dict[str, str] | None = None,
    shown: str | None = None,
) -> Answer:
    """GET ``url`` (any HTTP status counts as reachable; a hang-up is asked once more); ``UnreachableError`` otherwise.

    ``shown`` is the URL the one line names (the configured base URL rather than the probe's path).
    """
    timeout = min(timeout, PROBE_TIMEOUT)
    sent = time.time()
    try:
        with httpx.Client(
            verify=tls.client_context(ca_bundle), trust_env=False, timeout=timeout
        ) as client:
            try:
                response = client.get(url, headers=headers)
            except HANG_UPS:
                # Reset or closed without an answer: once may be the network or one bad worker
                # (a deployment that drops 1 % of its connections is reachable, and its load run
                # counts the resets). Twice in a row is the answer.
                sent = time.time()
                response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise UnreachableError(
            problem(
                exc, shown or url, what=what, setting=setting, ca_bundle=ca_bundle, timeout=timeout
            )
        ) from None
    return Answer(response.status_code, response.headers.get("date"), sent, time.time())
