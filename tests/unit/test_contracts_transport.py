"""The paced session: placeholders become pooled keys, pacing holds, own 429s are waited out."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from tixallo_qa.contracts._exchanges import ExchangeLog
from tixallo_qa.contracts._transport import PacedSession, bearer, exchange_of
from tixallo_qa.core.ratelimit import KeyPool

pytestmark = pytest.mark.unit


class ScriptedAdapter(BaseAdapter):
    """Answers from a script of statuses and remembers what it was sent."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__()
        self.statuses = statuses
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.statuses.pop(0) if self.statuses else 200
        response._content = b'{"data": []}'
        response.headers["Retry-After"] = "7"
        response.request = request
        response.url = str(request.url)
        return response

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _session(
    statuses: list[int], keys: tuple[str, ...] = ("k1", "k2"), limit: int = 2
) -> tuple[PacedSession, ScriptedAdapter, Clock]:
    clock = Clock()
    session = PacedSession(
        {
            "main": KeyPool(keys, limit, 60, margin=0, clock=clock),
            "other": KeyPool(["o1"], limit, 60, margin=0, clock=clock),
        },
        ExchangeLog(),
        sleep=clock.sleep,
    )
    adapter = ScriptedAdapter(statuses)
    session.mount("http://", adapter)
    return session, adapter, clock


def test_placeholder_becomes_a_pooled_key_and_the_response_shows_the_placeholder() -> None:
    session, adapter, _ = _session([200])
    response = session.get("http://t/api", headers={"Authorization": bearer("other")})
    assert adapter.sent[0].headers["Authorization"] == "Bearer o1"
    assert response.request.headers["Authorization"] == bearer("other")
    assert exchange_of(response).identity == "other"
    assert exchange_of(response).request_headers["Authorization"] == "Bearer o1"


def test_requests_are_spread_over_keys_and_paced_per_key() -> None:
    session, adapter, clock = _session([])
    for _ in range(5):
        session.get("http://t/api", headers={"Authorization": bearer("main")})
    used = [r.headers["Authorization"] for r in adapter.sent]
    assert sorted(used[:4]) == ["Bearer k1", "Bearer k1", "Bearer k2", "Bearer k2"]
    # Two keys at 2 per 60 s: the fifth request waits for a window to free up.
    assert clock.slept == [60.0]


def test_own_429_is_waited_out_and_retried() -> None:
    session, adapter, clock = _session([429, 200], keys=("k1",), limit=0)
    response = session.get("http://t/api", headers={"Authorization": bearer("main")})
    assert response.status_code == 200
    assert len(adapter.sent) == 2
    assert clock.slept == [7.0]  # Retry-After
    assert session.log.own_429s() == 1


def test_raw_429_hands_the_429_to_the_check() -> None:
    session, adapter, _ = _session([429], keys=("k1",), limit=0)
    with session.raw_429():
        response = session.get("http://t/api", headers={"Authorization": bearer("main")})
    assert response.status_code == 429 and len(adapter.sent) == 1


def test_unpooled_credentials_are_sent_as_they_are_and_not_retried() -> None:
    session, adapter, clock = _session([429])
    response = session.get("http://t/api", headers={"Authorization": "Token whatever"})
    assert response.status_code == 429
    assert adapter.sent[0].headers["Authorization"] == "Token whatever"
    assert exchange_of(response).identity is None and clock.slept == []


def test_unknown_identity_names_the_missing_setting() -> None:
    session, _, _ = _session([])
    with pytest.raises(KeyError, match="setting is missing"):
        session.get("http://t/api", headers={"Authorization": bearer("nobody")})


def test_environment_is_read_once_per_origin_and_still_decides_proxies_and_ca(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "direct.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/not/ours.pem")
    session, _, _ = _session([])
    session.verify = "/ours.pem"
    calls: list[str] = []
    parent = requests.Session.merge_environment_settings

    def counted(self: requests.Session, url: str, *args: object) -> dict[str, object]:
        calls.append(url)
        return parent(self, url, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(requests.Session, "merge_environment_settings", counted)
    first = session.merge_environment_settings("http://t/a?x=1", {}, None, None, None)
    again = session.merge_environment_settings("http://t/b", {}, None, None, None)
    direct = session.merge_environment_settings("http://direct.example/a", {}, None, None, None)
    assert calls == ["http://t/a?x=1", "http://direct.example/a"]  # one look per origin
    assert first == again and first["proxies"]["http"] == "http://proxy.example:3128"
    assert "http" not in direct["proxies"]  # NO_PROXY still bypasses
    assert first["verify"] == "/ours.pem"  # TIXALLO_CA_BUNDLE's value beats REQUESTS_CA_BUNDLE
    # A caller that edits what it got does not edit what the next request gets.
    first["proxies"]["http"] = "changed"
    assert session.merge_environment_settings("http://t/c", {}, None, None, None)["proxies"][
        "http"
    ] == ("http://proxy.example:3128")
