"""Body-only HMAC-SHA256 in a configurable header, prefix and encoding (hex or base64)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from tixallo_qa.core.signing._scheme import (
    BAD_SIGNATURE,
    MISSING_HEADERS,
    OK,
    Check,
    Scheme,
    hmac_sha256,
    missing,
)

ENCODINGS = ("hex", "base64")


class HmacScheme(Scheme):
    name = "hmac"
    summary = (
        "HMAC-SHA256 of the body only, in a configurable header (default X-Signature: sha256=<hex>)"
    )

    def __init__(
        self,
        secret: str,
        tolerance: float = 300.0,
        *,
        header: str = "X-Signature",
        prefix: str = "sha256=",
        encoding: str = "hex",
    ) -> None:
        super().__init__(secret, tolerance)
        if encoding not in ENCODINGS:
            raise ValueError(f"hmac encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
        self.header, self.prefix, self.encoding = header, prefix, encoding
        self.signature_headers = (header.lower(),)

    def _digest(self, body: bytes) -> str:
        digest = hmac_sha256(self.secret.encode(), body)
        return digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()

    def signature(self, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
        return {self.header: self.prefix + self._digest(body)}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        name = self.header.lower()
        absent = missing(headers, (name,))
        if absent:
            return absent
        value = headers[name].strip()
        if not value.startswith(self.prefix) or len(value) == len(self.prefix):
            return Check(MISSING_HEADERS, f"{self.header} does not start with {self.prefix!r}")
        given = value[len(self.prefix) :]
        if self.encoding == "hex":
            given = given.lower()
        if hmac.compare_digest(self._digest(body).encode(), given.encode("ascii", "replace")):
            return OK
        return Check(BAD_SIGNATURE, f"{self.header} does not match the body")
