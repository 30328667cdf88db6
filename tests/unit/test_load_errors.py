"""Errors named: each failed request's kind, its sample as a redacted curl, counted per process."""

from __future__ import annotations

import shlex

import pytest

from tixallo_qa.core.curl import curl
from tixallo_qa.core.redact import Redactor
from tixallo_qa.load.errors import (
    CLIENT,
    CLOSED,
    RESET,
    SERVER,
    TIMEOUT,
    TRANSPORT,
    family,
    kind_of,
)
from tixallo_qa.load.scenario.collector import Collector

pytestmark = pytest.mark.unit


class HTTPConnectionClosed(Exception):
    """Named like geventhttpclient's, which wraps the OS error of a reset."""


def _wrapped_reset() -> Exception:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise HTTPConnectionClosed("connection closed.")  # noqa: B904 (the context is the point)
    except HTTPConnectionClosed as exc:
        return exc


def test_every_failure_gets_a_kind_and_a_family() -> None:
    assert kind_of(503) == "HTTP 503" and family("HTTP 503") == SERVER
    assert family(kind_of(404)) == CLIENT
    assert kind_of(0, ConnectionResetError()) == RESET
    assert kind_of(0, _wrapped_reset()) == RESET  # the wire said reset, the client said closed
    assert kind_of(0, HTTPConnectionClosed("connection closed.")) == CLOSED
    assert kind_of(0, TimeoutError("timed out")) == TIMEOUT
    assert kind_of(0, None) == CLOSED
    odd = kind_of(0, ValueError("what"))
    assert odd.startswith(TRANSPORT) and "ValueError" in odd and family(odd) == TRANSPORT


def test_curl_reproduces_the_request_without_the_key() -> None:
    key = "txk_live_secret_0123456789"
    redactor = Redactor([key])
    url = f"http://127.0.0.1:9/api/v1/tickets?k={key}"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    command = curl("POST", url, headers=headers, body={"subject": "it's"}, redactor=redactor)
    assert key not in command and "Bearer <redacted>" in command
    words = shlex.split(command)
    assert words[:4] == ["curl", "-i", "-X", "POST"] and '{"subject": "it\'s"}' in words
    assert "-X" not in curl("GET", "http://h/api/v1/tickets")


def test_the_collector_counts_every_failure_and_keeps_the_first_sample() -> None:
    c = Collector(window=2.0)
    c.answered("GET /tickets", 12.5, at=1001.0)
    c.answered("GET /tickets", 30.0, at=1003.5)
    for i in range(3):
        if c.wants_sample("POST /tickets", "HTTP 500"):
            c.failed("POST /tickets", "HTTP 500", at=1000.0 + i, sample=f"curl {i}")
        else:
            c.failed("POST /tickets", "HTTP 500", at=1000.0 + i)
    assert c.started() == 1 and c.started() == 2
    c.ended()
    batch = c.take()
    assert sorted(batch["histograms"]["GET /tickets"]) == ["500", "501"]  # 2 s windows
    error = batch["errors"]["POST /tickets|HTTP 500"]
    assert error["count"] == 3 and error["sample"] == "curl 0" and error["last_at"] == 1002.0
    assert batch["failures"] == {"POST /tickets": {"HTTP 500": 3}}
    assert batch["inflight"] == {"1": 1, "2": 1}
    assert len(batch["error_events"]) == 3 and batch["span"] == [1001.0, 1003.5]
    again = c.take()
    assert c.empty(again) and c.in_flight == 1  # in flight carries over; the rest starts afresh
    assert not c.wants_sample("POST /tickets", "HTTP 500")  # one sample per kind per run
