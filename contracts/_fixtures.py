"""Fixtures of the contract suite: settings, the target, the paced client, the sink, schemathesis schemas.

Registered by ``tixallo_qa.contracts.plugin`` when the suite is collected (so no other pytest run
sees these names). Nothing here runs at import time; ``--collect-only`` needs no configuration.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tixallo_qa.contracts._breaker import Breaker
from tixallo_qa.contracts._catalogue import STARTS
from tixallo_qa.contracts._exchanges import Exchange
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._ledger import Created, Ledger
from tixallo_qa.contracts._oracle_hooks import oracles_for, shared_webhooks
from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._profiles import budget as budget_of
from tixallo_qa.contracts._state import SuiteState, state_of
from tixallo_qa.contracts._transport import MAIN, OTHER, ApiClient, Observer, PacedSession
from tixallo_qa.core import tls
from tixallo_qa.core.progress import ProgressWriter
from tixallo_qa.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

    from tixallo_qa.target import Target
    from tixallo_qa.webhook_sink.client import SinkClient


@pytest.fixture(scope="session")
def suite_state(pytestconfig: pytest.Config) -> SuiteState:
    return state_of(pytestconfig)


@pytest.fixture(scope="session", autouse=True)
def early_starts(request: pytest.FixtureRequest) -> None:
    """Before the first check: the fixtures of the selected checks marked ``@starts_early``.

    Each starts something a check judges later (an event that must not arrive within a few
    seconds, a retry after one), so those seconds pass while the rest of the run works. A
    fixture that fails or skips here is not this check's business: pytest keeps its outcome,
    and the check that needs it meets it when it runs.
    """
    names = dict.fromkeys(
        name
        for item in request.session.items
        for name in getattr(getattr(item, "function", None), STARTS, ())
    )
    state = state_of(request.config)

    def mark() -> int:
        return state.oracles.mark() if state.oracles is not None else 0

    for name in names:
        before = mark()
        with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
            request.getfixturevalue(name)
        state.early_spans[name] = (before, mark())
    # Set up during the first check's setup, but not that check's requests.
    state.after_early = mark()


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config, suite_state: SuiteState) -> Settings:
    """The settings as configured: defaults < env file < TIXALLO_* environment."""
    env_file = pytestconfig.getoption("--tixallo-env-file") or os.environ.get("TIXALLO_ENV_FILE")
    loaded = load_settings(env_file=env_file)
    suite_state.redactor.add(*loaded.secrets)
    suite_state.profile = loaded.profile
    return loaded


@pytest.fixture(scope="session")
def running_target(settings: Settings, suite_state: SuiteState) -> Iterator[Target]:
    """The target: the configured deployment, or the embedded reference one, and its sink."""
    from tixallo_qa.target import Target, TargetError

    try:
        running = Target.start(settings)
    except TargetError as exc:
        suite_state.infrastructure = suite_state.redactor.text(str(exc).splitlines()[0])
        suite_state.stop_code = exc.code
        pytest.exit(f"the target could not be started: {exc}", returncode=exc.code)
    suite_state.target = running.description
    suite_state.redactor.add(*running.settings.secrets)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def target(running_target: Target) -> Settings:
    """Settings that describe the running target."""
    return running_target.settings


@pytest.fixture(scope="session")
def budget(settings: Settings) -> Budget:
    return budget_of(settings.profile)


@pytest.fixture(scope="session")
def expect(suite_state: SuiteState) -> Expect:
    return Expect(suite_state.redactor)


@pytest.fixture(scope="session")
def ledger(target: Settings, suite_state: SuiteState) -> Ledger:
    assert target.base_url is not None
    suite_state.ledger = Ledger(target.base_url)
    return suite_state.ledger


@pytest.fixture(scope="session")
def sink_client(running_target: Target) -> SinkClient | None:
    """A client of the sink when one answers (None otherwise: the webhook checks then skip)."""
    return running_target.sink


@pytest.fixture(scope="session")
def sink_baseline(running_target: Target) -> int:
    """The sink's last record before this run: later events are this run's."""
    return running_target.baseline


def _breaker(
    target: Settings,
    suite_state: SuiteState,
    session: pytest.Session,
    sink_client: SinkClient | None,
) -> Breaker:
    """Stops the suite (exit 3, one line) once the target, or its sink, no longer answers."""
    from tixallo_qa.target import TargetError, probe_deployment

    def probe() -> str | None:
        try:
            probe_deployment(target)
        except TargetError as exc:
            return str(exc)
        if sink_client is not None:
            try:
                sink_client.health()
            except Exception:  # any failure to answer: the webhook checks cannot be judged
                return (
                    f"the webhook sink at {sink_client.base_url} stopped answering: restart it "
                    "('tixallo-qa sink'), or check TIXALLO_SINK_HOST and TIXALLO_SINK_PORT"
                )
        return None

    def trip(problem: str) -> None:
        suite_state.infrastructure = suite_state.redactor.text(problem)
        session.shouldstop = f"the target went away: {suite_state.infrastructure}"

    suite_state.breaker = Breaker(probe, on_trip=trip)
    return suite_state.breaker


def _progress(pytestconfig: pytest.Config, suite_state: SuiteState) -> Observer | None:
    """Keeps ``--tixallo-progress`` updated with the requests sent per identity."""
    path = pytestconfig.getoption("--tixallo-progress")
    if not path:
        return None
    writer = ProgressWriter(path)

    def observe(exchange: Exchange, response: object) -> None:
        if writer.due():
            writer.update(suite_state.log.by_identity())

    return observe


@pytest.fixture(scope="session")
def paced(
    target: Settings,
    ledger: Ledger,
    sink_client: SinkClient | None,
    sink_baseline: int,
    suite_state: SuiteState,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
) -> Iterator[PacedSession]:
    """The paced session every request goes through, schemathesis' included."""
    from tixallo_qa.core.ratelimit import KeyPool

    if not target.api_keys:
        pytest.skip("not configured: set TIXALLO_API_KEY to enable this check")
    pools = {MAIN: KeyPool(target.api_keys, target.rate_limit)}
    if target.other_api_key:
        pools[OTHER] = KeyPool([target.other_api_key], target.rate_limit)
    labels = {
        key: label
        for key, label in (
            (target.rate_limit_api_key, "rate-limit"),
            (target.revoked_api_key, "revoked"),
        )
        if key
    }
    session = PacedSession(
        pools,
        suite_state.log,
        timeout=target.request_timeout,
        labels=labels,
        verify=tls.requests_verify(target.ca_bundle),
        breaker=_breaker(target, suite_state, request.session, sink_client),
    )
    session.observers.append(ledger.observe)
    suite_state.oracles = oracles_for(target, shared=shared_webhooks(pytestconfig, target))
    session.observers.append(suite_state.oracles.observe)
    progress = _progress(request.config, suite_state)
    if progress is not None:
        session.observers.append(progress)
    marks = _Marks(sink_client) if sink_client is not None else None
    if marks is not None:
        ledger.listeners.append(marks.add)
    try:
        yield session
    finally:
        if marks is not None:
            marks.flush()
        session.close()


