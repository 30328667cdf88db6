"""A finished run's figures, from the HDR histograms and counts the locust processes reported.

Every latency figure of the summary, the SLO table, the trend and the charts is computed here,
from the same merged histograms (``tixallo_qa.core.histogram``); locust's own statistics (its
HTML and CSV) are an extra and are never read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core.histogram import Histogram, rank
from tixallo_qa.load import files
from tixallo_qa.load.errors import BODY, SERVER, TRANSPORT, family
from tixallo_qa.load.slo import EndpointFigures


@dataclass
class RunFigures:
    """Per-endpoint exact latency, failures by kind, 429s, requests in flight, the time windows."""

    window: float = 1.0
    # endpoint -> window index (epoch seconds // window) -> histogram
    windows: dict[str, dict[int, Histogram]] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    inflight: dict[int, int] = field(default_factory=dict)
    span: tuple[float, float] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_events: list[list[Any]] = field(default_factory=list)
    endpoints: dict[str, EndpointFigures] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.endpoints:
            self.endpoints = {
                name: endpoint_figures(name, self.histogram(name), self.failures.get(name, {}))
                for name in sorted(self.windows)
            }

    def histogram(self, endpoint: str | None = None) -> Histogram:
        """The whole run's histogram of one endpoint, or of all of them (None)."""
        names = [endpoint] if endpoint is not None else list(self.windows)
        return Histogram.merged(h for n in names for h in self.windows.get(n, {}).values())

    @property
    def requests(self) -> int:
        """API requests answered (or failed in transport), 429s excluded."""
        return sum(e.requests for e in self.endpoints.values())

    @property
    def failed(self) -> int:
        return sum(e.failures for e in self.endpoints.values())

    def by_family(self, wanted: str) -> dict[str, int]:
        """kind -> count of every failure of one family (SERVER, TRANSPORT, ...)."""
        out: dict[str, int] = {}
        for kinds in self.failures.values():
            for kind, n in kinds.items():
                if family(kind) == wanted:
                    out[kind] = out.get(kind, 0) + n
        return dict(sorted(out.items()))

    @property
    def server_errors(self) -> dict[str, int]:
        return self.by_family(SERVER)

    @property
    def transport_failures(self) -> dict[str, int]:
        return self.by_family(TRANSPORT)

    @property
    def bad_bodies(self) -> int:
        return sum(self.by_family(BODY).values())

    @property
    def duration(self) -> float:
        return self.span[1] - self.span[0] if self.span else 0.0

    @property
    def rps(self) -> float:
        limited = sum(self.rate_limited.values())
        return (self.requests + limited) / self.duration if self.duration > 0 else 0.0

    def in_flight(self) -> dict[str, float | None]:
        """Requests in flight in their load process when each request was sent (itself included)."""
        total = sum(self.inflight.values())
        if not total:
            return {"p50": None, "p95": None, "max": None, "overlapping": None}
        levels = sorted(self.inflight)
        out: dict[str, float | None] = {
            name: _level_at(levels, self.inflight, q, total)
            for name, q in (("p50", 50.0), ("p95", 95.0))
        }
        out["max"] = float(levels[-1])
        # Share of requests sent while at least one other was in flight.
        out["overlapping"] = round(1 - self.inflight.get(1, 0) / total, 4)
        return out


def _level_at(levels: list[int], counts: Mapping[int, int], q: float, total: int) -> float:
    """Nearest-rank percentile of a {level: count} table (the same definition as everywhere)."""
    wanted = rank(q, total)
    seen = 0
    for level in levels:
        seen += counts[level]
        if seen >= wanted:
            return float(level)
    return float(levels[-1])


def endpoint_figures(name: str, hist: Histogram, failures: Mapping[str, int]) -> EndpointFigures:
    qs = hist.percentiles((50.0, 95.0, 99.0, 100.0))
    return EndpointFigures(
        name=name,
        requests=hist.count,
        failures=sum(failures.values()),
        p50=qs[50.0],
        p95=qs[95.0],
        p99=qs[99.0],
        max=qs[100.0],
    )


def read(run_dir: Path) -> RunFigures | None:
    """The figures of a finished run, or None when the locust processes wrote none."""
    data = files.read_json(run_dir / files.HISTOGRAMS)
    if not isinstance(data, dict):
        return None
    windows = {
        name: {int(w): Histogram.decode(encoded) for w, encoded in per.items()}
        for name, per in (data.get("endpoints") or {}).items()
    }
    requests = files.read_json(run_dir / files.REQUESTS, {}) or {}
    errors = files.read_json(run_dir / files.ERRORS, {}) or {}
    span = requests.get("span") or []
    return RunFigures(
        window=float(data.get("window") or 1.0),
        windows=windows,
        failures={k: dict(v) for k, v in (requests.get("failures") or {}).items()},
        rate_limited=dict(requests.get("rate_limited") or {}),
        inflight={int(k): int(v) for k, v in (requests.get("inflight") or {}).items()},
        span=(float(span[0]), float(span[1])) if len(span) == 2 else None,
        errors=list(errors.get("kinds") or []),
        error_events=list(errors.get("events") or []),
    )
