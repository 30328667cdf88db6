"""The burst: N requests sent at the same instant, again and again, so races in the target show.

In turn N ``POST /tickets``, N ``POST /tickets/{id}/messages`` at one ticket (the same ticket
for a few bursts, so later bursts happen after earlier ones and the order of the whole
conversation can be checked), N ``GET /tickets/{id}`` of tickets earlier bursts created (each
answer must be that very ticket: a deployment that crosses answers between overlapping reads
shows it only here) and N ``GET /tickets`` (each a full page: one cut short when the server is
busy shows it only here), each request on its own key of the pool where the pool has enough. The
reads only ask for tickets created a burst or more before, so a deployment that is only
eventually consistent is not blamed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import gevent
from locust import task

from tixallo_qa.core.ratelimit import Reservation
from tixallo_qa.load.scenario import actions
from tixallo_qa.load.scenario.pacing import Reply
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.scenario.users import WireUser

# Message bursts at one ticket before moving to a newer one (keeps conversations short).
BURSTS_PER_TICKET = 5
CREATES, MESSAGES, READS, LISTS = range(4)  # the kinds of burst, in turn
# Tickets of earlier create bursts the read bursts choose from (the newest ones).
READABLE = 64


class BurstUser(WireUser):
    """One per run (closed model): bursts of simultaneous requests every ``burst_every`` seconds."""

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
        self.made: list[str] = []  # tickets created by earlier bursts, newest last
        self.sending: list[gevent.Greenlet] = []  # the burst in flight

    @task
    def burst(self) -> None:
        plan, pacer = STATE.require()
        n = plan.options.burst_size
        kind = self.round % 4
        if self.hot is None or kind == CREATES:
            replies = self._at_once(
                n,
                lambda slot: actions.create_ticket(
                    self.client, pacer, plan.run_id, slot=slot, burst=True
                ),
            )
            made = [r.data["id"] for r in replies if r.status == 201 and isinstance(r.data, dict)]
            if made and (self.hot is None or self.on_hot >= BURSTS_PER_TICKET):
                self.hot, self.on_hot = made[0], 0
            self.made = (self.made + made)[-READABLE:]
        elif kind == READS and self.made:
            chosen = random.sample(self.made, min(n, len(self.made)))
            chosen += random.choices(self.made, k=n - len(chosen))
            ids = iter(chosen)
            self._at_once(
                n,
                lambda slot: actions.get_ticket(
                    self.client, pacer, next(ids), slot=slot, burst=True
                ),
            )
        elif kind == LISTS:
            self._at_once(
                n, lambda slot: actions.list_tickets(self.client, pacer, slot=slot, burst=True)
            )
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
        greenlets = self.sending = [gevent.spawn(send, slot) for slot in slots]
        gevent.joinall(greenlets)
        return [g.value for g in greenlets if g.successful() and g.value is not None]

    def on_stop(self) -> None:
        # Stopped mid-burst, its requests end before the pool closes under them (a request cut
        # off at the stop counts for nothing; one sent on a closed pool would count as failed).
        gevent.killall(
            getattr(self, "sending", []), block=True, timeout=STATE.require()[0].stop_grace
        )
        super().on_stop()
