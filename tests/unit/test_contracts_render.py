"""The contract suite's renderers: curl commands and responses, with secrets redacted."""

from __future__ import annotations

import shlex

import pytest
import requests

from tixallo_qa.contracts._curl import BODY_LIMIT, curl_command, describe, response_text, truncate
from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.core.redact import Redactor

pytestmark = pytest.mark.unit

KEY = "tx_live_SECRETKEY123456"
MARKER = "internal-note-marker-abc123"


def _exchange(**changes: object) -> Exchange:
    exchange = Exchange(
        seq=7,
        method="POST",
        url="https://tixallo.example/api/v1/tickets",
        request_headers={
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/json",
            "User-Agent": "x",
        },
        request_body=b'{"subject": "it\'s here"}',
        status=400,
        response_headers={"Content-Type": "application/json", "Set-Cookie": "session=abc"},
        response_body=b'{"error": "Invalid input", "echo": "' + MARKER.encode() + b'"}',
    )
    for name, value in changes.items():
        setattr(exchange, name, value)
    return exchange


def test_curl_reproduces_the_request_without_the_key() -> None:
    command = curl_command(_exchange(), Redactor([KEY]))
    assert KEY not in command
    words = shlex.split(command)
    assert words[:4] == ["curl", "-i", "-X", "POST"]
    assert "https://tixallo.example/api/v1/tickets" in words
    assert "Authorization: Bearer <redacted>" in words
    assert "Content-Type: application/json" in words
    assert not any(w.startswith("User-Agent") for w in words)
    assert words[words.index("--data-raw") + 1] == '{"subject": "it\'s here"}'


def test_get_without_body_has_no_method_flag() -> None:
    command = curl_command(_exchange(method="GET", request_body=None), Redactor([KEY]))
    assert "-X" not in shlex.split(command)


def test_response_text_redacts_secret_headers_and_values() -> None:
    text = response_text(_exchange(), Redactor([KEY, MARKER]))
    assert text.startswith("HTTP 400")
    assert "session=abc" not in text and MARKER not in text
    assert '"error": "Invalid input"' in text


def test_long_bodies_are_truncated_saying_how_much() -> None:
    body = "x" * (BODY_LIMIT + 50)
    assert truncate(body).endswith("[50 more characters]")
    text = response_text(_exchange(response_body=body.encode()), Redactor())
    assert "[50 more characters]" in text


def test_transport_error_is_shown_instead_of_a_response() -> None:
    text = response_text(
        _exchange(status=None, error=f"ConnectionError: refused for {KEY}"), Redactor([KEY])
    )
    assert text == "no response: ConnectionError: refused for <redacted>"


def test_describe_puts_request_then_response() -> None:
    text = describe(_exchange(), Redactor([KEY]))
    where = [text.index(part) for part in ("request #7:", "curl", "response:", "HTTP 400")]
    assert where == sorted(where)


def test_expect_message_has_expected_actual_and_no_secret() -> None:
    message = Expect(Redactor([KEY])).message(
        f"key {KEY} must be refused", expected=401, actual=f"200 for {KEY}"
    )
    assert KEY not in message
    assert "  expected: 401" in message
    assert "  actual:   200 for <redacted>" in message


def test_expect_that_raises_only_when_false() -> None:
    expect = Expect(Redactor())
    expect.that(True, "fine", expected=1, actual=1)
    with pytest.raises(AssertionError, match="expected: 1"):
        expect.that(False, "broken", expected=1, actual=2)


def test_a_long_body_is_shown_around_the_offending_item() -> None:
    from tixallo_qa.core.curl import excerpt

    body = "x" * 9000 + "9f6c1a3e-merged" + "y" * 9000
    shown = excerpt(body, "9f6c1a3e-merged", 500)
    assert "9f6c1a3e-merged" in shown and len(shown) < 600
    assert shown.startswith("… [8750 characters before] ") and shown.endswith(" more characters]")
    assert excerpt(body, "absent", 500).startswith("x" * 500)
    assert excerpt("short", "short", 500) == "short"


def _response(
    content_type: str | None, body: bytes = b'{"error": "Ticket has been merged"}'
) -> requests.Response:
    response = requests.Response()
    response.status_code = 409
    response._content = body
    if content_type is not None:
        response.headers["Content-Type"] = content_type
    return response


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ],
)
def test_expect_json_reads_a_body_labelled_json(content_type: str) -> None:
    body = Expect(Redactor()).json(_response(content_type), "409")
    assert body == {"error": "Ticket has been merged"}


@pytest.mark.parametrize(
    "content_type", ["text/plain; charset=utf-8", "text/html", "application/jsonp", None]
)
def test_expect_json_refuses_json_text_not_labelled_json(content_type: str | None) -> None:
    with pytest.raises(AssertionError, match="not labelled JSON") as raised:
        Expect(Redactor()).json(_response(content_type), "409")
    assert (content_type or "no Content-Type") in str(raised.value)


def test_expect_json_refuses_a_body_that_is_not_json() -> None:
    with pytest.raises(AssertionError, match="body is not JSON"):
        Expect(Redactor()).json(_response("application/json", b"Not Found"), "404")
