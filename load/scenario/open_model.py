"""The open model: requests start on a timetable, whatever the answers do, so stalls cannot hide.

A fixed crew of ``max_in_flight`` worker greenlets follows the timetable: each takes the next
arrival, sleeps until it is due, sends it (latency measured from the due time), and takes the
next. No greenlet is spawned per request, which is what made this model cost twice the closed
one per request. An arrival that falls due while every worker is busy sending is one a pool of
``max_in_flight`` could not have started: it is counted as dropped and never sent, as before.
"""

from __future__ import annotations

import time

import gevent
from locust import constant, task
from locust.exception import StopUser

from tixallo_qa.load.scenario import actions
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.scenario.users import WireUser
from tixallo_qa.load.schedule import ArrivalSchedule, picker

# Arrivals due sooner than this are sent at once: the hub's timers (epoll) resolve a
# millisecond, so a shorter sleep only costs a loop turn without making the start more exact.
EARLY = 0.001


class OpenModelUser(WireUser):
    """One per load process: it follows its stream of the timetable and never waits for answers."""

    wait_time = constant(0)
    # Set from the plan before users start: the client pool must hold every in-flight request.
    concurrency = 200

    def on_start(self) -> None:
        self.crew: list[gevent.Greenlet] = []

    @task
    def follow_timetable(self) -> None:
        plan, pacer = STATE.require()
        o = plan.options
        rate = float(o.rate or 0.0)
        schedule = ArrivalSchedule(rate, o.ramp_to if o.ramp_to is not None else rate, o.duration)
        choose = picker(o.action_mix())
        # One iterator shared by the crew: greenlets never switch inside next(), so each
        # arrival goes to exactly one worker, in timetable order.
        arrivals = schedule.times(STATE.index % plan.streams, plan.streams)
        collector, client, run_id = STATE.collector, self.client, plan.run_id
        perform, clock, sleep = actions.perform, time.perf_counter, gevent.sleep
        sleeping = [0]  # workers waiting for an arrival they hold
        start = clock()

        def work() -> None:
            just_sent = False  # true after a request: this worker was busy until now
            for due in arrivals:
                intended = start + due
                collector.count("scheduled")
                now = clock()
                wait = intended - now
                if wait >= EARLY:
                    sleeping[0] += 1
                    try:
                        sleep(wait)
                    finally:
                        sleeping[0] -= 1
                elif wait < 0 and just_sent and not sleeping[0]:
                    # Due while every worker was sending: a full pool would not have started it.
                    collector.count("dropped")
                    continue
                elif wait > 0:
                    intended = now  # sent a moment early: measured from the send
                just_sent = True
                perform(choose(), client, pacer, run_id, intended=intended)

        self.crew = [gevent.spawn(work) for _ in range(o.max_in_flight)]
        # The timetable ends at the duration: in-flight requests then get the grace to finish.
        left = start + o.duration - clock()
        gevent.joinall(self.crew, timeout=max(0.0, left) + plan.stop_grace)
        gevent.killall(self.crew, block=False)
        raise StopUser()  # returning would start the timetable again

    def on_stop(self) -> None:
        gevent.killall(self.crew, block=True, timeout=STATE.require()[0].stop_grace)
        super().on_stop()
