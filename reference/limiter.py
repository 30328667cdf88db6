"""Per-key rate limit: a sliding-window log on the monotonic clock."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """At most ``limit`` accepted requests per key in any ``window`` seconds; 0 = no limit.

    Rejected (429) requests are not logged: a client that waits ``window`` seconds, as
    ``Retry-After`` tells it to, is always let through again.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}

    def _log(self, key: str, now: float) -> deque[float]:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = deque()
        cutoff = now - self.window
        while log and log[0] <= cutoff:
            log.popleft()
        return log

    def hit(self, key: str, *, also: str | None = None) -> bool:
        """Record a request of ``key`` and say whether it is allowed (``also``: a log that counts too)."""
        if self.limit <= 0:
            return True
        now = self._clock()
        log = self._log(key, now)
        used = len(log) + (len(self._log(also, now)) if also else 0)
        if used >= self.limit:
            return False
        log.append(now)
        return True

    def refund(self, key: str) -> None:
        """Forget the newest request of ``key`` (the status-not-counted fault)."""
        log = self._logs.get(key)
        if log:
            log.pop()

    def record(self, key: str) -> None:
        """Log a request of ``key`` without checking it."""
        if self.limit > 0:
            now = self._clock()
            self._log(key, now).append(now)
