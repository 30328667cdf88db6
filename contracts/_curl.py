"""Renders an exchange for a person: the request as a curl command, then the response, secrets redacted."""

from __future__ import annotations

import json

from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.core.curl import BODY_LIMIT, curl, excerpt, truncate
from tixallo_qa.core.redact import Redactor

__all__ = ["BODY_LIMIT", "curl_command", "describe", "response_text", "truncate"]


def curl_command(exchange: Exchange, redactor: Redactor, *, body_limit: int = BODY_LIMIT) -> str:
    """The exchange's request as a curl command that reproduces it (keys and secrets redacted)."""
    return curl(
        exchange.method,
        exchange.url,
        headers=exchange.request_headers,
        body=exchange.request_body or None,
        redactor=redactor,
        body_limit=body_limit,
    )


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return body


def response_text(
    exchange: Exchange,
    redactor: Redactor,
    *,
    body_limit: int = BODY_LIMIT,
    focus: str | None = None,
) -> str:
    """Status line, headers and body of the response (redacted; a long body cut around ``focus``)."""
    if exchange.error is not None:
        return f"no response: {redactor.text(exchange.error)}"
    lines = [f"HTTP {exchange.status}"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(exchange.response_headers).items()]
    body = _pretty(exchange.text)
    lines += ["", excerpt(redactor.text(body), focus, body_limit) if body else "(empty body)"]
    return "\n".join(lines)


def describe(
    exchange: Exchange,
    redactor: Redactor,
    *,
    body_limit: int = BODY_LIMIT,
    focus: str | None = None,
) -> str:
    """The request as curl, then the response: the block every failure message ends with.

    A long response body is shown around ``focus`` (the offending id or value), so the reader
    finds it without reading the body; the report keeps every body whole.
    """
    return (
        f"request #{exchange.seq}:\n  {curl_command(exchange, redactor, body_limit=body_limit)}\n"
        f"response:\n"
        + _indent(response_text(exchange, redactor, body_limit=body_limit, focus=focus))
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
