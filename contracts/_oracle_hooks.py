"""Wires the always-on oracles into a run: built from the settings, and failing the check they caught."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tixallo_qa.contracts._catalogue import FINAL, STARTS
from tixallo_qa.contracts._oracles import Oracles, render_all
from tixallo_qa.contracts._state import state_of
from tixallo_qa.core.settings import Settings

_MARK = pytest.StashKey[int]()


def shared_webhooks(config: pytest.Config, target: Settings) -> bool:
    """The sink's endpoint also receives events the suite did not cause."""
    return target.webhook_shared or bool(config.getoption("--tixallo-shared-webhook-endpoint"))


def oracles_for(target: Settings, *, shared: bool) -> Oracles:
    """The oracles of a run against ``target``: what must never be answered, the merged ticket."""
    assert target.base_url is not None
    needles = [("the internal-note marker", target.internal_note_marker)]
    needles += [("an API key of the workspace under test", key) for key in target.api_keys]
    needles += [
        ("the other workspace's API key", target.other_api_key),
        ("the spare rate-limit key", target.rate_limit_api_key),
        ("the revoked API key", target.revoked_api_key),
        ("the webhook secret", target.webhook_secret),
    ]
    return Oracles(
        target.base_url,
        needles=needles,
        merged_ticket_id=target.merged_ticket_id,
        tolerance=target.webhook_tolerance,
        shared_webhooks=shared,
    )


class OraclePlugin:
    """Fails a check with the oracle violations its own requests (fixtures included) showed."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        oracles = state_of(self.config).oracles
        item.stash[_MARK] = oracles.mark() if oracles is not None else 0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        result = yield
        state = state_of(self.config)
        # The sweeps and the oracles' own reports judge the whole run, not their own requests.
        if state.oracles is None or int(getattr(getattr(item, "function", None), FINAL, 0)) >= 1:
            return result
        function = getattr(item, "function", None)
        caught = state.oracles.since(max(item.stash.get(_MARK, 0), state.after_early))
        for name in getattr(function, STARTS, ()):
            # Its first part ran before every check (``starts_early``): those requests are its own.
            span = state.early_spans.get(name)
            if span is not None:
                caught = state.oracles.since(*span) + caught
        if caught:
            raise AssertionError(
                "the always-on oracles caught what this check's requests showed: "
                + render_all(caught, state.redactor)
            )
        return result
