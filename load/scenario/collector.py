"""What one load process saw, handed on in batches: created ids, a latency timeline, open-model counts."""

from __future__ import annotations

import time
from typing import Any

from tixallo_qa.load.percentiles import bucket_ms

# Request types that are API traffic (429s have their own type, webhook lag is master-side).
API_TYPES = ("GET", "POST")


class Collector:
    """Buffers since the last ``take()``; a batch is plain data (sent to the master as a message)."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.timeline: dict[str, dict[int, dict[int, int]]] = {}
        self.counts = {"scheduled": 0, "late": 0, "dropped": 0}

    def record_created(self, record: dict[str, Any]) -> None:
        self.created.append(record)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def on_request(
        self, request_type: str, name: str, response_time: float | None, **_: Any
    ) -> None:
        """locust ``request`` listener: one latency per API request into its second's histogram."""
        if request_type not in API_TYPES or response_time is None:
            return
        second = int(time.time())
        per_second = self.timeline.setdefault(f"{request_type} {name}", {}).setdefault(second, {})
        bucket = bucket_ms(response_time)
        per_second[bucket] = per_second.get(bucket, 0) + 1

    def take(self) -> dict[str, Any]:
        """Everything buffered, as a JSON/msgpack-safe batch (string keys), and reset."""
        batch = {
            "created": self.created,
            "timeline": {
                name: {str(s): {str(b): c for b, c in h.items()} for s, h in seconds.items()}
                for name, seconds in self.timeline.items()
            },
            "counts": dict(self.counts),
        }
        self.created, self.timeline = [], {}
        self.counts = dict.fromkeys(self.counts, 0)
        return batch
