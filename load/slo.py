"""SLO gates: thresholds (defaults, a TOML/JSON file, flags) and their verdicts on measured figures."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.load.options import BURST
from tixallo_qa.load.safety import LoadRefusedError
from tixallo_qa.load.trend import INCONCLUSIVE, RISING, Trend, TrendConfig

PASS, FAIL, NA = "pass", "FAIL", "n/a"
KNOWN_SLO = "known"  # breached as the baseline says it does (tixallo_qa.gate): failing nothing
_PERCENTILE_KEYS = ("p95_ms", "p99_ms")
_FLAGS = ("integrity", "trend")


@dataclass(frozen=True)
class SloConfig:
    """Thresholds; the defaults suit the reference deployment on a small machine."""

    p95_ms: float = 300.0
    p99_ms: float = 800.0
    # Per-endpoint overrides: {"GET /tickets": {"p95_ms": 200, "p99_ms": 400}}
    endpoints: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    max_error_ratio: float = 0.001
    # A 5xx is a defect: none is allowed.
    max_server_errors: int = 0
    # 2xx answers that are not as documented (not JSON data, a create naming no id, a read by
    # id answering another ticket): a defect wherever the target is, none is allowed.
    max_bad_bodies: int = 0
    # Resets, connections closed without an answer, timeouts. None: 0 against a loopback target
    # (no network in between to blame), else only counted in the error ratio.
    max_transport_failures: int | None = None
    webhook_lag_p95_ms: float = 1000.0
    webhook_lag_p99_ms: float = 2000.0
    # Deliveries that arrived, but later than TIXALLO_WEBHOOK_TIMEOUT after their create.
    max_webhook_late: int = 0
    max_webhook_lost: int = 0
    max_double_fires: int = 0
    # Deliveries whose payload differs from what the API answered for the same create.
    max_webhook_payload_mismatches: int = 0
    max_rate_limited_ratio: float = 0.01
    max_dropped_ratio: float = 0.01
    max_late_ratio: float = 0.05
    # Every created ticket and message read back: 0 lost, 0 mismatches, conversations in order.
    integrity: bool = True
    # Latency growth over the run, per endpoint (see load/trend.py): the last third's
    # trend_percentile may exceed the first third's by less than both margins.
    trend: bool = True
    trend_percentile: float = 75.0
    trend_max_growth_ms: float = 30.0
    trend_max_growth_ratio: float = 0.5
    trend_min_samples: int = 40

    def transport_limit(self, loopback: bool) -> int | None:
        """The transport failures allowed, or None when only the error ratio counts them."""
        if self.max_transport_failures is not None:
            return int(self.max_transport_failures)
        return 0 if loopback else None

    def replace(self, **changes: Any) -> SloConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def trend_config(self) -> TrendConfig:
        return TrendConfig(
            percentile=self.trend_percentile,
            max_growth_ms=self.trend_max_growth_ms,
            max_growth_ratio=self.trend_max_growth_ratio,
            min_samples=int(self.trend_min_samples),
        )

    def limits_for(self, endpoint: str) -> tuple[float, float]:
        own = self.endpoints.get(endpoint, {})
        return float(own.get("p95_ms", self.p95_ms)), float(own.get("p99_ms", self.p99_ms))

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["endpoints"] = {k: dict(v) for k, v in self.endpoints.items()}
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "SLO config") -> SloConfig:
        """From a mapping (a ``[slo]`` table, or the whole document); unknown keys are errors."""
        table = data.get("slo", data)
        if not isinstance(table, Mapping):
            raise LoadRefusedError(f"{origin}: 'slo' must be a table")
        names = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in names:
                raise LoadRefusedError(
                    f"{origin}: unknown SLO {key!r}; known: {', '.join(sorted(names))}"
                )
            if key == "endpoints":
                values[key] = _endpoints(value, origin)
            elif key in _FLAGS:
                if not isinstance(value, bool):
                    raise LoadRefusedError(f"{origin}: '{key}' must be true or false")
                values[key] = value
            else:
                values[key] = _number(key, value, origin)
        return cls(**values)


def _number(key: str, value: Any, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise LoadRefusedError(f"{origin}: {key} must be a number >= 0, not {value!r}")
    return float(value)


def _endpoints(value: Any, origin: str) -> dict[str, dict[str, float]]:
    if not isinstance(value, Mapping):
        raise LoadRefusedError(
            f"{origin}: 'endpoints' must map 'METHOD /path' to {{p95_ms, p99_ms}}"
        )
    out: dict[str, dict[str, float]] = {}
    for name, limits in value.items():
        if not isinstance(limits, Mapping) or set(limits) - set(_PERCENTILE_KEYS):
            raise LoadRefusedError(
                f"{origin}: endpoints.{name!r} may hold only {', '.join(_PERCENTILE_KEYS)}"
            )
        out[str(name)] = {k: _number(k, v, origin) for k, v in limits.items()}
    return out


def load_slo_file(path: str | Path) -> SloConfig:
    """Read thresholds from a TOML (``.toml``) or JSON file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise LoadRefusedError(f"SLO file {p}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode()) if p.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadRefusedError(
            f"SLO file {p}: not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {exc}"
        ) from None
    if not isinstance(data, Mapping):
        raise LoadRefusedError(f"SLO file {p}: expected a table of thresholds")
    return SloConfig.from_mapping(data, origin=f"SLO file {p}")


