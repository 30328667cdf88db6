"""SLO gates: thresholds from defaults, files and flags; verdict rows on measured figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tixallo_qa.load.safety import LoadRefusedError
from tixallo_qa.load.slo import (
    FAIL,
    NA,
    PASS,
    EndpointFigures,
    ErrorFigures,
    IntegrityFigures,
    Measurements,
    OpenModelFigures,
    SloConfig,
    WebhookFigures,
    breached,
    evaluate,
    exact_ms,
    load_slo_file,
)
from tixallo_qa.load.trend import INCONCLUSIVE, RISING, STEADY, Trend

pytestmark = pytest.mark.unit


def _endpoint(
    name: str, p95: float, p99: float, requests: int = 100, failures: int = 0
) -> EndpointFigures:
    return EndpointFigures(name, requests, failures, p50=1.0, p95=p95, p99=p99, max=p99)


def _healthy(**changes: object) -> Measurements:
    values: dict[str, object] = {
        "endpoints": {
            "GET /tickets": _endpoint("GET /tickets", 20, 40),
            "POST /tickets": _endpoint("POST /tickets", 30, 60),
        },
        "requests": 200,
        "failures": 0,
        "rate_limited": 0,
        "webhooks": WebhookFigures(
            expected=50, delivered=50, lost=0, double_fires=0, lag_p95_ms=15.0, lag_p99_ms=20.0
        ),
        "integrity": IntegrityFigures(
            tickets=50, duplicate_numbers=0, readback_checked=50, readback_mismatches=0,
            messages=30, messages_checked=30, ordered_pairs=12,
        ),
    }  # fmt: skip
    values.update(changes)
    return Measurements(**values)  # type: ignore[arg-type]


def _row(rows: list, slo: str):  # type: ignore[no-untyped-def]
    return next(r for r in rows if r.slo == slo)


def _verdict(config: SloConfig, measurements: Measurements, slo: str) -> str:
    return str(_row(evaluate(config, measurements), slo).verdict)


def test_a_healthy_run_passes_every_gate() -> None:
    rows = evaluate(SloConfig(), _healthy())
    assert not breached(rows)
    # Every row passes but the one that is measured and not gated.
    assert {r.slo for r in rows if r.verdict != PASS} == {"transport failures"}


def test_each_breach_names_its_slo() -> None:
    slow = {
        "GET /tickets": _endpoint("GET /tickets", 700, 900),
        "POST /tickets": _endpoint("POST /tickets", 30, 60),
    }
    cases = {
        "GET /tickets p95": _healthy(endpoints=slow),
        "error ratio": _healthy(failures=3),
        "webhook lag p95": _healthy(webhooks=WebhookFigures(50, 50, 0, 0, 4000.0, 4000.0)),
        "webhook loss": _healthy(webhooks=WebhookFigures(50, 49, 1, 0, 15.0)),
        "webhook double fires": _healthy(webhooks=WebhookFigures(50, 50, 0, 2, 15.0)),
        "webhook lag p99": _healthy(webhooks=WebhookFigures(50, 50, 0, 0, 15.0, 2500.0)),
        "webhook late": _healthy(webhooks=WebhookFigures(50, 50, 0, 0, 15.0, 20.0, late=1)),
        "webhook payloads": _healthy(
            webhooks=WebhookFigures(50, 50, 0, 0, 15.0, 20.0, payload_mismatches=1)
        ),
        "integrity: distinct ticket numbers": _healthy(integrity=IntegrityFigures(50, 3, 20, 0)),
        "integrity: field mismatches": _healthy(
            integrity=IntegrityFigures(50, 0, 20, 1, "subject differs")
        ),
        "integrity: lost writes": _healthy(integrity=IntegrityFigures(50, 0, 50, 0, lost=1)),
        "integrity: conversation order": _healthy(
            integrity=IntegrityFigures(50, 0, 50, 0, ordered_pairs=9, order_violations=1)
        ),
        "server errors (5xx)": _healthy(errors=ErrorFigures(server={"HTTP 503": 1})),
        # One bad answer in a run far under the error-ratio gate still fails its own gate.
        "bad 2xx bodies": _healthy(errors=ErrorFigures(body=1)),
        "rate-limited (429) ratio": _healthy(rate_limited=50),
        "trend: GET /tickets p75": _healthy(
            trends=(Trend("GET /tickets", RISING, 5.0, 40.0, 80.0, (50, 50, 50), 1.0, "x"),)
        ),
    }
    for slo, measurements in cases.items():
        failed = [r.slo for r in breached(evaluate(SloConfig(), measurements))]
        assert slo in failed, (slo, failed)


def test_every_gate_compares_the_exact_figure() -> None:
    # 300.4 ms shown as "300 ms" beside "<= 300 ms" would look like a pass: it fails, and says so.
    rows = evaluate(
        SloConfig(),
        _healthy(endpoints={"GET /tickets": _endpoint("GET /tickets", 300.04, 800.0)}),
    )
    row = _row(rows, "GET /tickets p95")
    assert row.verdict == FAIL and row.measured == "300.040 ms"
    assert _row(rows, "GET /tickets p99").verdict == PASS  # 800.0 <= 800
    assert exact_ms(301.0, 300) == "301.0 ms" and exact_ms(299.96, 300) == "300.0 ms"
    webhooks = WebhookFigures(50, 50, 0, 0, 1000.01, 20.0)
    assert _verdict(SloConfig(), _healthy(webhooks=webhooks), "webhook lag p95") == FAIL


def test_errors_are_named_and_transport_failures_count_in_the_ratio() -> None:
    errors = ErrorFigures(
        server={"HTTP 500": 2}, transport={"connection reset": 1}, first_server="HTTP 500 x2 ...",
    )  # fmt: skip
    rows = evaluate(SloConfig(), _healthy(failures=3, errors=errors))
    server = _row(rows, "server errors (5xx)")
    assert server.verdict == FAIL and server.measured == "2 (2 HTTP 500)" and server.detail
    assert _row(rows, "transport failures").measured == "1 (1 connection reset)"
    assert _row(rows, "error ratio").verdict == FAIL
    lenient = SloConfig(max_server_errors=5, max_error_ratio=0.5)
    assert not breached(evaluate(lenient, _healthy(failures=3, errors=errors)))
    # On loopback no network is to blame: one reset fails its own gate.
    reset = ErrorFigures(
        transport={"connection reset": 1}, first_transport="connection reset x1 ..."
    )
    local = evaluate(lenient, _healthy(failures=1, errors=reset, loopback=True))
    row = _row(local, "transport failures")
    assert row.verdict == FAIL and row.threshold == "<= 0 (loopback target)" and row.detail
    remote = evaluate(lenient, _healthy(failures=1, errors=reset))
    assert _row(remote, "transport failures").verdict == NA
    two_allowed = lenient.replace(max_transport_failures=2)
    on_loopback = _healthy(errors=reset, loopback=True)
    assert _verdict(two_allowed, on_loopback, "transport failures") == PASS


def test_burst_latency_is_shown_not_gated() -> None:
    endpoints = {
        "POST /tickets": _endpoint("POST /tickets", 30, 60),
        "POST /tickets (burst)": _endpoint("POST /tickets (burst)", 900, 2000),
    }
    rows = evaluate(SloConfig(), _healthy(endpoints=endpoints))
    assert not breached(rows)
    burst = [r for r in rows if r.slo.startswith("POST /tickets (burst)")]
    assert [(r.slo, r.verdict) for r in burst] == [("POST /tickets (burst) latency", NA)]
    assert "2000.0 ms" in burst[0].measured


def test_trend_rows_fail_only_on_a_rise() -> None:
    trends = (
        Trend("GET /tickets", STEADY, 5.0, 6.0, 7.0, (50, 50, 50), 1.0, "within"),
        Trend("POST /tickets", INCONCLUSIVE, reason="12 requests in a third of the run"),
    )
    rows = evaluate(SloConfig(), _healthy(trends=trends))
    assert _row(rows, "trend: GET /tickets p75").verdict == PASS
    assert _row(rows, "trend: POST /tickets p75").verdict == NA
    rising = (Trend("GET /tickets", RISING, 5.0, 40.0, 80.0, (50, 50, 50), 1.0, "x"),)
    assert not breached(evaluate(SloConfig(trend=False), _healthy(trends=rising)))


def test_per_endpoint_overrides_and_flags() -> None:
    config = SloConfig(endpoints={"GET /tickets": {"p95_ms": 10}}).replace(
        p99_ms=50, max_error_ratio=None
    )
    rows = evaluate(config, _healthy())
    assert _row(rows, "GET /tickets p95").verdict == FAIL
    assert _row(rows, "POST /tickets p99").verdict == FAIL  # 60 > 50
    assert config.max_error_ratio == SloConfig().max_error_ratio  # None leaves a default alone


def test_missing_data_is_not_a_breach() -> None:
    rows = evaluate(SloConfig(), _healthy(endpoints={}, requests=0, webhooks=None, integrity=None))
    assert _row(rows, "error ratio").verdict == NA
    assert _row(rows, "webhook loss").verdict == NA
    assert not breached(rows)


def test_measure_limiter_does_not_gate_429s() -> None:
    rows = evaluate(SloConfig(), _healthy(rate_limited=500, measure_limiter=True))
    assert _row(rows, "rate-limited (429) ratio").verdict == NA


def test_open_model_rows() -> None:
    rows = evaluate(
        SloConfig(), _healthy(open_model=OpenModelFigures(scheduled=100, late=10, dropped=0))
    )
    assert _row(rows, "open model: late starts").verdict == FAIL
    assert _row(rows, "open model: dropped").verdict == PASS


def test_thresholds_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "slo.toml"
    toml.write_text(
        '[slo]\np95_ms = 100\nmax_webhook_lost = 2\n[slo.endpoints."GET /tickets"]\np99_ms = 250\n'
    )
    config = load_slo_file(toml)
    assert config.p95_ms == 100 and config.max_webhook_lost == 2
    assert config.limits_for("GET /tickets") == (100, 250)
    js = tmp_path / "slo.json"
    js.write_text(json.dumps({"webhook_lag_p95_ms": 500, "integrity": False, "trend": False}))
    assert load_slo_file(js).webhook_lag_p95_ms == 500 and not load_slo_file(js).trend


def test_bad_threshold_files_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "slo.toml"
    bad.write_text("[slo]\np95 = 100\n")
    with pytest.raises(LoadRefusedError, match="unknown SLO 'p95'"):
        load_slo_file(bad)
    bad.write_text("[slo]\np95_ms = -1\n")
    with pytest.raises(LoadRefusedError, match="p95_ms must be a number"):
        load_slo_file(bad)
    with pytest.raises(LoadRefusedError, match="cannot be read"):
        load_slo_file(tmp_path / "missing.toml")
