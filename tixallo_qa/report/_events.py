"""The sink's recorded deliveries as JSON lines, secrets redacted."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tixallo_qa.core.redact import Redactor

# Fields that only matter inside the sink process.
DROP = frozenset({"received_monotonic"})


def _as_dict(event: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    if isinstance(event, Mapping):
        return dict(event)
    raise TypeError(f"not an event: {type(event).__name__}")


def write_events_jsonl(events: Iterable[Any], path: Path, redactor: Redactor) -> int:
    """Write one JSON object per delivery; header and body secrets are redacted. Returns the count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            data = {k: v for k, v in _as_dict(event).items() if k not in DROP}
            headers = data.get("headers")
            if isinstance(headers, Mapping):
                data["headers"] = redactor.headers({str(k): str(v) for k, v in headers.items()})
            # ASCII-only: generated payloads hold characters (U+2028, U+0085, ...) that many
            # line readers, Python's str.splitlines() among them, take for line breaks.
            out.write(redactor.text(json.dumps(data, ensure_ascii=True, default=str)) + "\n")
            count += 1
    return count
