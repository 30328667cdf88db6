"""A request as the curl command that reproduces it, secrets redacted (the suites' one renderer)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from tixallo_qa.core.redact import Redactor

# Enough to see what went wrong, short enough that a failure list stays readable.
BODY_LIMIT = 2000
# Headers that only add noise to a reproduction command.
NOISE_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "connection", "content-length", "accept"}
)


def truncate(text: str, limit: int = BODY_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def excerpt(text: str, focus: str | None, limit: int = BODY_LIMIT) -> str:
    """``text`` cut to ``limit`` characters around the first ``focus`` in it (else its start)."""
    at = text.find(focus) if focus else -1
    if len(text) <= limit or at < 0:
        return truncate(text, limit)
    start = max(0, min(at - limit // 2, len(text) - limit))
    end = start + limit
    before = f"… [{start} characters before] " if start else ""
    after = f" … [{len(text) - end} more characters]" if end < len(text) else ""
    return f"{before}{text[start:end]}{after}"


def curl(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | Any = None,
    redactor: Redactor | None = None,
    body_limit: int = BODY_LIMIT,
) -> str:
    """``curl -i`` with the method, the URL, the headers and the body (JSON for a non-text body)."""
    redactor = redactor or Redactor()
    parts = ["curl", "-i"]
    if method != "GET" or body:
        parts += ["-X", method]
    parts.append(shlex.quote(redactor.text(url)))
    for name, value in redactor.headers(headers or {}).items():
        if name.lower() not in NOISE_HEADERS:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None and body != b"":
        if isinstance(body, bytes):
            text = body.decode("utf-8", errors="replace")
        else:
            text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        parts += ["--data-raw", shlex.quote(truncate(redactor.text(text), body_limit))]
    return " ".join(parts)
