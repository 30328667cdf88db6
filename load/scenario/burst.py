"""The write burst: N writes sent at the same instant, again and again, so races in the target show.

Alternately N ``POST /tickets`` and N ``POST /tickets/{id}/messages`` at one ticket (the same
ticket for a few bursts, so later bursts happen after earlier ones and the order of the whole
conversation can be checked), each request on its own key of the pool where the pool has enough.
"""

from __future__ import annotations

from collections.abc import Callable

import gevent
from locust import FastHttpUser, task

from tixallo_qa.core.ratelimit import Reservation
from tixallo_qa.load.scenario import actions
from tixallo_qa.load.scenario.pacing import Reply
from tixallo_qa.load.scenario.state import STATE

# Message bursts at one ticket before moving to a newer one (keeps conversations short).
BURSTS_PER_TICKET = 5


class BurstUser(FastHttpUser):
    """One per run (closed model): bursts of simultaneous writes every ``burst_every`` seconds."""

    fixed_count = 1
    # Set from the plan before users start: one connection per request of a burst.
    concurrency = 16

    def wait_time(self) -> float:
        plan, _ = STATE.require()
        return plan.options.burst_every

    def on_start(self) -> None:
        self.hot: str | None = None
        self.on_hot = 0
        self.round = 0

    @task
    def burst(self) -> None:
        plan, pacer = STATE.require()
        n = plan.options.burst_size
        if self.hot is None or self.round % 2 == 0:
            replies = self._at_once(
                n,
                lambda slot: actions.create_ticket(
                    self.client, pacer, plan.run_id, slot=slot, burst=True
                ),
            )
            made = [r.data["id"] for r in replies if r.status == 201 and isinstance(r.data, dict)]
            if made and (self.hot is None or self.on_hot >= BURSTS_PER_TICKET):
                self.hot, self.on_hot = made[0], 0
        else:
            hot = self.hot
            self._at_once(
                n, lambda slot: actions.add_message(self.client, pacer, hot, slot=slot, burst=True)
            )
            self.on_hot += 1
        self.round += 1

    def _at_once(self, n: int, send: Callable[[Reservation], Reply]) -> list[Reply]:
        _, pacer = STATE.require()
        slots = pacer.spread(n)
        # All greenlets start before any sends: each goes out as soon as the previous one waits.
        greenlets = [gevent.spawn(send, slot) for slot in slots]
        gevent.joinall(greenlets)
        return [g.value for g in greenlets if g.successful() and g.value is not None]
