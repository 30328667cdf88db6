"""Locust's users: ``WireUser`` under every model; the closed model's integrator and agent."""

from __future__ import annotations

import random
from typing import Any

from locust import User, task

from tixallo_qa.load.options import ACTIONS
from tixallo_qa.load.scenario import actions
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.scenario.wire import Wire


class WireUser(User):
    """A locust user whose ``client`` is a ``Wire`` to the run's host (the class settings below)."""

    abstract = True
    # Set from the plan before users start (locustfile._configure_users).
    concurrency = 10  # connections: one per request this user may have in flight
    timeout = 60.0  # seconds without an answer (or a connection) before a request fails
    # TIXALLO_CA_BUNDLE: what the deployment's certificate is checked against (None: the system's).
    ca_bundle: str | None = None

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if not self.host:
            raise ValueError("no host: run this locustfile through 'tixallo-qa load'")
        self.client = Wire(
            self.host, concurrency=self.concurrency, timeout=self.timeout, ca_bundle=self.ca_bundle
        )

    def on_stop(self) -> None:
        self.client.close()


class _TixalloUser(WireUser):
    abstract = True

    def wait_time(self) -> float:
        plan, _ = STATE.require()
        return random.uniform(plan.options.think_min, plan.options.think_max)

    def _pick(self, cls: str) -> str:
        plan, _ = STATE.require()
        names = ACTIONS[cls]
        weights = [plan.options.task_weights.get(a, 0.0) for a in names]
        return random.choices(names, weights=weights)[0]


class IntegratorUser(_TixalloUser):
    """Creates tickets and posts messages to the tickets it created itself."""

    def on_start(self) -> None:
        self.mine: list[str] = []

    @task
    def act(self) -> None:
        plan, pacer = STATE.require()
        if self._pick("integrator") == "message" and self.mine:
            actions.add_message(self.client, pacer, random.choice(self.mine))
            return
        reply = actions.create_ticket(self.client, pacer, plan.run_id)
        if reply.status == 201:
            self.mine.append(reply.data["id"])
            del self.mine[:-200]


class AgentUser(_TixalloUser):
    """Lists the newest tickets and fetches ones it saw in the list."""

    def on_start(self) -> None:
        self.seen: list[str] = []

    @task
    def act(self) -> None:
        _, pacer = STATE.require()
        if self._pick("agent") == "get" and self.seen:
            actions.get_ticket(self.client, pacer, random.choice(self.seen))
        else:
            actions.list_tickets(self.client, pacer, self.seen)
