"""Progress across processes: a child writes its request counts to a small JSON file, the parent reads it.

The contract suite runs in a child pytest; the run's progress bar lives in the parent. Writes are
atomic (a parent never reads half a file) and at most a few per second.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

MIN_INTERVAL = 0.25


class ProgressWriter:
    """Writes ``{"by_identity": {...}, "sent": n}`` to ``path``, at most every ``interval`` seconds."""

    def __init__(self, path: str | os.PathLike[str], interval: float = MIN_INTERVAL) -> None:
        self.path = Path(path)
        self.interval = interval
        self._last = 0.0

    def due(self) -> bool:
        """Is a write due (so a caller computes its counts only then)?"""
        return time.monotonic() - self._last >= self.interval

    def update(self, counts: Mapping[str, int], *, force: bool = False) -> None:
        if not force and not self.due():
            return
        self._last = time.monotonic()
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = {"by_identity": dict(counts), "sent": sum(counts.values())}
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)


def read_counts(path: str | os.PathLike[str] | None) -> dict[str, int]:
    """The latest counts by identity (empty when nothing was written yet)."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    counts = data.get("by_identity") if isinstance(data, dict) else None
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}
