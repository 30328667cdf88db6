"""Keeps secrets (API keys, webhook secrets) out of everything a person or a file sees."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
# Header names whose values are always secret, whatever the value.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-tixallo-signature",
        "webhook-signature",
        "x-api-key",
    }
)


class Secrets(tuple[str, ...]):
    """Secret values handed around for redaction; a repr (a test's failure report) never shows them."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} secrets>"


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a secret (to tell keys apart in output)."""
    return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


class Redactor:
    """Replaces every known secret value in text with ``<redacted>``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str | None) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                scheme, _, rest = value.partition(" ")
                out[name] = (
                    f"{scheme} {REDACTED}"
                    if rest and name.lower().endswith("authorization")
                    else REDACTED
                )
            else:
                out[name] = self.text(value)
        return out
