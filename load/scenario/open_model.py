"""The open model: requests start on a timetable, whatever the answers do, so stalls cannot hide."""

from __future__ import annotations

import random
import time

import gevent
from gevent.pool import Pool
from locust import FastHttpUser, constant, task
from locust.exception import StopUser

from tixallo_qa.load.scenario import actions
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.schedule import ArrivalSchedule


class OpenModelUser(FastHttpUser):
    """One per load process: it follows its stream of the timetable and never waits for answers."""

    wait_time = constant(0)
    # Set from the plan before users start: the client pool must hold every in-flight request.
    concurrency = 200

    def on_start(self) -> None:
        self.pool: Pool | None = None

    @task
    def follow_timetable(self) -> None:
        plan, _ = STATE.require()
        o = plan.options
        rate = float(o.rate or 0.0)
        schedule = ArrivalSchedule(rate, o.ramp_to if o.ramp_to is not None else rate, o.duration)
        mix = o.action_mix()
        names, weights = list(mix), list(mix.values())
        self.pool = pool = Pool(o.max_in_flight)
        start = time.perf_counter()
        for due in schedule.times(STATE.index % plan.streams, plan.streams):
            intended = start + due
            wait = intended - time.perf_counter()
            if wait > 0:
                gevent.sleep(wait)
            STATE.collector.count("scheduled")
            if pool.full():
                STATE.collector.count("dropped")  # over the in-flight cap: never sent
                continue
            pool.spawn(self._one, random.choices(names, weights=weights)[0], intended)
        # The timetable is done: let in-flight requests finish, then stop (returning would start it again).
        pool.join(timeout=plan.stop_grace)
        raise StopUser()

    def _one(self, action: str, intended: float) -> None:
        plan, pacer = STATE.require()
        actions.perform(action, self.client, pacer, plan.run_id, intended=intended)

    def on_stop(self) -> None:
        if self.pool is not None:
            plan, _ = STATE.require()
            self.pool.join(timeout=plan.stop_grace)
            self.pool.kill()
