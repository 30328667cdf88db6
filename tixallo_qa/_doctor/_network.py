"""Can the target be reached at all: DNS, a TCP connection, TLS."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tixallo_qa.core import reach, tls
from tixallo_qa.core.netutil import is_loopback_host

from ._model import OK, PROBLEM, WARN, DoctorReport


@dataclass(frozen=True)
class Endpoint:
    """Host, port and scheme of the base URL."""

    scheme: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, parts.hostname or "", port)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def check_reachable(url: str, timeout: float, report: DoctorReport) -> bool:
    """DNS and a TCP connect to the base URL's host; False when the target cannot be reached.

    The problem's line is ``core.reach``'s, the same one run, contracts and load print.
    """
    ep = Endpoint.from_url(url)
    try:
        infos = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        report.add("target", PROBLEM, reach.problem(exc, url, timeout=timeout))
        return False
    started = time.monotonic()
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            ms = (time.monotonic() - started) * 1000
            report.add("target", OK, f"{ep.label} accepts connections ({ms:.0f} ms)")
            return True
        except OSError as exc:
            last = exc
    assert last is not None
    report.add("target", PROBLEM, reach.problem(last, url, timeout=timeout))
    return False


def check_tls(url: str, timeout: float, report: DoctorReport, ca_bundle: str | None = None) -> bool:
    """https: the certificate verifies; http: fine on loopback, a warning elsewhere."""
    ep = Endpoint.from_url(url)
    if ep.scheme == "http":
        if is_loopback_host(ep.host):
            report.add("tls", OK, "plain http on loopback (fine for a local deployment)")
        else:
            report.add(
                "tls",
                WARN,
                f"TIXALLO_BASE_URL uses plain http to {ep.host}, and Tixallo refuses plain http: "
                "use https:// unless this deployment is known to serve http",
            )
        return True
    context = tls.client_context(ca_bundle)
    try:
        with (
            socket.create_connection((ep.host, ep.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=ep.host) as conn,
        ):
            cert = conn.getpeercert() or {}
            version = conn.version() or "TLS"
    except ssl.SSLCertVerificationError as exc:
        report.add(
            "tls", PROBLEM, tls.tls_problem(ep.host, exc, ca_bundle, setting="TIXALLO_BASE_URL")
        )
        return False
    except (ssl.SSLError, OSError) as exc:
        report.add(
            "tls",
            PROBLEM,
            f"TLS handshake with {ep.label} failed ({exc}): check that the port serves https, "
            "or use the right scheme in TIXALLO_BASE_URL",
        )
        return False
    expires = cert.get("notAfter")
    days = ""
    if isinstance(expires, str):
        left = (ssl.cert_time_to_seconds(expires) - time.time()) / 86400
        days = f", expires in {left:.0f} days"
        if left < 14:
            report.add(
                "tls",
                WARN,
                f"the TLS certificate of {ep.host} expires in {left:.0f} days: renew it",
            )
            return True
    report.add("tls", OK, f"{version} certificate of {ep.host} verifies{days}")
    return True
