"""What one suite run accumulates across checks: exchanges, creates, webhook lags, the redactor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from tixallo_qa.contracts._breaker import Breaker
from tixallo_qa.contracts._exchanges import ExchangeLog
from tixallo_qa.contracts._ledger import Ledger
from tixallo_qa.core.redact import Redactor

if TYPE_CHECKING:
    from tixallo_qa.contracts._oracles import Oracles


@dataclass
class SuiteState:
    """Shared by the fixtures (which fill it) and the results plugin (which reports it)."""

    redactor: Redactor = field(default_factory=Redactor)
    log: ExchangeLog = field(default_factory=ExchangeLog)
    ledger: Ledger | None = None
    oracles: Oracles | None = None
    lags: list[float] = field(default_factory=list)
    target: str = ""
    profile: str = ""
    # Set when the target (or its sink) could not be reached: the one line, and the run exits 3.
    infrastructure: str = ""
    stop_code: int = 3  # its exit code (core.exitcodes): 3 unreachable, 2 a setting to fix
    # Probes the target when a check fails with no HTTP answer (contracts._breaker).
    breaker: Breaker | None = None
    # The generated checks' seed: the same seed sends the same examples (re-runs, replay).
    seed: int = 0
    # The oracles' bookmarks around each early-started fixture (contracts._fixtures.early_starts),
    # and after them all: what those requests showed is the check's that judges them.
    early_spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    after_early: int = 0


STATE_KEY = pytest.StashKey[SuiteState]()


def state_of(config: pytest.Config) -> SuiteState:
    """The run's state, created on first use."""
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        state = SuiteState()
        config.stash[STATE_KEY] = state
    return state
