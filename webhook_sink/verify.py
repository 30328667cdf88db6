"""Signature schemes: a verifier per scheme (constant-time) and the matching signer, for senders and tests."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from tixallo_qa.webhook_sink.config import SinkConfig

VALID = "valid"
BAD_SIGNATURE = "bad_signature"
STALE_TIMESTAMP = "stale_timestamp"
MISSING_HEADERS = "missing_headers"
MALFORMED_JSON = "malformed_json"
TOO_LARGE = "too_large"
WRONG_CONTENT_TYPE = "wrong_content_type"
VERDICTS = (
    VALID,
    BAD_SIGNATURE,
    STALE_TIMESTAMP,
    MISSING_HEADERS,
    MALFORMED_JSON,
    TOO_LARGE,
    WRONG_CONTENT_TYPE,
)
# What the sink answers for each verdict.
STATUS = {
    VALID: 200,
    BAD_SIGNATURE: 401,
    STALE_TIMESTAMP: 401,
    MISSING_HEADERS: 400,
    MALFORMED_JSON: 400,
    TOO_LARGE: 413,
    WRONG_CONTENT_TYPE: 415,
}

TIXALLO_EVENT = "x-tixallo-event"
TIXALLO_DELIVERY = "x-tixallo-delivery"
TIXALLO_TIMESTAMP = "x-tixallo-timestamp"
TIXALLO_SIGNATURE = "x-tixallo-signature"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"


@dataclass(frozen=True)
class Check:
    """A verifier's answer: the verdict and, when not valid, why (no secret in it)."""

    verdict: str
    detail: str = ""


OK = Check(VALID)