@dataclass(frozen=True)
class EndpointFigures:
    """Measured figures of one endpoint (latencies in ms)."""

    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class WebhookFigures:
    expected: int
    delivered: int
    lost: int
    double_fires: int
    lag_p95_ms: float | None
    lag_p99_ms: float | None = None
    lag_p50_ms: float | None = None
    lag_max_ms: float | None = None
    late: int = 0
    late_after_ms: float | None = None
    payload_mismatches: int = 0
    first_payload_problem: str = ""


@dataclass(frozen=True)
class IntegrityFigures:
    tickets: int
    duplicate_numbers: int
    readback_checked: int
    readback_mismatches: int
    first_problem: str = ""
    messages: int = 0
    messages_checked: int = 0
    lost: int = 0
    first_lost: str = ""
    order_violations: int = 0
    ordered_pairs: int = 0
    first_order: str = ""
    unread_reason: str = ""


@dataclass(frozen=True)
class ErrorFigures:
    """Failures named by kind: 5xx by status, transport failures by what happened."""

    server: Mapping[str, int] = field(default_factory=dict)
    transport: Mapping[str, int] = field(default_factory=dict)
    body: int = 0  # 2xx answers not as documented
    first_server: str = ""  # when, where and a curl of the first 5xx
    first_transport: str = ""
    first_body: str = ""
    first_any: str = ""  # the same for the most frequent failure of any kind


@dataclass(frozen=True)
class OpenModelFigures:
    scheduled: int
    late: int
    dropped: int


@dataclass(frozen=True)
class Measurements:
    """Everything the gates look at."""

    endpoints: Mapping[str, EndpointFigures]
    requests: int  # API requests answered, 429s excluded
    failures: int
    rate_limited: int
    webhooks: WebhookFigures | None = None
    integrity: IntegrityFigures | None = None
    open_model: OpenModelFigures | None = None
    measure_limiter: bool = False
    errors: ErrorFigures | None = None
    trends: tuple[Trend, ...] = ()
    in_flight: Mapping[str, float | None] | None = None
    loopback: bool = False  # the target is on this machine: a transport failure is its own


@dataclass(frozen=True)
class SloRow:
    """One gate: what it is, its threshold, what was measured, and the verdict."""

    slo: str
    threshold: str
    measured: str
    verdict: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @property
    def passed(self) -> bool | None:
        """True when it held, False when it broke, None when there was nothing to measure."""
        return None if self.verdict in (NA, KNOWN_SLO) else self.verdict == PASS

    @property
    def shown(self) -> str:
        """The measured figure with its detail, as a table cell."""
        return f"{self.measured} ({self.detail})" if self.detail else self.measured

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f} ms"


def exact_ms(value: float | None, limit: float) -> str:
    """A latency as shown beside a ``<= limit`` gate: never rounded to a passing-looking figure."""
    if value is None or math.isnan(value):
        return "-"
    shown = f"{value:.1f} ms"
    if value > limit and float(f"{value:.1f}") <= limit:
        shown = f"{value:.3f} ms"
    return shown


def _limit(value: float) -> str:
    return f"{value:g}"


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _gate(
    slo: str, limit: float, value: float | None, shown: str, threshold: str, detail: str = ""
) -> SloRow:
    if value is None or math.isnan(value):
        return SloRow(slo, threshold, "no data", NA, detail)
    return SloRow(slo, threshold, shown, PASS if value <= limit else FAIL, detail)


def _kinds(kinds: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))


