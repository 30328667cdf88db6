"""What one load process saw, handed on in batches: HDR latency histograms, errors, in-flight, created ids.

Latency goes into one HDR histogram per endpoint and time window (``tixallo_qa.core.histogram``),
sent to the join point in encoded form, so the master's figures are exact merges of every
process's, whatever the number of processes or machines.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from tixallo_qa.core.histogram import Histogram
from tixallo_qa.load.errors import family

# A process keeps at most this many individual error occurrences (time, endpoint, kind) per run.
MAX_ERROR_EVENTS = 1000


class Collector:
    """Buffers since the last ``take()``; a batch is plain data (sent to the master as a message)."""

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self.proc = f"{socket.gethostname()}:{os.getpid()}"
        self.in_flight = 0
        self._sampled: set[str] = set()
        self._events_left = MAX_ERROR_EVENTS
        self._reset()

    def _reset(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.histograms: dict[str, dict[int, Histogram]] = {}
        self.counts = {"scheduled": 0, "late": 0, "dropped": 0}
        self.failures: dict[str, dict[str, int]] = {}
        self.rate_limited: dict[str, int] = {}
        self.errors: dict[str, dict[str, Any]] = {}
        self.error_events: list[list[Any]] = []
        self.inflight: dict[int, int] = {}
        self.first_at: float | None = None
        self.last_at: float | None = None

    def configure(self, window: float) -> None:
        self.window = window

    # -- what the scenarios report ---------------------------------------------------------

    def record_created(self, record: dict[str, Any]) -> None:
        record["proc"] = self.proc
        self.created.append(record)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def started(self) -> int:
        """A request is on the wire: returns how many this process has in flight, itself included."""
        self.in_flight += 1
        level = self.in_flight
        self.inflight[level] = self.inflight.get(level, 0) + 1
        return level

    def ended(self) -> None:
        self.in_flight -= 1

    def answered(self, endpoint: str, ms: float, at: float) -> None:
        """One answered request's latency (429s excluded) into its endpoint's window histogram."""
        windows = self.histograms.get(endpoint)
        if windows is None:
            windows = self.histograms[endpoint] = {}
        window = int(at // self.window)
        hist = windows.get(window)
        if hist is None:
            hist = windows[window] = Histogram()
            if self.first_at is None:
                self.first_at = at
        hist.record(ms)
        self.last_at = at

    def limited(self, endpoint: str) -> None:
        self.rate_limited[endpoint] = self.rate_limited.get(endpoint, 0) + 1

    def failed(
        self, endpoint: str, kind: str, at: float, sample: str | None = None, detail: str = ""
    ) -> None:
        """Count a failed request by kind, with its time; the first of a kind keeps its sample."""
        per = self.failures.setdefault(endpoint, {})
        per[kind] = per.get(kind, 0) + 1
        key = f"{endpoint}|{kind}"
        entry = self.errors.get(key)
        if entry is None:
            entry = self.errors[key] = {
                "endpoint": endpoint, "kind": kind, "family": family(kind), "count": 0,
                "first_at": at, "last_at": at,
            }  # fmt: skip
        entry["count"] += 1
        entry["last_at"] = at
        if sample is not None and key not in self._sampled:
            self._sampled.add(key)
            entry["sample"] = sample
            entry["detail"] = detail
        if self._events_left > 0:
            self._events_left -= 1
            self.error_events.append([round(at, 3), endpoint, kind])

    def wants_sample(self, endpoint: str, kind: str) -> bool:
        """Whether a failure of this kind still needs its sample (building a curl costs time)."""
        return f"{endpoint}|{kind}" not in self._sampled

    # -- the batch ---------------------------------------------------------------------------

    def take(self) -> dict[str, Any]:
        """Everything buffered, as a JSON/msgpack-safe batch (string keys), and reset."""
        batch = {
            "window": self.window,
            "created": self.created,
            "histograms": {
                name: {str(w): h.encode() for w, h in windows.items()}
                for name, windows in self.histograms.items()
            },
            "counts": dict(self.counts),
            "failures": self.failures,
            "rate_limited": self.rate_limited,
            "errors": self.errors,
            "error_events": self.error_events,
            "inflight": {str(k): v for k, v in self.inflight.items()},
            "span": [self.first_at, self.last_at],
        }
        self._reset()
        return batch

    def empty(self, batch: dict[str, Any]) -> bool:
        return not (
            batch["created"]
            or batch["histograms"]
            or batch["failures"]
            or batch["rate_limited"]
            or batch["inflight"]
            or any(batch["counts"].values())
        )
