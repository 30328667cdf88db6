"""The locustfile ``tixallo-qa load`` runs in a child process: scenarios, batching, the end-of-run join.

Every load process reports what it created to the join point (the master, or itself when alone)
in batches over locust's runner messages, so workers on other machines are accounted too. The
join point stops the run after its duration, joins with the sink once, and only then quits, so
the webhook lag rows reach locust's HTML and CSV.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from tixallo_qa.core import netutil
from tixallo_qa.core.settings import load_settings
from tixallo_qa.load.errors import BODY, SERVER, TRANSPORT
from tixallo_qa.load.options import ChildPlan
from tixallo_qa.load.scenario.aggregator import Aggregator
from tixallo_qa.load.scenario.burst import BurstUser
from tixallo_qa.load.scenario.open_model import OpenModelUser
from tixallo_qa.load.scenario.state import STATE
from tixallo_qa.load.scenario.users import AgentUser, IntegratorUser, WireUser

__all__ = ["AgentUser", "BurstUser", "IntegratorUser", "OpenModelUser"]

MESSAGE = "tixallo_batch"
FLUSH_EVERY = 1.0
# How often a run that stops on its first gating error looks for one.
EARLY_POLL = 0.25
# After stopping, locust's CSV writer runs once a second: give it one pass over the lag rows.
CSV_SETTLE = 1.2

_aggregator = Aggregator()
_greenlets: dict[str, gevent.Greenlet] = {}
_workers: set[str] = set()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--tixallo-plan", default="", include_in_web_ui=False, help="set by tixallo-qa load"
    )


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(MESSAGE, _on_batch)
    # Verify the deployment's certificate against TIXALLO_CA_BUNDLE.
    WireUser.ca_bundle = load_settings().ca_bundle
    raw = getattr(environment.parsed_options, "tixallo_plan", "")
    if raw:
        plan = ChildPlan.from_json(json.loads(raw))
        # Class weights matter where users are dispatched: the master, or the single process.
        weights = plan.options.user_weights
        IntegratorUser.weight = weights.get("integrator", 1.0)
        AgentUser.weight = weights.get("agent", 1.0)
        _configure_users(plan)


def _configure_users(plan: ChildPlan) -> None:
    """Class attributes read when a user is made (remote workers get the plan only at test start)."""
    # A request with no answer for this long is a timeout.
    WireUser.timeout = plan.request_timeout
    # One connection per request that may be in flight at once.
    BurstUser.concurrency = max(1, plan.options.burst_size)
    OpenModelUser.concurrency = plan.options.max_in_flight


def _on_batch(environment: Environment, msg: Any, **_: Any) -> None:
    _workers.add(msg.node_id)
    _aggregator.add(msg.data)


def _plan(environment: Environment) -> ChildPlan:
    raw = getattr(environment.parsed_options, "tixallo_plan", "")
    if not raw:
        raise RuntimeError("no --tixallo-plan: run this locustfile through 'tixallo-qa load'")
    return ChildPlan.from_json(json.loads(raw))


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    plan = _plan(environment)
    if not isinstance(runner, MasterRunner):
        STATE.configure(
            getattr(environment.parsed_options, "tixallo_plan", ""),
            getattr(runner, "worker_index", 0),
            environment.events.request.fire,
        )
        _configure_users(plan)
        if isinstance(runner, WorkerRunner) and "flush" not in _greenlets:
            _greenlets["flush"] = gevent.spawn(_flush_loop, runner)
    if not isinstance(runner, WorkerRunner) and "conduct" not in _greenlets:
        _greenlets["conduct"] = gevent.spawn(_conduct, environment, plan)


def _flush(runner: Any) -> None:
    batch = STATE.collector.take()
    if isinstance(runner, WorkerRunner):
        if not STATE.collector.empty(batch):
            runner.send_message(MESSAGE, batch)
    else:
        _aggregator.add(batch)


def _flush_loop(runner: WorkerRunner) -> None:
    while True:
        gevent.sleep(FLUSH_EVERY)
        _flush(runner)


@events.test_stop.add_listener
def _test_stop(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        return
    flusher = _greenlets.pop("flush", None)
    if flusher is not None:
        flusher.kill(block=True)
    # Sent before the worker reports "stopped", so the master has every id when it joins.
    _flush(environment.runner)


def _gating_error(families: set[str]) -> str | None:
    """The first failure of these families (``load.errors``) reported so far, or None."""
    for errors in (_aggregator.errors, STATE.collector.errors):
        for entry in list(errors.values()):
            if entry.get("family") in families:
                return f"{entry['endpoint']}: {entry['kind']}"
    return None


def _run_for(plan: ChildPlan) -> None:
    """The duration, or less with ``stop_on_error`` once a request broke a gate for good."""
    if not plan.options.stop_on_error:
        gevent.sleep(plan.options.duration)
        return
    # 5xx and bad 2xx bodies are gated at 0; transport failures only against a loopback target
    # (no network to blame).
    families = {SERVER, BODY}
    if netutil.is_loopback_url(load_settings().base_url or ""):
        families.add(TRANSPORT)
    deadline = time.monotonic() + plan.options.duration
    while (left := deadline - time.monotonic()) > 0:
        gevent.sleep(min(left, EARLY_POLL))
        found = _gating_error(families)
        if found is not None:
            logging.getLogger("tixallo.load").warning(
                "stopping at the first gating error: %s", found
            )
            return


def _conduct(environment: Environment, plan: ChildPlan) -> None:
    """Stop after the duration, join once, then quit (locust writes its reports after this)."""
    _run_for(plan)
    runner = environment.runner
    assert runner is not None
    runner.stop()
    _aggregator.finish(environment, plan)
    gevent.sleep(CSV_SETTLE)
    if isinstance(runner, MasterRunner) and plan.distributed:
        # A stopped worker is no client of the master until it reports ready again (after the
        # stop timeout), so a quit sent now would miss it and it would wait 60 s for a heartbeat.
        deadline = time.monotonic() + plan.stop_grace + 5
        while len(runner.clients.ready) < len(_workers) and time.monotonic() < deadline:
            gevent.sleep(0.2)
    runner.quit()
