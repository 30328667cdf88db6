"""Webhooks through the sink: one signed, valid, faithful event per create, and none otherwise (family: webhooks)."""

from __future__ import annotations

import pytest

from tixallo_qa.contracts._catalogue import check, final, starts_early, waits
from tixallo_qa.contracts._early import Started
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, unique
from tixallo_qa.contracts._ledger import Ledger
from tixallo_qa.contracts._sweep import Sweep, collect
from tixallo_qa.contracts._transport import MAIN, ApiClient
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.core.settings import Settings
from tixallo_qa.webhook_sink.client import SinkClient

# Seconds the reference deployment waits before its first retry (part B 3), plus slack.
RETRY_WAIT = 1.0 + 4.0


@waits
@starts_early("refused_delivery")
@check(
    "webhook-redelivery-keeps-id",
    "webhooks",
    "a delivery the receiver refused is retried with the same delivery id",
)
def test_redelivery_keeps_id(refused_delivery: Started, sink: SinkClient, target: Settings) -> None:
    # Refuse the next delivery (whichever event it carries) with a 500; its retry must keep its id.
    try:
        baseline = refused_delivery.get()["baseline"]
        refused, arrived = sink.wait(
            None, timeout=target.webhook_timeout, injected=True, since=baseline
        )
    finally:
        sink.clear_faults()
    assert arrived, f"no delivery reached the sink within {target.webhook_timeout:g} s of a create"
    first = refused[0]
    assert first.delivery_id, f"the refused delivery carries no delivery id: {first.summary()}"
    retried = sink.wait_for(
        first.event_type or TICKET_CREATED,
        timeout=target.webhook_timeout + RETRY_WAIT,
        delivery_id=first.delivery_id,
        retry=True,
    )
    assert retried[0].valid, f"the redelivery must be validly signed: {retried[0].summary()}"


@waits
@starts_early("rejected_create")
@check("webhook-none-for-rejected", "webhooks", "a rejected (400) create fires no event")
def test_no_event_for_rejected(rejected_create: Started, expect: Expect, sink: SinkClient) -> None:
    done = rejected_create.get()
    expect.status(done["response"], 400, "a create with an invalid email is rejected")
    sink.expect_none(
        TICKET_CREATED,
        within=rejected_create.left(),
        window=rejected_create.window,
        subject=done["subject"],
    )


@waits
@starts_early("other_workspace_create")
@check(
    "webhook-none-for-other-workspace",
    "webhooks",
    "the other workspace's tickets fire no event at this workspace's endpoint",
)
def test_no_event_for_other_workspace(other_workspace_create: Started, sink: SinkClient) -> None:
    done = other_workspace_create.get()
    sink.expect_none(
        TICKET_CREATED,
        within=other_workspace_create.left(),
        window=other_workspace_create.window,
        ticket_id=done["ticket_id"],
    )


@pytest.fixture(scope="module")
def sweep(
    sink: SinkClient,
    ledger: Ledger,
    sink_baseline: int,
    target: Settings,
    suite_state: object,
    api: ApiClient,
    expect: Expect,
) -> Sweep:
    """Every event this run caused, matched against every create the suite made (waits once)."""
    # Never judge an empty ledger: when other checks were deselected, make one ticket and one message.
    mine = ledger.by_identity(MAIN)
    if not any(c.event_type == TICKET_CREATED for c in mine) or not any(
        c.event_type == MESSAGE_CREATED for c in mine
    ):
        _, ticket = create_ticket(api, expect, label="webhook sweep")
        response = api.post(
            f"/tickets/{ticket['id']}/messages", json={"body": unique("webhook sweep message")}
        )
        expect.status(response, 201, "posting a message for the webhook sweep")
    return collect(sink, ledger, sink_baseline, target.webhook_timeout, suite_state)


@final
@check(
    "webhook-every-create-fires-once",
    "webhooks",
    "every successful create (generated ones too) fires exactly one event within TIXALLO_WEBHOOK_TIMEOUT",
)
def test_every_create_fires_once(sweep: Sweep) -> None:
    sweep.report("delivery")


@final
@check(
    "webhook-signed-and-fresh",
    "webhooks",
    "every event is correctly signed with a fresh timestamp (the sink's verdict is valid)",
)
def test_signed(sweep: Sweep) -> None:
    sweep.report("signature")


@final
@check(
    "webhook-payload-matches-api",
    "webhooks",
    "every payload is valid against the spec's webhooks schema and equals what the API returned",
)
def test_payload(sweep: Sweep) -> None:
    sweep.report("payload")


@final
@check(
    "webhook-no-double-fire", "webhooks", "no event is delivered twice under different delivery ids"
)
def test_no_double_fire(sweep: Sweep) -> None:
    sweep.report("double-fire")


@final
@check(
    "webhook-no-unexpected-events",
    "webhooks",
    "the endpoint gets no event the suite did not cause (assumes it is the suite's alone)",
)
def test_no_unexpected(sweep: Sweep, pytestconfig: pytest.Config, target: Settings) -> None:
    if target.webhook_shared or pytestconfig.getoption("--tixallo-shared-webhook-endpoint"):
        pytest.skip(
            "the endpoint is shared (TIXALLO_WEBHOOK_SHARED=true): events the suite did not cause are expected"
        )
    sweep.report("unexpected")
