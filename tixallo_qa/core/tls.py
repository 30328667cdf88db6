"""TLS on the client side: one CA bundle (``TIXALLO_CA_BUNDLE``) for every client, and one line per failure.

Every client the project makes (the contract suite's session and schemathesis, the load
generator, doctor, the sink client, the reference's webhook dispatcher) verifies certificates
against the same bundle: the setting, else ``SSL_CERT_FILE``, else the system's CAs.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterator

CA_SETTING = "TIXALLO_CA_BUNDLE"


def client_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying client context: only ``ca_bundle``'s CAs when given, else the system's."""
    return _context(ca_bundle or "")


@functools.lru_cache(maxsize=8)
def _context(ca_bundle: str) -> ssl.SSLContext:
    # One context per bundle: loading a system bundle costs milliseconds, and contexts are
    # safe to share between threads.
    return ssl.create_default_context(cafile=ca_bundle or None)


def requests_verify(ca_bundle: str | None) -> str | bool:
    """The ``verify`` argument of requests (and schemathesis' ``tls-verify``): the bundle, else True."""
    return ca_bundle or True


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, urllib3's ``reason``, exception args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]


def ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind ``exc`` (verification failures first), or None."""
    found = [e for e in causes(exc) if isinstance(e, ssl.SSLError)]
    verify = [e for e in found if isinstance(e, ssl.SSLCertVerificationError)]
    if verify or found:
        return (verify or found)[0]
    # Some wrappers keep only the text of the TLS error.
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return ssl.SSLCertVerificationError(1, str(exc))
    return None


def tls_problem(host: str, error: ssl.SSLError, ca_bundle: str | None, *, setting: str) -> str:
    """The one line a TLS failure gets: what failed, against which CAs, and the setting to fix."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = getattr(error, "verify_message", None) or _reason(error)
        against = f"{CA_SETTING}={ca_bundle}" if ca_bundle else "the system's CAs"
        return (
            f"the TLS certificate of {host} does not verify against {against} ({reason}): "
            f"set {CA_SETTING} to the CA bundle (PEM) that signed it"
        )
    return (
        f"the TLS handshake with {host} failed ({_reason(error)}): check that it serves https, "
        f"or use http:// in {setting}"
    )


def _reason(error: BaseException) -> str:
    text = getattr(error, "reason", None) or str(error)
    return str(text).splitlines()[0][:160] if text else type(error).__name__
