"""Webhooks through the sink: one signed, valid, faithful event per create, and none otherwise (family: webhooks)."""

from __future__ import annotations

from typing import Any

import pytest

from tixallo_qa.contracts._catalogue import check, final, starts_early, waits
from tixallo_qa.contracts._early import STALL, Started, held, refusals_settled
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, unique
from tixallo_qa.contracts._ledger import Ledger
from tixallo_qa.contracts._state import SuiteState
from tixallo_qa.contracts._sweep import RESTAMP_SLACK, Scheme, Sweep, collect
from tixallo_qa.contracts._transport import MAIN, ApiClient
from tixallo_qa.core import signing
from tixallo_qa.core.events import MESSAGE_CREATED, TICKET_CREATED
from tixallo_qa.core.settings import Settings
from tixallo_qa.webhook_sink.client import NO_ANSWER, Event, SinkClient

# Seconds the reference deployment waits before its first retry (part B 3), plus slack.
RETRY_WAIT = 1.0 + 4.0


def _refused(started: Started, sink: SinkClient, target: Settings, status: int) -> Event:
    """The first delivery the sink refused with ``status`` (one of ``_early.REFUSALS``)."""
    found, arrived = sink.wait(
        None,
        timeout=target.webhook_timeout,
        injected=True,
        status=status,
        since=started.get()["baseline"],
    )
    assert arrived, (
        f"no delivery reached the sink within {target.webhook_timeout:g} s of a create to be refused with {status}"
    )
    return found[0]


def _retried(refused: Event, sink: SinkClient, timeout: float, why: str) -> None:
    """The next delivery of ``refused``'s event is its retry: the same delivery id, validly signed."""
    assert refused.delivery_id, f"the refused delivery carries no delivery id: {refused.summary()}"
    # The same event; one the sink cannot name (no ids in its payload) by its delivery id.
    same: dict[str, Any]
    if refused.message_id or refused.ticket_id:
        same = {"message_id": refused.message_id, "ticket_id": refused.ticket_id}
    else:
        same = {"delivery_id": refused.delivery_id}
    # What arrived after it (a stalled delivery is recorded when its sender hangs up, so a
    # prompt retry may hold the lower seq): since an epoch time, not a seq.
    found, arrived = sink.wait(
        refused.event_type, timeout=timeout, since=refused.received_at, **same
    )
    assert arrived, (
        f"{why}: {refused.summary()}\nwas not delivered again within {timeout:g} s (part B 3: "
        "a receiver answering non-2xx or not within 10 s is retried)"
    )
    again = min(found, key=lambda e: e.received_at)
    assert again.delivery_id == refused.delivery_id, (
        f"{why}: {refused.summary()}\nwas delivered again under another delivery id (part B 1: "
        f"unchanged across retries): {again.summary()}"
    )
    assert again.valid, f"the redelivery must be validly signed: {again.summary()}"


@waits
@starts_early("refused_deliveries")
@check(
    "webhook-redelivery-keeps-id",
    "webhooks",
    "a delivery the receiver refused with a 500 is retried with the same delivery id",
)
def test_redelivery_keeps_id(
    refused_deliveries: Started, sink: SinkClient, target: Settings
) -> None:
    refused = _refused(refused_deliveries, sink, target, 500)
    _retried(refused, sink, target.webhook_timeout + RETRY_WAIT, "answered 500")


@waits
@starts_early("refused_deliveries")
@check(
    "webhook-redelivery-after-4xx",
    "webhooks",
    "a delivery the receiver refused with a 400 is retried with the same delivery id (part B 3: "
    "any non-2xx answer; 400 is neither a 429 nor a 410, which senders may treat apart)",
)
def test_redelivery_after_4xx(
    refused_deliveries: Started, sink: SinkClient, target: Settings
) -> None:
    refused = _refused(refused_deliveries, sink, target, 400)
    _retried(refused, sink, target.webhook_timeout + RETRY_WAIT, "answered 400")


@final
@starts_early("refused_deliveries")
@check(
    "webhook-redelivery-after-timeout",
    "webhooks",
    f"a delivery the receiver does not answer (the sink stalls up to {STALL:g} s) is retried with "
    "the same delivery id once the sender gives up waiting (part B 3: 10 s); skipped when the "
    "sender waits out the whole stall: the docs leave its timeout open",
)
def test_redelivery_after_timeout(
    refused_deliveries: Started, sink: SinkClient, target: Settings
) -> None:
    try:
        refused = refusals_settled(refused_deliveries, sink, target.webhook_timeout)
    finally:
        sink.clear_faults()
    stalled = [e for e in refused if not 400 <= e.status < 600]
    assert stalled, (
        f"no delivery reached the sink within {target.webhook_timeout:g} s of the creates to be "
        "stalled; refused so far: " + ("; ".join(e.summary() for e in refused) or "none")
    )
    if stalled[0].status != NO_ANSWER:
        pytest.skip(
            f"the deployment waited out the whole {STALL:g} s stall and got its "
            f"{stalled[0].status}: its timeout is longer than part B 3's 10 s (the docs leave it "
            "open), so no retry was owed"
        )
    _retried(stalled[0], sink, target.webhook_timeout + RETRY_WAIT, "not answered")


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
    suite_state: SuiteState,
    api: ApiClient,
    expect: Expect,
    request: pytest.FixtureRequest,
) -> Sweep:
    """Every event this run caused, matched against every create the suite made (waits once)."""
    stall: tuple[float, float] | None = None
    if "refused_deliveries" in suite_state.early_spans:
        # Its stalled delivery is recorded only once its sender hangs up: wait for that.
        refused: Started = request.getfixturevalue("refused_deliveries")
        if refused.error is None:
            stall = held(refusals_settled(refused, sink, target.webhook_timeout), sink)
        sink.clear_faults()
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
    scheme = signing.get(target.webhook_scheme)
    documented = Scheme(scheme.delivery_headers, scheme.timestamp_header)
    return collect(
        sink, ledger, sink_baseline, target.webhook_timeout, suite_state, documented, stall
    )


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
    "every delivery, retries included, is correctly signed with a fresh timestamp (the sink's "
    "verdict is valid) of its own attempt: a retry's timestamp advances with it (within "
    f"{RESTAMP_SLACK:g} s)",
)
def test_signed(sweep: Sweep) -> None:
    sweep.report("signature")


@final
@check(
    "webhook-payload-matches-api",
    "webhooks",
    "every delivery's payload, retries included, is valid against the spec's webhooks schema "
    "and equals what the API returned",
)
def test_payload(sweep: Sweep) -> None:
    sweep.report("payload")


@final
@check(
    "webhook-every-attempt-headers",
    "webhooks",
    "every delivery, retries included, carries each header the signing scheme documents (part B "
    "1) with a value the spec allows (X-Tixallo-Delivery a UUID, in any case), and an "
    "X-Tixallo-Event naming the payload's event_type",
)
def test_every_attempt_headers(sweep: Sweep) -> None:
    sweep.report("headers")


@final
@check(
    "webhook-delivery-id-one-event",
    "webhooks",
    "a delivery id stands for one event: no two events (event type, ticket, message) share one "
    "(part B 1: one id per event and endpoint, unchanged across retries)",
)
def test_delivery_id_one_event(sweep: Sweep) -> None:
    sweep.report("delivery-id")


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
