"""Part B 1: ``X-Tixallo-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from tixallo_qa.core.signing._scheme import (
    BAD_SIGNATURE,
    MISSING_HEADERS,
    OK,
    Check,
    Scheme,
    check_timestamp,
    hmac_sha256,
    missing,
)

TIMESTAMP = "x-tixallo-timestamp"
SIGNATURE = "x-tixallo-signature"


class TixalloScheme(Scheme):
    name = "tixallo"
    summary = "X-Tixallo-Signature: sha256=hex HMAC over '<X-Tixallo-Timestamp>.<body>' (part B 1)"
    signature_headers = (SIGNATURE,)
    timestamp_header = TIMESTAMP
    delivery_headers = ("X-Tixallo-Delivery", "X-Tixallo-Event")

    def signature(self, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
        mac = hmac_sha256(self.secret.encode(), f"{timestamp}.".encode() + body).hex()
        return {"X-Tixallo-Timestamp": str(timestamp), "X-Tixallo-Signature": f"sha256={mac}"}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        absent = missing(headers, (TIMESTAMP, SIGNATURE))
        if absent:
            return absent
        raw_ts = headers[TIMESTAMP].strip()
        ts = check_timestamp(raw_ts, "X-Tixallo-Timestamp", self.tolerance, now)
        if isinstance(ts, Check):
            return ts
        kind, sep, given = headers[SIGNATURE].strip().partition("=")
        if not sep or kind != "sha256" or not given:
            return Check(MISSING_HEADERS, "X-Tixallo-Signature is not 'sha256=<hex>'")
        expected = hmac_sha256(self.secret.encode(), raw_ts.encode() + b"." + body).hex()
        if hmac.compare_digest(expected.encode(), given.strip().lower().encode("ascii", "replace")):
            return OK
        return Check(BAD_SIGNATURE, "X-Tixallo-Signature does not match the body and timestamp")
