"""Fixtures of the contract suite: settings, the target, the paced client, the sink, schemathesis schemas.

Nothing here runs at import time; ``pytest --collect-only contracts`` needs no configuration.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from contracts._catalogue import FINAL, MARKER_HELP, check_of
from contracts._expect import Expect
from contracts._ledger import Created, Ledger
from contracts._oracle_hooks import OraclePlugin, oracles_for, shared_webhooks
from contracts._plugin import ResultsPlugin
from contracts._profiles import Budget
from contracts._profiles import budget as budget_of
from contracts._state import SuiteState, state_of
from contracts._transport import MAIN, OTHER, ApiClient, PacedSession
from tixallo_qa.settings import Settings, load_settings

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

    from webhook_sink.client import SinkClient


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tixallo", "tixallo-qa contract suite")
    group.addoption(
        "--tixallo-env-file",
        metavar="PATH",
        help="read TIXALLO_* settings from this file (or set TIXALLO_ENV_FILE)",
    )
    group.addoption(
        "--tixallo-results", metavar="PATH", help="write per-check results as JSON here"
    )
    group.addoption(
        "--tixallo-select",
        metavar="NAMES",
        help="run only these checks or families (comma-separated)",
    )
    group.addoption(
        "--tixallo-shared-webhook-endpoint",
        action="store_true",
        help="the sink's endpoint also gets events the suite did not cause (skips the no-unexpected-events check)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    if not config.pluginmanager.has_plugin("tixallo-results"):
        config.pluginmanager.register(
            ResultsPlugin(config, config.getoption("--tixallo-results")), "tixallo-results"
        )
    if not config.pluginmanager.has_plugin("tixallo-oracles"):
        config.pluginmanager.register(OraclePlugin(config), "tixallo-oracles")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = {
        n.strip() for n in (config.getoption("--tixallo-select") or "").split(",") if n.strip()
    }
    if selected:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            name, family, _ = check_of(item)
            (keep if {name, name.split("[")[0], family} & selected else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Stable sort: checks that start a long wait first, sweeps (webhooks for every create, the
    # marker scan) after everything else, and the oracles' reports after the sweeps.
    items.sort(key=lambda item: int(getattr(getattr(item, "function", None), FINAL, 0)))
    for item in items:
        # schemathesis 4.32's lazy schemas read and rewrite `node._nodeid`, which pytest 9.2
        # replaced with `_id`; a plain attribute keeps them working (the real node id is untouched).
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def suite_state(pytestconfig: pytest.Config) -> SuiteState:
    return state_of(pytestconfig)


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config, suite_state: SuiteState) -> Settings:
    """The settings as configured: defaults < env file < TIXALLO_* environment."""
    env_file = pytestconfig.getoption("--tixallo-env-file") or os.environ.get("TIXALLO_ENV_FILE")
    loaded = load_settings(env_file=env_file)
    suite_state.redactor.add(*loaded.secrets)
    suite_state.profile = loaded.profile
    return loaded


@pytest.fixture(scope="session")
def target(settings: Settings, suite_state: SuiteState) -> Iterator[Settings]:
    """Settings of the running target: the configured deployment, or the embedded reference one."""
    from contracts._target import start_target

    running = start_target(settings)
    suite_state.target = running.description
    suite_state.redactor.add(*running.settings.secrets)
    try:
        yield running.settings
    finally:
        running.stop()


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
def sink_client(target: Settings) -> Iterator[SinkClient | None]:
    """A client of the sink when one answers (None otherwise: the webhook checks then skip)."""
    from tixallo_qa.embedded import sink_is_up
    from webhook_sink.client import SinkClient

    if not sink_is_up(target.sink_url):
        yield None
        return
    client = SinkClient(target.sink_url, timeout=max(10.0, target.webhook_timeout))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def sink_baseline(sink_client: SinkClient | None) -> int:
    """The sink's last record before this run: later events are this run's."""
    if sink_client is None:
        return 0
    return int(sink_client.health().get("last_seq") or 0)


@pytest.fixture(scope="session")
def paced(
    target: Settings,
    ledger: Ledger,
    sink_client: SinkClient | None,
    sink_baseline: int,
    suite_state: SuiteState,
    pytestconfig: pytest.Config,
) -> Iterator[PacedSession]:
    """The paced session every request goes through, schemathesis' included."""
    from tixallo_qa.ratelimit import KeyPool

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
    session = PacedSession(pools, suite_state.log, timeout=target.request_timeout, labels=labels)
    session.observers.append(ledger.observe)
    suite_state.oracles = oracles_for(target, shared=shared_webhooks(pytestconfig, target))
    session.observers.append(suite_state.oracles.observe)
    if sink_client is not None:
        client = sink_client

        def mark(created: Created) -> None:
            # Lag is measured from when the request went out; a sink that cannot take marks
            # only loses the lag figure, so its failure must not fail the check that created.
            with contextlib.suppress(Exception):
                client.mark(
                    created.event_type,
                    action_at=created.action_time,
                    ticket_id=created.ticket_id,
                    message_id=created.message_id,
                )

        ledger.listeners.append(mark)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def api(target: Settings, paced: PacedSession) -> ApiClient:
    assert target.base_url is not None
    return ApiClient(target.base_url, paced)


@pytest.fixture(scope="session")
def sink(target: Settings, sink_client: SinkClient | None) -> SinkClient:
    """The sink, for checks that need webhooks; skips naming what is missing."""
    if not target.embedded and not target.webhook_secret and target.webhook_scheme != "none":
        pytest.skip(
            "not configured: set TIXALLO_WEBHOOK_SECRET (the secret of the endpoint pointing at the sink) to enable this check"
        )
    if sink_client is None:
        pytest.skip(
            f"no webhook sink answers at {target.sink_url}: set TIXALLO_SINK_HOST/TIXALLO_SINK_PORT to where it listens"
        )
    return sink_client


def _schema(target: Settings, budget: Budget, paced: PacedSession, mode: str) -> BaseSchema:
    from contracts import _schema

    return _schema.load(target, budget, paced, mode=mode)


@pytest.fixture(scope="session")
def positive_schema(target: Settings, budget: Budget, paced: PacedSession) -> BaseSchema:
    return _schema(target, budget, paced, "positive")


@pytest.fixture(scope="session")
def negative_schema(target: Settings, budget: Budget, paced: PacedSession) -> BaseSchema:
    return _schema(target, budget, paced, "negative")
