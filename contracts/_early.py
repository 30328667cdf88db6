"""The first part of the checks that judge a wait, done before every check (``starts_early``).

A rejected create must fire no event for a few seconds; a refused delivery is retried a second
later, a stalled one after its sender gave up waiting (10 s). Each of those checks makes its
request here, at the start of the run, and judges at its own turn, so the seconds it watches
pass while the rest of the suite works instead of after it.
Registered with the suite's fixtures: ``_fixtures.early_starts`` sets these up before the first
check, from whichever test module it belongs to.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, require, ticket_body, unique
from tixallo_qa.contracts._transport import OTHER, ApiClient
from tixallo_qa.core.settings import Settings

if TYPE_CHECKING:
    from tixallo_qa.webhook_sink.client import Event, SinkClient

# How long to watch for an event that must not come; the final sweep flags a late one anyway.
EXPECT_NONE_WITHIN = 2.0
# Seconds the sink holds its answer to the stalled delivery: well past part B 3's 10 s, so the
# sender gives up first (it hangs up, which ends the stall); one that waits all of it owes no retry.
STALL = 30.0
# Part B 3: a receiver answering non-2xx or not within 10 s is retried. One first attempt each:
# a 5xx; a plain 4xx (400: not 429 or 503, whose Retry-After every sender honours, nor 410, which
# some senders read as "remove this endpoint"); no answer at all.
REFUSALS: tuple[dict[str, float], ...] = ({"status": 500}, {"status": 400}, {"stall": STALL})
POLL = 0.1


@dataclass
class Started:
    """What a check's first part did, or what it raised (re-raised by the check that judges it)."""

    values: dict[str, Any]
    window: float  # seconds watched from ``at``
    at: float  # monotonic clock, when the first part was done
    error: BaseException | None = None

    def get(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return self.values

    def left(self) -> float:
        """Seconds of the window still to watch (0 once it has passed)."""
        return max(0.0, self.at + self.window - time.monotonic())


def start(act: Callable[[], dict[str, Any]], window: float = 0.0) -> Started:
    """Run ``act`` now; its failure (or skip) is kept for the check, never this fixture's."""
    try:
        values, error = act(), None
    except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
        values, error = {}, exc
    return Started(values, window, time.monotonic(), error)


@pytest.fixture(scope="session")
def refused_deliveries(api: ApiClient, expect: Expect, sink: SinkClient) -> Iterator[Started]:
    """The first attempts of three events refused, one way each (``REFUSALS``), and the creates
    that cause them: a ticket and two messages (the webhook-redelivery-* checks)."""

    def act() -> dict[str, Any]:
        baseline = int(sink.health().get("last_seq") or 0)
        # First attempts only: a retry is never refused again, and each refusal meets an event.
        sink.inject_fault(plan=REFUSALS, fresh=True)
        try:
            _, ticket = create_ticket(api, expect, label="redelivery")
            for n in range(len(REFUSALS) - 1):
                response = api.post(
                    f"/tickets/{ticket['id']}/messages",
                    json={"body": unique(f"redelivery message {n + 1}")},
                )
                expect.status(response, 201, "posting a message whose delivery the sink refuses")
        except BaseException:
            sink.clear_faults()
            raise
        return {"baseline": baseline}

    yield start(act, STALL)
    # Whatever of the plan no delivery met must not refuse the next run's.
    with contextlib.suppress(Exception):
        sink.clear_faults()


def refusals_settled(refused: Started, sink: SinkClient, timeout: float) -> list[Event]:
    """The refused deliveries once each refusal met one (the stall's is recorded when its sender
    hangs up), or what of them there is once waiting longer would not help.

    The first attempts are due within ``timeout`` of the creates: a stall that has not begun by
    then is not waited for (the sweep reports the late or missing events).
    """
    baseline = refused.get()["baseline"]
    deadline = refused.at + timeout
    while True:
        rule = sink.fault()
        begun = rule is not None and rule.get("applied", 0) >= len(REFUSALS)
        if begun or time.monotonic() >= deadline:
            break
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
    found, _ = sink.wait(
        None,
        timeout=refused.left() + timeout if begun else 0.0,
        count=len(REFUSALS),
        injected=True,
        since=baseline,
    )
    return found


def held(refused: list[Event], sink: SinkClient) -> tuple[float, float] | None:
    """When the sink held a delivery unanswered (wall clock): from the stalled delivery's arrival
    to its retry's (the sender had given up by then), or to the stall's end without a retry.

    A sender that delivers one at a time per endpoint sends nothing else meanwhile: what queued
    behind the held delivery is late through the sink's doing, not the deployment's.
    """
    stalled = [e for e in refused if not 400 <= e.status < 600]
    if not stalled:
        return None
    start = stalled[0].received_at
    again = sink.events(since=start, delivery_id=stalled[0].delivery_id, limit=1)
    return start, again[0].received_at if again else start + STALL


@pytest.fixture(scope="session")
def rejected_create(api: ApiClient, sink: SinkClient, target: Settings) -> Started:
    """A create refused 400, and the seconds its event must not come in (webhook-none-for-rejected)."""

    def act() -> dict[str, Any]:
        subject = unique("rejected create")
        body = ticket_body("rejected", subject=subject, customer_email="not-an-email")
        return {"subject": subject, "response": api.post("/tickets", json=body)}

    return start(act, min(target.webhook_timeout, EXPECT_NONE_WITHIN))


@pytest.fixture(scope="session")
def other_workspace_create(
    api: ApiClient, expect: Expect, sink: SinkClient, target: Settings
) -> Started:
    """A ticket of the other workspace (webhook-none-for-other-workspace)."""

    def act() -> dict[str, Any]:
        require(target, "other_api_key")
        _, ticket = create_ticket(api, expect, identity=OTHER, label="other workspace webhook")
        return {"ticket_id": ticket["id"]}

    return start(act, min(target.webhook_timeout, EXPECT_NONE_WITHIN))
