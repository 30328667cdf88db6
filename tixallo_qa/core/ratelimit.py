"""Per-key pacing over a pool of keys, so a client never trips a per-key rate limit itself.

Pure bookkeeping: ``reserve()`` says which key to use and how long to wait; the caller sleeps
(``time.sleep`` under threads or gevent, ``asyncio.sleep`` under asyncio). A 429 that slips
through anyway is reported with ``penalize()`` and the key rests for ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Seconds added to the window: a request's send time precedes its arrival, so without a
# margin a paced client could land limit+1 requests inside the server's window.
DEFAULT_MARGIN = 0.5


@dataclass(frozen=True)
class Reservation:
    key: str
    delay: float  # seconds to wait before sending


class KeyPool:
    """Hands out keys so that no key sends more than ``limit`` requests per ``window`` seconds."""

    def __init__(
        self,
        keys: Sequence[str],
        limit: int,
        window: float = 60.0,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not keys:
            raise ValueError("a key pool needs at least one key")
        self._keys = list(dict.fromkeys(keys))
        self._limit = limit
        self._window = window + margin
        self._clock = clock
        self._sent: dict[str, deque[float]] = {k: deque() for k in self._keys}
        self._resting_until: dict[str, float] = dict.fromkeys(self._keys, 0.0)
        self._rest_ends = 0.0  # when the last resting key may be used again
        self._lock = threading.Lock()
        # What an unlimited pool hands out on every request: one object, not one per request.
        self._unpaced = Reservation(self._keys[0], 0.0)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def _slot(self, key: str, now: float) -> float:
        sent = self._sent[key]
        while sent and sent[0] <= now - self._window:
            sent.popleft()
        slot = max(now, self._resting_until[key])
        if self._limit > 0 and len(sent) >= self._limit:
            slot = max(slot, sent[-self._limit] + self._window)
        return slot

    def reserve(self, key: str | None = None) -> Reservation:
        """Reserve the earliest send slot, on ``key`` or on whichever key of the pool frees first.

        Among keys free at once, the one that sent least in the window goes: the pool spreads
        its requests evenly, so every key keeps headroom for another client sharing it (the
        next phase of a run, another process) instead of spending one key after another.
        """
        if self._limit <= 0 and key is None and self._rest_ends <= self._clock():
            # No limit and no key resting: nothing to count (the load generator's hot path).
            return self._unpaced
        with self._lock:
            now = self._clock()
            candidates = [key] if key is not None else self._keys
            best = min(candidates, key=lambda k: (self._slot(k, now), len(self._sent[k])))
            slot = self._slot(best, now)
            self._sent[best].append(slot)
            return Reservation(best, max(0.0, slot - now))

    def reserve_spread(self, n: int) -> list[Reservation]:
        """Reserve ``n`` slots for requests sent at once, spread over the keys that free first."""
        with self._lock:
            now = self._clock()
            out: list[Reservation] = []
            while len(out) < n:
                # One slot per key per round, so a burst uses as many keys as it can.
                ranked = sorted(self._keys, key=lambda k: self._slot(k, now))
                for key in ranked[: n - len(out)]:
                    slot = self._slot(key, now)
                    self._sent[key].append(slot)
                    out.append(Reservation(key, max(0.0, slot - now)))
            return out

    def penalize(self, key: str, retry_after: float) -> None:
        """The server answered 429 for ``key``: rest it for ``retry_after`` seconds."""
        with self._lock:
            self._resting_until[key] = max(self._resting_until[key], self._clock() + retry_after)
            self._rest_ends = max(self._rest_ends, self._resting_until[key])


def required_keys(rate_per_second: float, limit_per_minute: int, window: float = 60.0) -> int:
    """How many keys a sustained request rate needs under a per-key limit (0 when unlimited)."""
    if limit_per_minute <= 0:
        return 0
    per_key = limit_per_minute / (window + DEFAULT_MARGIN)
    needed = rate_per_second / per_key
    return max(1, -int(-needed // 1))


def parse_retry_after(value: str | None, default: float = 60.0) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds; an HTTP date falls back to ``default``)."""
    if not value:
        return default
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return default
