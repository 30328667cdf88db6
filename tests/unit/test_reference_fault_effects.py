"""A sample of planted faults, in process: each changes the answer it claims to change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tixallo_qa.reference.app import create_app
from tixallo_qa.reference.config import ServerConfig
from tixallo_qa.reference.seed import seed_store
from tixallo_qa.reference.store import Store

pytestmark = pytest.mark.unit


class Client:
    """A synchronous face on an in-process ASGI client (no sockets, no dispatcher task)."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self._loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(
            transport=transport, base_url="http://testserver/api/v1", headers=headers
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


Probe = Callable[[Client, dict[str, str]], object]


@contextmanager
def deployment(*faults: str) -> Iterator[tuple[Client, dict[str, str]]]:
    store = Store(":memory:")
    settings = seed_store(store, sink_url=None)
    app = create_app(ServerConfig(faults=faults, rate_limit=3), store)
    client = Client(app, {"Authorization": f"Bearer {settings['TIXALLO_API_KEY']}"})
    try:
        yield client, settings
    finally:
        client.close()
        store.close()


def body(**extra: str) -> dict[str, str]:
    return {"subject": "s", "description": "d", "customer_email": "a@b.co", **extra}


PROBES: dict[str, Probe] = {
    "auth-revoked-key-accepted": lambda c, s: c.get("/tickets", headers={"Authorization": f"Bearer {s['TIXALLO_REVOKED_API_KEY']}"}).status_code,
    "isolation-get-other-workspace": lambda c, s: c.get(f"/tickets/{s['TIXALLO_NOTED_TICKET_ID']}", headers={"Authorization": f"Bearer {s['TIXALLO_OTHER_API_KEY']}"}).status_code,
    "validation-422": lambda c, s: c.post("/tickets", json={}).status_code,
    "list-oldest-first": lambda c, s: [t["ticket_number"] for t in c.get("/tickets").json()["data"]],
    "list-merged-included": lambda c, s: len(c.get("/tickets").json()["data"]),
    "notes-as-agent-message": lambda c, s: s["TIXALLO_INTERNAL_NOTE_MARKER"] in c.get(f"/tickets/{s['TIXALLO_NOTED_TICKET_ID']}").text,
    "customer-duplicated": lambda c, s: len({c.post("/tickets", json=body()).json()["data"]["customer_id"] for _ in range(2)}),
    "roundtrip-status-open": lambda c, s: c.post("/tickets", json=body()).json()["data"]["status"],
    "errors-merged-accepted": lambda c, s: c.post(f"/tickets/{s['TIXALLO_MERGED_TICKET_ID']}/messages", json={"body": "x"}).status_code,
    "errors-non-uuid-500": lambda c, s: c.get("/tickets/xyz").status_code,
    "errors-405-no-allow": lambda c, s: c.delete("/tickets").headers.get("allow"),
    "ratelimit-none": lambda c, s: [c.get("/tickets").status_code for _ in range(4)][-1],
    "ratelimit-no-retry-after": lambda c, s: [c.get("/tickets").headers.get("retry-after") for _ in range(4)][-1],
    "ratelimit-no-retry-after-on-ticket-paths": lambda c, s: [c.get(f"/tickets/{s['TIXALLO_MERGED_TICKET_ID']}").headers.get("retry-after") for _ in range(4)][-1],
    "errors-text-content-type": lambda c, s: c.get("/tickets/9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3").headers["content-type"],
    "errors-text-content-type=401": lambda c, s: c.get("/tickets", headers={"Authorization": "Bearer nope"}).headers["content-type"],
    "errors-text-content-type=429": lambda c, s: [c.get("/tickets").headers["content-type"] for _ in range(4)][-1],
    "validation-invalid-json-500": lambda c, s: c.post("/tickets", content=b"{").status_code,
    # Every 3rd 2xx answer cut in half, with a Content-Length that matches what is sent.
    "load-answer-cut=3": lambda c, s: [_parses(c.get("/tickets")) for _ in range(6)],
}  # fmt: skip


def _parses(response: httpx.Response) -> bool:
    assert int(response.headers["content-length"]) == len(response.content)
    try:
        response.json()
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("fault", sorted(PROBES))
def test_fault_changes_behaviour(fault: str) -> None:
    probe = PROBES[fault]
    with deployment() as (client, settings):
        faithful = probe(client, settings)
    with deployment(fault) as (client, settings):
        planted = probe(client, settings)
    assert faithful != planted, (fault, faithful)