class Verifier(Protocol):
    """Decides whether a delivery is authentic; ``headers`` has lower-case names."""

    signature_headers: tuple[str, ...]

    def verify(
        self, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> Check: ...


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _timestamp(raw: str, name: str, tolerance: float, now: float | None) -> Check | int:
    value = raw.strip()
    if not value.isascii() or not value.isdigit():
        return Check(MISSING_HEADERS, f"{name} is not unix seconds: {value[:40]!r}")
    ts = int(value)
    skew = (time.time() if now is None else now) - ts
    # Future timestamps are as suspicious as stale ones: both mean a replay or a broken clock.
    if abs(skew) > tolerance:
        side = "old" if skew > 0 else "in the future"
        return Check(
            STALE_TIMESTAMP, f"{name} is {abs(skew):.0f} s {side} (tolerance {tolerance:g} s)"
        )
    return ts


def _missing(headers: Mapping[str, str], names: tuple[str, ...]) -> Check | None:
    absent = [n for n in names if not headers.get(n, "").strip()]
    return Check(MISSING_HEADERS, "missing header " + ", ".join(absent)) if absent else None


class TixalloVerifier:
    """Part B 1: ``X-Tixallo-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>``."""

    signature_headers: tuple[str, ...] = (TIXALLO_SIGNATURE,)

    def __init__(self, secret: str, tolerance: float) -> None:
        self._key = secret.encode()
        self._tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        missing = _missing(headers, (TIXALLO_TIMESTAMP, TIXALLO_SIGNATURE))
        if missing:
            return missing
        raw_ts = headers[TIXALLO_TIMESTAMP].strip()
        ts = _timestamp(raw_ts, "X-Tixallo-Timestamp", self._tolerance, now)
        if isinstance(ts, Check):
            return ts
        scheme, sep, given = headers[TIXALLO_SIGNATURE].strip().partition("=")
        if not sep or scheme != "sha256" or not given:
            return Check(MISSING_HEADERS, "X-Tixallo-Signature is not 'sha256=<hex>'")
        expected = _hmac(self._key, raw_ts.encode() + b"." + body).hex()
        if hmac.compare_digest(expected.encode(), given.strip().lower().encode("ascii", "replace")):
            return OK
        return Check(BAD_SIGNATURE, "X-Tixallo-Signature does not match the body and timestamp")


def standard_key(secret: str) -> bytes:
    """Standard Webhooks key: ``whsec_<base64>`` decoded; any other secret is used as raw bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


class StandardVerifier:
    """Standard Webhooks: ``webhook-signature: v1,<base64> ...`` over ``"<id>.<ts>.<body>"``."""

    signature_headers: tuple[str, ...] = (STANDARD_SIGNATURE,)

    def __init__(self, secret: str, tolerance: float) -> None:
        self._key = standard_key(secret)
        self._tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        missing = _missing(headers, (STANDARD_ID, STANDARD_TIMESTAMP, STANDARD_SIGNATURE))
        if missing:
            return missing
        raw_ts = headers[STANDARD_TIMESTAMP].strip()
        ts = _timestamp(raw_ts, "webhook-timestamp", self._tolerance, now)
        if isinstance(ts, Check):
            return ts
        given = [
            part[3:]
            for part in headers[STANDARD_SIGNATURE].split()
            if part.startswith("v1,") and len(part) > 3
        ]
        if not given:
            return Check(MISSING_HEADERS, "webhook-signature holds no 'v1,<base64>' signature")
        content = headers[STANDARD_ID].strip().encode() + b"." + raw_ts.encode() + b"." + body
        expected = base64.b64encode(_hmac(self._key, content))
        # Several signatures are allowed (key rotation): any match is enough; compare all anyway.
        matched = False
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
        return OK if matched else Check(BAD_SIGNATURE, "no webhook-signature entry matches")


class HmacVerifier:
    """Body-only HMAC-SHA256 in a configurable header, prefix and encoding (hex or base64)."""

    def __init__(self, secret: str, header: str, prefix: str, encoding: str) -> None:
        self._key = secret.encode()
        self._header = header.lower()
        self._display = header
        self._prefix = prefix
        self._encoding = encoding
        self.signature_headers: tuple[str, ...] = (self._header,)

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        missing = _missing(headers, (self._header,))
        if missing:
            return missing
        value = headers[self._header].strip()
        if not value.startswith(self._prefix) or len(value) == len(self._prefix):
            return Check(MISSING_HEADERS, f"{self._display} does not start with {self._prefix!r}")
        given = value[len(self._prefix) :]
        digest = _hmac(self._key, body)
        if self._encoding == "hex":
            expected, given = digest.hex().encode(), given.lower()
        else:
            expected = base64.b64encode(digest)
        if hmac.compare_digest(expected, given.encode("ascii", "replace")):
            return OK
        return Check(BAD_SIGNATURE, f"{self._display} does not match the body")


class NoVerifier:
    """Accepts every delivery (a sender that does not sign)."""

    signature_headers: tuple[str, ...] = ()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        return OK


def make_verifier(config: SinkConfig) -> Verifier:
    """The verifier of ``config.scheme``."""
    secret = config.secret or ""
    if config.scheme == "tixallo":
        return TixalloVerifier(secret, config.tolerance)
    if config.scheme == "standard":
        return StandardVerifier(secret, config.tolerance)
    if config.scheme == "hmac":
        return HmacVerifier(secret, config.hmac_header, config.hmac_prefix, config.hmac_encoding)
    return NoVerifier()


def sign_tixallo(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """``X-Tixallo-Timestamp`` and ``X-Tixallo-Signature`` for ``body`` (part B 1)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = _hmac(secret.encode(), ts.encode() + b"." + body).hex()
    return {"X-Tixallo-Timestamp": ts, "X-Tixallo-Signature": f"sha256={signature}"}


def sign_standard(
    secret: str, body: bytes, *, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = base64.b64encode(
        _hmac(standard_key(secret), f"{msg_id}.{ts}.".encode() + body)
    ).decode()
    return {STANDARD_ID: msg_id, STANDARD_TIMESTAMP: ts, STANDARD_SIGNATURE: f"v1,{signature}"}


def sign_hmac(
    secret: str,
    body: bytes,
    *,
    header: str = "X-Signature",
    prefix: str = "sha256=",
    encoding: str = "hex",
) -> dict[str, str]:
    """A body-only HMAC header for ``body``."""
    digest = _hmac(secret.encode(), body)
    encoded = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return {header: prefix + encoded}
