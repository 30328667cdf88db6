"""Reads locust's final statistics (``--json-file``) into per-endpoint figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.load import files
from tixallo_qa.load.percentiles import histogram_percentile
from tixallo_qa.load.slo import EndpointFigures

API_METHODS = ("GET", "POST")
RATE_LIMITED = "429"
WEBHOOK = "WEBHOOK"


@dataclass
class LocustFigures:
    endpoints: dict[str, EndpointFigures] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    webhook_rows: dict[str, EndpointFigures] = field(default_factory=dict)
    duration: float = 0.0

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints.values())

    @property
    def failures(self) -> int:
        return sum(e.failures for e in self.endpoints.values())

    @property
    def rps(self) -> float:
        return (
            (self.requests + sum(self.rate_limited.values())) / self.duration
            if self.duration > 0
            else 0.0
        )


def figures(name: str, entry: Mapping[str, Any]) -> EndpointFigures:
    hist = {int(float(k)): int(v) for k, v in (entry.get("response_times") or {}).items()}
    return EndpointFigures(
        name=name,
        requests=int(entry.get("num_requests", 0)),
        failures=int(entry.get("num_failures", 0)),
        p50=histogram_percentile(hist, 50),
        p95=histogram_percentile(hist, 95),
        p99=histogram_percentile(hist, 99),
        max=float(entry.get("max_response_time") or 0.0),
    )


def parse(entries: list[Mapping[str, Any]]) -> LocustFigures:
    out = LocustFigures()
    starts, ends = [], []
    for entry in entries:
        method, name = str(entry.get("method")), str(entry.get("name"))
        if method in API_METHODS:
            out.endpoints[f"{method} {name}"] = figures(f"{method} {name}", entry)
        elif method == RATE_LIMITED:
            out.rate_limited[name] = int(entry.get("num_requests", 0))
        elif method == WEBHOOK:
            out.webhook_rows[name] = figures(name, entry)
            continue
        if entry.get("start_time"):
            starts.append(float(entry["start_time"]))
        if entry.get("last_request_timestamp"):
            ends.append(float(entry["last_request_timestamp"]))
    if starts and ends:
        out.duration = max(ends) - min(starts)
    return out


def read(run_dir: Path) -> LocustFigures | None:
    """The figures of a finished run, or None when locust wrote no statistics."""
    data = files.read_json(run_dir / f"{files.LOCUST_JSON}.json")
    return parse(data) if isinstance(data, list) else None
