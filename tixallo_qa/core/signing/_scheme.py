"""What every scheme is: a verifier (constant-time) and the matching signer."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

VALID = "valid"
BAD_SIGNATURE = "bad_signature"
STALE_TIMESTAMP = "stale_timestamp"
MISSING_HEADERS = "missing_headers"
# Part B 1: the event and delivery id travel in headers of their own, whatever signs them.
EVENT_HEADER = "X-Tixallo-Event"
DELIVERY_HEADER = "X-Tixallo-Delivery"


@dataclass(frozen=True)
class Check:
    """A verifier's answer: the verdict and, when not valid, why (no secret in it)."""

    verdict: str
    detail: str = ""


OK = Check(VALID)


class Scheme:
    """One way of signing deliveries. ``headers`` given to ``verify`` have lower-case names."""

    name: ClassVar[str]
    summary: ClassVar[str]
    needs_secret: ClassVar[bool] = True
    # Headers whose values derive from the secret: the sink shows them redacted.
    signature_headers: tuple[str, ...] = ()
    # Headers every delivery of this scheme documents besides the signature (a payload check).
    delivery_headers: ClassVar[tuple[str, ...]] = ()
    # Where the sender puts the delivery id (None: the scheme's own headers carry it).
    delivery_id_header: ClassVar[str | None] = DELIVERY_HEADER
    # The header holding the attempt's unix timestamp, lower case (None: the scheme has none).
    timestamp_header: ClassVar[str | None] = None

    def __init__(self, secret: str, tolerance: float = 300.0, **options: str) -> None:
        if options:
            raise TypeError(f"the {self.name} scheme takes no options ({', '.join(options)})")
        self.secret = secret
        self.tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        raise NotImplementedError

    def signature(self, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
        """The headers that sign ``body`` (the scheme's own part of ``sign``)."""
        raise NotImplementedError

    def sign(
        self,
        body: bytes,
        *,
        delivery_id: str | None = None,
        event_type: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        """Every header a sender of this scheme posts with ``body`` (Content-Type included)."""
        delivery_id = delivery_id or str(uuid.uuid4())
        headers = {"Content-Type": "application/json"}
        if self.delivery_id_header:
            headers[self.delivery_id_header] = delivery_id
        if event_type:
            headers[EVENT_HEADER] = event_type
        ts = int(time.time()) if timestamp is None else timestamp
        headers.update(self.signature(body, delivery_id=delivery_id, timestamp=ts))
        return headers


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def check_timestamp(raw: str, name: str, tolerance: float, now: float | None) -> Check | int:
    """The timestamp header as an int, or the Check that refuses it (not digits, or too far off)."""
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


def missing(headers: Mapping[str, str], names: tuple[str, ...]) -> Check | None:
    absent = [n for n in names if not headers.get(n, "").strip()]
    return Check(MISSING_HEADERS, "missing header " + ", ".join(absent)) if absent else None
