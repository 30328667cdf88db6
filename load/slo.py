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

from tixallo_qa.load.safety import LoadRefusedError

PASS, FAIL, NA = "pass", "FAIL", "n/a"
_PERCENTILE_KEYS = ("p95_ms", "p99_ms")


@dataclass(frozen=True)
class SloConfig:
    """Thresholds; the defaults suit the reference deployment on a small machine."""

    p95_ms: float = 300.0
    p99_ms: float = 800.0
    # Per-endpoint overrides: {"GET /tickets": {"p95_ms": 200, "p99_ms": 400}}
    endpoints: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    max_error_ratio: float = 0.001
    webhook_lag_p95_ms: float = 1000.0
    max_webhook_lost: int = 0
    max_double_fires: int = 0
    max_rate_limited_ratio: float = 0.01
    max_dropped_ratio: float = 0.01
    max_late_ratio: float = 0.05
    integrity: bool = True

    def replace(self, **changes: Any) -> SloConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

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
            elif key == "integrity":
                if not isinstance(value, bool):
                    raise LoadRefusedError(f"{origin}: 'integrity' must be true or false")
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


@dataclass(frozen=True)
class IntegrityFigures:
    tickets: int
    duplicate_numbers: int
    readback_checked: int
    readback_mismatches: int
    first_problem: str = ""


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
        return None if self.verdict == NA else self.verdict == PASS

    @property
    def shown(self) -> str:
        """The measured figure with its detail, as a table cell."""
        return f"{self.measured} ({self.detail})" if self.detail else self.measured

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0f} ms"


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


def evaluate(config: SloConfig, m: Measurements) -> list[SloRow]:
    """Every gate's row, in a stable order: latency per endpoint, errors, webhooks, integrity, model."""
    rows: list[SloRow] = []
    for name in sorted(m.endpoints):
        e = m.endpoints[name]
        p95_limit, p99_limit = config.limits_for(name)
        have = e.requests - e.failures > 0 or e.requests > 0
        rows.append(
            _gate(
                f"{name} p95",
                p95_limit,
                e.p95 if have else None,
                _ms(e.p95),
                f"<= {p95_limit:.0f} ms",
            )
        )
        rows.append(
            _gate(
                f"{name} p99",
                p99_limit,
                e.p99 if have else None,
                _ms(e.p99),
                f"<= {p99_limit:.0f} ms",
            )
        )
    total = m.requests
    error_ratio = _ratio(m.failures, total)
    rows.append(
        _gate(
            "error ratio", config.max_error_ratio, error_ratio if total else None,
            f"{_pct(error_ratio)} ({m.failures}/{total})", f"<= {_pct(config.max_error_ratio)}",
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
    w = m.webhooks
    if w is None:
        for slo in ("webhook lag p95", "webhook loss", "webhook double fires"):
            rows.append(SloRow(slo, "-", "not measured", NA, "webhook accounting is off"))
    else:
        rows.append(
            _gate(
                "webhook lag p95",
                config.webhook_lag_p95_ms,
                w.lag_p95_ms,
                _ms(w.lag_p95_ms),
                f"<= {config.webhook_lag_p95_ms:.0f} ms",
            )
        )
        rows.append(
            _gate(
                "webhook loss",
                config.max_webhook_lost,
                w.lost if w.expected else None,
                f"{w.lost} of {w.expected}",
                f"<= {config.max_webhook_lost}",
            )
        )
        rows.append(
            _gate(
                "webhook double fires",
                config.max_double_fires,
                w.double_fires if w.expected else None,
                str(w.double_fires),
                f"<= {config.max_double_fires}",
            )
        )
    i = m.integrity
    if i is None or not config.integrity:
        rows.append(SloRow("integrity", "-", "not checked", NA))
    else:
        rows.append(
            SloRow(
                "integrity: distinct ticket numbers", "0 duplicates",
                f"{i.duplicate_numbers} duplicates in {i.tickets}",
                (PASS if i.duplicate_numbers == 0 else FAIL) if i.tickets else NA,
            )
        )  # fmt: skip
        rows.append(
            SloRow(
                "integrity: read-back", "0 mismatches",
                f"{i.readback_mismatches} of {i.readback_checked}",
                (PASS if i.readback_mismatches == 0 else FAIL) if i.readback_checked else NA,
                i.first_problem,
            )
        )  # fmt: skip
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
    return rows


def breached(rows: list[SloRow]) -> list[SloRow]:
    return [r for r in rows if r.failed]
