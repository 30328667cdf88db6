"""Standard Webhooks: ``webhook-signature: v1,<base64>`` over ``"<webhook-id>.<ts>.<body>"``."""

from __future__ import annotations

import base64
import binascii
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

ID = "webhook-id"
TIMESTAMP = "webhook-timestamp"
SIGNATURE = "webhook-signature"


def standard_key(secret: str) -> bytes:
    """The key of a ``[whsec_]<base64>`` secret, decoded as the reference library decodes it
    (padding optional); a secret that is no base64 at all is used as raw bytes."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "==")
    except (binascii.Error, ValueError):
        return secret.encode()
    return key or secret.encode()


class StandardScheme(Scheme):
    name = "standard"
    summary = "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (v1, base64)"
    signature_headers = (SIGNATURE,)
    delivery_id_header = None  # webhook-id is the delivery id
    timestamp_header = TIMESTAMP

    def signature(self, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
        content = f"{delivery_id}.{timestamp}.".encode() + body
        mac = base64.b64encode(hmac_sha256(standard_key(self.secret), content)).decode()
        return {ID: delivery_id, TIMESTAMP: str(timestamp), SIGNATURE: f"v1,{mac}"}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        absent = missing(headers, (ID, TIMESTAMP, SIGNATURE))
        if absent:
            return absent
        raw_ts = headers[TIMESTAMP].strip()
        ts = check_timestamp(raw_ts, "webhook-timestamp", self.tolerance, now)
        if isinstance(ts, Check):
            return ts
        given = [
            part[3:]
            for part in headers[SIGNATURE].split()
            if part.startswith("v1,") and len(part) > 3
        ]
        if not given:
            return Check(MISSING_HEADERS, "webhook-signature holds no 'v1,<base64>' signature")
        content = headers[ID].strip().encode() + b"." + raw_ts.encode() + b"." + body
        expected = base64.b64encode(hmac_sha256(standard_key(self.secret), content))
        # Several signatures are allowed (key rotation): any match is enough; compare all anyway.
        matched = False
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
        return OK if matched else Check(BAD_SIGNATURE, "no webhook-signature entry matches")
