"""No signature: every delivery is accepted (a sender that does not sign)."""

from __future__ import annotations

from collections.abc import Mapping

from tixallo_qa.core.signing._scheme import OK, Check, Scheme


class NoScheme(Scheme):
    name = "none"
    summary = "no signature: every delivery is accepted"
    needs_secret = False

    def signature(self, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
        return {}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Check:
        return OK