class _Marks:
    """Tells the sink when each create happened, a batch at most once a second (not one request each).

    A mark carries its action's time, so a late one still gives the event's lag; a sink that
    cannot take marks only loses that figure, so its failure never fails the check that created.
    """

    EVERY = 1.0

    def __init__(self, client: SinkClient) -> None:
        self.client = client
        self.pending: list[dict[str, object]] = []
        self.since = time.monotonic()
        self.lock = threading.Lock()

    def add(self, created: Created) -> None:
        with self.lock:
            self.pending.append(
                {
                    "event_type": created.event_type,
                    "action_at": created.action_time,
                    "ticket_id": created.ticket_id,
                    "message_id": created.message_id,
                }
            )
            due = time.monotonic() - self.since >= self.EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            batch, self.pending, self.since = self.pending, [], time.monotonic()
        if batch:
            with contextlib.suppress(Exception):
                self.client.mark_many(batch)


@pytest.fixture(scope="session")
def api(target: Settings, paced: PacedSession) -> ApiClient:
    assert target.base_url is not None
    return ApiClient(target.base_url, paced)


@pytest.fixture(scope="session")
def sink(target: Settings, sink_client: SinkClient | None) -> SinkClient:
    """The sink, for checks that need webhooks; skips naming what is missing."""
    if not target.embedded and not target.webhook_verifiable:
        pytest.skip(
            "not configured: set TIXALLO_WEBHOOK_SECRET (the secret of the endpoint pointing at the sink) to enable this check"
        )
    if sink_client is None:
        pytest.skip(
            f"no webhook sink answers at {target.sink_url}: set TIXALLO_SINK_HOST/TIXALLO_SINK_PORT to where it listens"
        )
    return sink_client


def _schema(
    target: Settings, budget: Budget, paced: PacedSession, mode: str, state: SuiteState
) -> BaseSchema:
    from tixallo_qa.contracts import _schema

    return _schema.load(target, budget, paced, mode=mode, seed=state.seed)


@pytest.fixture(scope="session")
def positive_schema(
    target: Settings, budget: Budget, paced: PacedSession, suite_state: SuiteState
) -> BaseSchema:
    return _schema(target, budget, paced, "positive", suite_state)


@pytest.fixture(scope="session")
def negative_schema(
    target: Settings, budget: Budget, paced: PacedSession, suite_state: SuiteState
) -> BaseSchema:
    return _schema(target, budget, paced, "negative", suite_state)
