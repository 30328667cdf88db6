"""The embedded target signs and verifies with whichever registered scheme the settings name."""

from __future__ import annotations

import httpx
import pytest

from tixallo_qa.core import signing
from tixallo_qa.core.events import TICKET_CREATED
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("scheme", signing.names())
def test_a_create_fires_a_valid_event_under_every_scheme(scheme: str) -> None:
    with Target.start(Settings(webhook_scheme=scheme), pool_size=1) as target:
        s = target.settings
        assert target.sink is not None and s.base_url is not None
        assert target.sink.health()["scheme"] == scheme
        created = httpx.post(
            f"{s.base_url}/tickets",
            json={"subject": "s", "description": "d", "customer_email": "a@example.com"},
            headers={"Authorization": f"Bearer {s.api_key}"},
            trust_env=False,
        )
        assert created.status_code == 201
        ticket_id = created.json()["data"]["id"]
        found, done = target.sink.wait(TICKET_CREATED, timeout=10, ticket_id=ticket_id)
        assert done and [e.verdict for e in found] == ["valid"]
