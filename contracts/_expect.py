"""Failure messages a reader can act on: what was checked, expected against actual, the exchange."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests

from tixallo_qa.contracts._curl import describe
from tixallo_qa.contracts._transport import exchange_of
from tixallo_qa.core.redact import Redactor


class Expect:
    """Builds assertion messages with the exchanges behind them, secrets redacted."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def message(
        self,
        what: str,
        *,
        expected: Any,
        actual: Any,
        responses: Iterable[requests.Response] = (),
        focus: str | None = None,
    ) -> str:
        """``what``, expected and actual first, then each exchange (its body cut around ``focus``)."""
        lines = [what, f"  expected: {_short(expected)}", f"  actual:   {_short(actual)}"]
        for response in responses:
            try:
                lines.append(describe(exchange_of(response), self.redactor, focus=focus))
            except LookupError:
                continue
        return self.redactor.text("\n".join(lines))

    def that(
        self,
        condition: bool,
        what: str,
        *,
        expected: Any,
        actual: Any,
        responses: Iterable[requests.Response] = (),
        focus: str | None = None,
    ) -> None:
        """Fail with ``what``, expected, actual and the exchanges unless ``condition`` holds.

        ``focus`` names the offending item (an id, a value): a long body is shown around it.
        """
        if not condition:
            raise AssertionError(
                self.message(
                    what, expected=expected, actual=actual, responses=responses, focus=focus
                )
            )

    def equal(
        self,
        actual: Any,
        expected: Any,
        what: str,
        *,
        responses: Iterable[requests.Response] = (),
        focus: str | None = None,
    ) -> None:
        """Fail with ``what`` and both values unless ``actual == expected``."""
        self.that(
            actual == expected,
            what,
            expected=expected,
            actual=actual,
            responses=responses,
            focus=focus,
        )

    def status(
        self, response: requests.Response, expected: int | tuple[int, ...], what: str
    ) -> None:
        """The response has the expected status."""
        allowed = expected if isinstance(expected, tuple) else (expected,)
        self.that(
            response.status_code in allowed,
            what,
            expected=" or ".join(str(s) for s in allowed),
            actual=response.status_code,
            responses=[response],
        )

    def json(self, response: requests.Response, what: str) -> Any:
        """The response body as JSON, failing readably when it is not, or not labelled JSON.

        Every body the spec documents is ``application/json``; a client that parses by
        ``Content-Type`` (browsers, most SDKs) cannot read one sent as ``text/plain``, so the
        label is part of the contract, whatever status or path it comes with.
        """
        content_type = response.headers.get("Content-Type")
        self.that(
            is_json_media_type(content_type),
            what + ": the body is not labelled JSON",
            expected="Content-Type: application/json (a charset, or any +json type, is fine)",
            actual=f"Content-Type: {content_type}" if content_type else "no Content-Type",
            responses=[response],
        )
        try:
            return response.json()
        except ValueError:
            raise AssertionError(
                self.message(
                    what + ": body is not JSON",
                    expected="a JSON body",
                    actual=response.text[:200],
                    responses=[response],
                )
            ) from None


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type (RFC 6839), parameters such as charset allowed."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
