"""Redaction, pacing and network helpers shared by every part of the suite."""

from __future__ import annotations

import socket

import pytest

from tixallo_qa.core.netutil import PortInUseError, check_port_free, is_loopback_url
from tixallo_qa.core.ratelimit import KeyPool, parse_retry_after, required_keys
from tixallo_qa.core.redact import REDACTED, Redactor, fingerprint

pytestmark = pytest.mark.unit


def test_redactor_replaces_every_secret_and_sensitive_headers() -> None:
    r = Redactor(["txk_abcdef", "txk_abcdef_longer", None, ""])
    assert r.text("a txk_abcdef_longer b txk_abcdef") == f"a {REDACTED} b {REDACTED}"
    headers = r.headers(
        {
            "Authorization": "Bearer txk_abcdef",
            "X-Note": "has txk_abcdef",
            "X-Tixallo-Signature": "sha256=00",
        }
    )
    assert headers == {
        "Authorization": f"Bearer {REDACTED}",
        "X-Note": f"has {REDACTED}",
        "X-Tixallo-Signature": REDACTED,
    }
    assert fingerprint("txk_abcdef") == fingerprint("txk_abcdef") != fingerprint("txk_other")
    assert "txk_abcdef" not in fingerprint("txk_abcdef")


def test_key_pool_never_exceeds_the_limit_in_any_window() -> None:
    now = [0.0]
    pool = KeyPool(["a", "b", "c"], limit=5, window=10.0, margin=0.5, clock=lambda: now[0])
    sends: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for _ in range(60):
        r = pool.reserve()
        sends[r.key].append(now[0] + r.delay)
    for times in sends.values():
        times.sort()
        for i in range(len(times) - 5):
            assert times[i + 5] - times[i] >= 10.0


def test_key_pool_spreads_requests_over_its_keys() -> None:
    # Spent front-first, a burst would use up one key after another, leaving nothing for the
    # next phase of the run on the same keys; spread, every key keeps most of its budget.
    now = [0.0]
    pool = KeyPool([f"k{i}" for i in range(10)], limit=60, clock=lambda: now[0])
    used = [pool.reserve().key for _ in range(30)]
    assert {used.count(k) for k in set(used)} == {3} and len(set(used)) == 10


def test_key_pool_rests_a_penalized_key_and_unlimited_never_waits() -> None:
    now = [100.0]
    pool = KeyPool(["a"], limit=0, clock=lambda: now[0])
    assert all(pool.reserve().delay == 0 for _ in range(1000))
    pool.penalize("a", 7)
    assert pool.reserve().delay == pytest.approx(7)


def test_planning_helpers() -> None:
    assert required_keys(10, 60) == 11  # 60/60.5 per key per second
    assert required_keys(10, 0) == 0
    assert parse_retry_after("60") == 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", default=5) == 5
    assert parse_retry_after(None) == 60


def test_port_helpers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            check_port_free("127.0.0.1", port)
    assert is_loopback_url("http://127.0.0.1:8000/api/v1")
    assert is_loopback_url("http://localhost/")
    assert is_loopback_url("http://[::1]:80/")
    assert not is_loopback_url("https://tixallo.com/api/v1")
    assert not is_loopback_url("http://10.0.0.1/")


def test_listen_resolves_port_zero_and_names_a_taken_port() -> None:
    from tixallo_qa.core.netutil import listen

    first = listen("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        assert port > 0
        with pytest.raises(PortInUseError, match=rf"port {port} on 127.0.0.1 .* \(--port\)"):
            listen("127.0.0.1", port, hint=" (--port)")
    finally:
        first.close()
