"""Names of the files in a run folder, and how they are written and read (JSON, JSON lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Written by the locust child (master or single process) for the parent to read.
CREATED = "created.jsonl"
HISTOGRAMS = "histograms.json"  # HDR latency histograms per endpoint and time window (encoded)
REQUESTS = "requests.json"  # failures by kind, 429s, requests in flight, first/last answer
ERRORS = "errors.json"  # every failure kind with its times and a sample curl
COUNTS = "open-model.json"
ACCOUNTING = "webhooks.json"
LAGS = "webhook-lags.json"
LOCUST_PREFIX = "locust"  # locust's own CSV files: locust_stats.csv, locust_stats_history.csv, ...
LOCUST_JSON = "locust_stats"  # locust --json-file adds ".json"
LOCUST_HTML = "locust.html"
LOCUST_LOG = "locust.log"
# Written by the parent.
SUMMARY = "summary.json"
LATENCY_SVG = "latency.svg"
LAG_SVG = "webhook-lag.svg"
TREND_SVG = "trend.svg"
READBACK = "readback.json"


def write_json(path: Path, data: Any) -> None:
    path.write_text(
        json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
