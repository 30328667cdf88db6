"""Tells a target that went away from an endpoint that fails: stop the suite only for the first.

A few transport failures in a row (refused, reset, TLS, connect timeout) could be one endpoint's
own defect (a crash on some input), so they alone stop nothing: one fresh probe of the target
decides. If it cannot be reached either, the breaker trips, every later request fails at once
without touching the network, and the suite stops with that one line (exit 3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from tixallo_qa.core import reach

# Transport failures in a row before the target itself is probed.
THRESHOLD = 3


class TargetUnreachable(requests.ConnectionError):
    """The breaker tripped: the target cannot be reached; ``str()`` is the one line to print."""


class Breaker:
    """Counts transport failures in a row; ``probe()`` returns the problem line, or None if reachable."""

    def __init__(
        self,
        probe: Callable[[], str | None],
        *,
        threshold: int = THRESHOLD,
        on_trip: Callable[[str], None] | None = None,
    ) -> None:
        self._probe = probe
        self._threshold = threshold
        self._on_trip = on_trip
        self._failures = 0
        self._lock = threading.Lock()
        self.tripped: str | None = None

    def check(self) -> None:
        """Raise ``TargetUnreachable`` once tripped (before a request is sent)."""
        if self.tripped is not None:
            raise TargetUnreachable(self.tripped)

    def success(self) -> None:
        with self._lock:
            self._failures = 0

    def failure(self, exc: BaseException) -> None:
        """A request failed: count it if nothing answered; probe the target after ``threshold``."""
        if not reach.is_transport_failure(exc):
            return
        with self._lock:
            self._failures += 1
            due = self._failures >= self._threshold
        if due:
            self.confirm()

    def confirm(self) -> bool:
        """Probe the target now; trip when it cannot be reached. True when tripped."""
        with self._lock:
            if self.tripped is not None:
                return True
            problem = self._probe()
            if problem is None:
                self._failures = 0  # the target answers: these failures are the endpoint's own
                return False
            self.tripped = problem
        if self._on_trip is not None:
            self._on_trip(problem)
        return True