def evaluate(config: SloConfig, m: Measurements) -> list[SloRow]:
    """Every gate's row, in a stable order: latency, errors, webhooks, integrity, trend, model."""
    rows: list[SloRow] = []
    for name in sorted(m.endpoints):
        e = m.endpoints[name]
        if name.endswith(BURST):
            rows.append(
                SloRow(
                    f"{name} latency",
                    "measured, not gated",
                    f"p50 {_ms(e.p50)}, p99 {_ms(e.p99)}, max {_ms(e.max)}",
                    NA,
                    "simultaneous requests queue in any server; the burst is there for races",
                )
            )
            continue
        p95_limit, p99_limit = config.limits_for(name)
        have = e.requests > 0
        for label, value, limit in (("p95", e.p95, p95_limit), ("p99", e.p99, p99_limit)):
            rows.append(
                _gate(
                    f"{name} {label}",
                    limit,
                    value if have else None,
                    exact_ms(value, limit),
                    f"<= {_limit(limit)} ms",
                )
            )
    rows.extend(_error_rows(config, m))
    rows.extend(_webhook_rows(config, m.webhooks))
    rows.extend(_integrity_rows(config, m.integrity))
    if config.trend:
        rows.extend(_trend_row(config, t) for t in m.trends if not t.endpoint.endswith(BURST))
    o = m.open_model
    if o is not None:
        dropped, late = _ratio(o.dropped, o.scheduled), _ratio(o.late, o.scheduled)
        rows.append(
            _gate(
                "open model: dropped",
                config.max_dropped_ratio,
                dropped if o.scheduled else None,
                f"{_pct(dropped)} ({o.dropped}/{o.scheduled})",
                f"<= {_pct(config.max_dropped_ratio)}",
            )
        )
        rows.append(
            _gate(
                "open model: late starts",
                config.max_late_ratio,
                late if o.scheduled else None,
                f"{_pct(late)} ({o.late}/{o.scheduled})",
                f"<= {_pct(config.max_late_ratio)}",
            )
        )
    if m.in_flight is not None and m.in_flight.get("max") is not None:
        f = m.in_flight
        overlap = f.get("overlapping")
        rows.append(
            SloRow(
                "requests in flight",
                "measured, not gated",
                f"p50 {f['p50']:g}, p95 {f['p95']:g}, max {f['max']:g}"
                + (f"; {overlap * 100:.0f}% overlapped" if overlap is not None else ""),
                NA,
                "per load process, when each request was sent (itself included)",
            )
        )
    return rows


def _error_rows(config: SloConfig, m: Measurements) -> list[SloRow]:
    rows = []
    total = m.requests
    error_ratio = _ratio(m.failures, total)
    errors = m.errors or ErrorFigures()
    rows.append(
        _gate(
            "error ratio", config.max_error_ratio, error_ratio if total else None,
            f"{_pct(error_ratio)} ({m.failures}/{total})", f"<= {_pct(config.max_error_ratio)}",
            errors.first_any,
        )
    )  # fmt: skip
    server = sum(errors.server.values())
    rows.append(
        _gate(
            "server errors (5xx)",
            config.max_server_errors,
            float(server) if total else None,
            f"{server}" + (f" ({_kinds(errors.server)})" if server else ""),
            f"<= {config.max_server_errors}",
            errors.first_server,
        )
    )
    rows.append(
        _gate(
            "bad 2xx bodies", config.max_bad_bodies, float(errors.body) if total else None,
            f"{errors.body}", f"<= {config.max_bad_bodies}", errors.first_body,
        )
    )  # fmt: skip
    transport = sum(errors.transport.values())
    shown = f"{transport}" + (f" ({_kinds(errors.transport)})" if transport else "")
    limit = config.transport_limit(m.loopback)
    if limit is None:
        rows.append(
            SloRow(
                "transport failures",
                "counted in the error ratio",
                shown,
                NA,
                errors.first_transport,
            )
        )
    else:
        rows.append(
            _gate(
                "transport failures", limit, float(transport) if total else None, shown,
                f"<= {limit}" + (" (loopback target)" if m.loopback else ""), errors.first_transport,
            )
        )  # fmt: skip
    limited_ratio = _ratio(m.rate_limited, total + m.rate_limited)
    shown = f"{_pct(limited_ratio)} ({m.rate_limited})"
    if m.measure_limiter:
        rows.append(
            SloRow(
                "rate-limited (429) ratio", "measured, not gated", shown, NA, "--measure-limiter"
            )
        )
    else:
        rows.append(
            _gate(
                "rate-limited (429) ratio",
                config.max_rate_limited_ratio,
                limited_ratio,
                shown,
                f"<= {_pct(config.max_rate_limited_ratio)}",
            )
        )
    return rows


