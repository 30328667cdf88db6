"""Renders an exchange for a person: the request as a curl command, then the response, secrets redacted."""

from __future__ import annotations

import json
import shlex

from tixallo_qa.contracts._exchanges import Exchange
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


def curl_command(exchange: Exchange, redactor: Redactor, *, body_limit: int = BODY_LIMIT) -> str:
    """The request as a curl command that reproduces it (keys and secrets redacted)."""
    parts = ["curl", "-i"]
    if exchange.method != "GET" or exchange.request_body:
        parts += ["-X", exchange.method]
    parts.append(shlex.quote(redactor.text(exchange.url)))
    for name, value in redactor.headers(exchange.request_headers).items():
        if name.lower() in NOISE_HEADERS:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if exchange.request_body:
        body = exchange.request_body.decode("utf-8", errors="replace")
        parts += ["--data-raw", shlex.quote(truncate(redactor.text(body), body_limit))]
    return " ".join(parts)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return body


def response_text(exchange: Exchange, redactor: Redactor, *, body_limit: int = BODY_LIMIT) -> str:
    """Status line, headers and body of the response (redacted, body truncated)."""
    if exchange.error is not None:
        return f"no response: {redactor.text(exchange.error)}"
    lines = [f"HTTP {exchange.status}"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(exchange.response_headers).items()]
    body = _pretty(exchange.text)
    lines += ["", truncate(redactor.text(body), body_limit) if body else "(empty body)"]
    return "\n".join(lines)


def describe(exchange: Exchange, redactor: Redactor, *, body_limit: int = BODY_LIMIT) -> str:
    """The request as curl, then the response: the block every failure message ends with."""
    return (
        f"request #{exchange.seq}:\n  {curl_command(exchange, redactor, body_limit=body_limit)}\n"
        f"response:\n" + _indent(response_text(exchange, redactor, body_limit=body_limit))
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