def _webhook_rows(config: SloConfig, w: WebhookFigures | None) -> list[SloRow]:
    names = (
        "webhook lag p95", "webhook lag p99", "webhook late", "webhook loss", "webhook double fires",
        "webhook payloads",
    )  # fmt: skip
    if w is None:
        return [SloRow(slo, "-", "not measured", NA, "webhook accounting is off") for slo in names]
    tail = f"p50 {_ms(w.lag_p50_ms)}, max {_ms(w.lag_max_ms)}" if w.lag_max_ms is not None else ""
    late_after = f"{w.late_after_ms / 1000:g} s" if w.late_after_ms else "TIXALLO_WEBHOOK_TIMEOUT"
    return [
        _gate(
            "webhook lag p95", config.webhook_lag_p95_ms, w.lag_p95_ms,
            exact_ms(w.lag_p95_ms, config.webhook_lag_p95_ms),
            f"<= {_limit(config.webhook_lag_p95_ms)} ms", tail,
        ),
        _gate(
            "webhook lag p99", config.webhook_lag_p99_ms, w.lag_p99_ms,
            exact_ms(w.lag_p99_ms, config.webhook_lag_p99_ms),
            f"<= {_limit(config.webhook_lag_p99_ms)} ms", tail,
        ),
        _gate(
            "webhook late", config.max_webhook_late, w.late if w.delivered else None,
            f"{w.late} of {w.delivered} later than {late_after}",
            f"<= {config.max_webhook_late}",
        ),
        _gate(
            "webhook loss", config.max_webhook_lost, w.lost if w.expected else None,
            f"{w.lost} of {w.expected}", f"<= {config.max_webhook_lost}",
        ),
        _gate(
            "webhook double fires", config.max_double_fires,
            w.double_fires if w.expected else None, str(w.double_fires),
            f"<= {config.max_double_fires}",
        ),
        _gate(
            "webhook payloads", config.max_webhook_payload_mismatches,
            w.payload_mismatches if w.delivered else None,
            f"{w.payload_mismatches} of {w.delivered} differ from the API",
            f"<= {config.max_webhook_payload_mismatches}", w.first_payload_problem,
        ),
    ]  # fmt: skip


def _integrity_rows(config: SloConfig, i: IntegrityFigures | None) -> list[SloRow]:
    if i is None or not config.integrity:
        return [SloRow("integrity", "-", "not checked", NA)]
    coverage = (
        f"{i.readback_checked} of {i.tickets} tickets"
        + (f" ({i.readback_checked / i.tickets * 100:.0f}%)" if i.tickets else "")
        + f", {i.messages_checked} of {i.messages} messages"
    )
    read = bool(i.readback_checked)
    unread = f"not read: {i.unread_reason}" if i.unread_reason else ""

    def verdict(bad: int) -> str:
        return (PASS if bad == 0 else FAIL) if read else NA

    return [
        SloRow(
            "integrity: distinct ticket numbers", "0 duplicates",
            f"{i.duplicate_numbers} duplicates in {i.tickets}",
            (PASS if i.duplicate_numbers == 0 else FAIL) if i.tickets else NA,
        ),
        SloRow(
            "integrity: lost writes", "0 lost", f"{i.lost} lost; read back {coverage}",
            verdict(i.lost), i.first_lost or unread,
        ),
        SloRow(
            "integrity: field mismatches", "0 mismatches",
            f"{i.readback_mismatches} in {i.readback_checked} tickets",
            verdict(i.readback_mismatches), i.first_problem or unread,
        ),
        SloRow(
            "integrity: conversation order", "0 out of order",
            f"{i.order_violations} of {i.ordered_pairs} ordered pairs",
            verdict(i.order_violations) if i.ordered_pairs or i.order_violations else NA,
            i.first_order,
        ),
    ]  # fmt: skip


def _trend_row(config: SloConfig, t: Trend) -> SloRow:
    q = f"p{config.trend_percentile:g}"
    threshold = f"< +{_limit(config.trend_max_growth_ms)} ms or < +{config.trend_max_growth_ratio * 100:.0f}%"
    name = f"trend: {t.endpoint} {q}"
    if t.verdict == INCONCLUSIVE or t.first is None or t.last is None:
        return SloRow(name, threshold, "inconclusive", NA, t.reason)
    growth, ratio = t.growth_ms or 0.0, t.growth_ratio
    shown = f"{t.first:.1f} → {t.middle or 0:.1f} → {t.last:.1f} ms ({growth:+.1f} ms"
    shown += f", {ratio * 100:+.0f}%" if ratio is not None else ""
    shown += f"; others {t.others_ms:+.1f} ms)" if t.others_ms else ")"
    return SloRow(name, threshold, shown, FAIL if t.verdict == RISING else PASS, t.reason)


def breached(rows: list[SloRow]) -> list[SloRow]:
    return [r for r in rows if r.failed]
