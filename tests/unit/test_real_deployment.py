"""What a real deployment needs, without servers: TLS and token settings, exit codes, plans, clocks."""

from __future__ import annotations

import socket
import ssl
import xml.etree.ElementTree as ET
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from tixallo_qa.contracts._results import ERROR, FAILED, PASSED, SKIPPED, CheckResult, SuiteResult
from tixallo_qa.contracts.plan import contracts_plan
from tixallo_qa.contracts.runner import mark_infrastructure
from tixallo_qa.core import clocks, exitcodes, reach, sinkurl, tls
from tixallo_qa.core.plan import Demand, PhasePlan, format_duration, paced_seconds
from tixallo_qa.core.settings import Settings, SettingsError, format_env, load_settings
from tixallo_qa.load.slo import FAIL, NA, PASS, SloRow
from tixallo_qa.load.verdict import decide
from tixallo_qa.webhook_sink.config import SinkConfig

pytestmark = pytest.mark.unit


# -- settings ------------------------------------------------------------------------------
def test_the_sink_token_is_a_secret_everywhere() -> None:
    s = load_settings(environ={"TIXALLO_SINK_TOKEN": "tok-1234567890"})
    assert "tok-1234567890" in s.secrets
    assert "tok-1234567890" not in repr(s)
    assert "TIXALLO_SINK_TOKEN=<redacted>" in format_env(s)
    assert s.to_env()["TIXALLO_SINK_TOKEN"] == "tok-1234567890"  # children get it


def test_ca_bundle_falls_back_to_ssl_cert_file_and_the_setting_wins(tmp_path: Path) -> None:
    mine, system = tmp_path / "mine.pem", tmp_path / "system.pem"
    mine.write_text("x")
    system.write_text("x")
    assert load_settings(environ={"SSL_CERT_FILE": str(system)}).ca_bundle == str(system)
    both = {"SSL_CERT_FILE": str(system), "TIXALLO_CA_BUNDLE": str(mine)}
    assert load_settings(environ=both).ca_bundle == str(mine)
    assert load_settings(environ={}).ca_bundle is None
    with pytest.raises(SettingsError, match=r"^SSL_CERT_FILE='/nope' \(used because"):
        load_settings(environ={"SSL_CERT_FILE": "/nope"})
    with pytest.raises(SettingsError, match=r"^TIXALLO_CA_BUNDLE='/nope' is not a file"):
        load_settings(environ={"TIXALLO_CA_BUNDLE": "/nope"})


def test_sink_tls_needs_both_files_and_makes_the_sink_url_https(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(
        SettingsError, match="TIXALLO_SINK_TLS_CERT is set but TIXALLO_SINK_TLS_KEY"
    ):
        load_settings(environ={"TIXALLO_SINK_TLS_CERT": str(cert)})
    s = load_settings(
        environ={"TIXALLO_SINK_TLS_CERT": str(cert), "TIXALLO_SINK_TLS_KEY": str(cert)}
    )
    assert s.sink_url == "https://127.0.0.1:8787"
    assert Settings().sink_url == "http://127.0.0.1:8787"


def test_a_sink_off_loopback_needs_a_token() -> None:
    with pytest.raises(SettingsError) as caught:
        SinkConfig(host="0.0.0.0", secret="s")
    [line] = str(caught.value).splitlines()
    assert "set TIXALLO_SINK_TOKEN" in line and "listen on 127.0.0.1" in line
    assert SinkConfig(host="0.0.0.0", secret="s", token="t").token == "t"
    assert SinkConfig(host="127.0.0.1", secret="s").token is None
    assert SinkConfig(host="::1", secret="s").base_url == "http://[::1]:8787"


# -- --sink-url ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "delivery", "as_root"),
    [
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787/webhooks/tixallo", True),
        ("http://127.0.0.1:8787/", "http://127.0.0.1:8787/webhooks/tixallo", True),
        ("http://127.0.0.1:8787/webhooks/tixallo", "http://127.0.0.1:8787/webhooks/tixallo", False),
        ("https://hooks.example/in/abc/", "https://hooks.example/in/abc", False),
    ],
)
def test_sink_url_is_the_root_or_the_full_delivery_url(
    given: str, delivery: str, as_root: bool
) -> None:
    parsed = sinkurl.parse(given, "/webhooks/tixallo")
    assert (parsed.delivery_url, parsed.given_as_root) == (delivery, as_root)
    assert delivery in parsed.explain()
    assert ("sink's root" in parsed.explain()) is as_root
    with pytest.raises(ValueError, match="is not an http"):
        sinkurl.parse("127.0.0.1:8787", "/webhooks/tixallo")


# -- exit codes ------------------------------------------------------------------------------
def test_exit_codes_combine_with_defects_first() -> None:
    assert exitcodes.combine() == 0
    assert exitcodes.combine(0, 4) == 4
    assert exitcodes.combine(4, 3) == 3
    assert exitcodes.combine(3, 1, 4) == 1
    assert exitcodes.combine(1, 2) == 2
    assert exitcodes.combine(0, 99) == 3  # an unknown code is an infrastructure failure
    assert all(f"{c} " in exitcodes.epilog() for c in (0, 1, 2, 3, 4))


def _suite(*outcomes: str, **changes: object) -> SuiteResult:
    checks = [CheckResult(f"c{i}", "f", o) for i, o in enumerate(outcomes)]
    result = SuiteResult(checks=checks)
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def test_the_contract_suite_follows_the_table() -> None:
    assert _suite(PASSED, SKIPPED).exit_status == 0
    assert _suite(PASSED, FAILED).exit_status == 1
    assert _suite(PASSED, ERROR, infrastructure="gone").exit_status == 3
    assert _suite(FAILED, ERROR, infrastructure="gone").exit_status == 1
    assert _suite(infrastructure="refused token", stop_code=2).exit_status == 2
    assert _suite(PASSED, errors=["collecting x: boom"]).exit_status == 3
    assert _suite(SKIPPED, SKIPPED).exit_status == 4
    assert _suite(exit_code=5).exit_status == 2
    again = SuiteResult.from_dict(_suite(PASSED, ERROR, infrastructure="gone").to_dict())
    assert again.infrastructure == "gone" and again.counts[ERROR] == 1


def test_junit_says_error_where_the_target_broke_a_check(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest" tests="2" failures="2" errors="0">'
        '<testcase classname="c" name="a"><properties><property name="tixallo-infrastructure" '
        'value="gone"/></properties><failure message="x">x</failure><failure message="y"/></testcase>'
        '<testcase classname="c" name="b"><failure message="real">real</failure></testcase>'
        "</testsuite></testsuites>"
    )
    mark_infrastructure(junit, _suite(ERROR, FAILED, infrastructure="gone"))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("errors"), suite.get("failures")) == ("1", "1")  # testcases
    empty = tmp_path / "none.xml"
    mark_infrastructure(empty, _suite(infrastructure="nothing listens"))
    [case] = ET.parse(empty).getroot().iter("testcase")
    error = case.find("error")
    assert error is not None and error.get("message") == "nothing listens"


def _row(slo: str, verdict: str, measured: str = "1") -> SloRow:
    return SloRow(slo, "t", measured, verdict)


def test_a_load_breach_is_a_defect_unless_the_generator_alone_explains_it() -> None:
    latency = _row("POST /tickets p95", FAIL)
    lost = _row("webhook loss", FAIL)
    hot = "WARNING/root: CPU usage above 90%! This may constrain your throughput"
    assert decide([latency], 0).code == 1
    assert decide([latency], 0, log_text=hot).code == 4
    assert decide([latency, lost], 0, log_text=hot).code == 1
    assert decide([_row("webhook lag p95", FAIL)], 0, log_text=hot).code == 1
    assert decide([_row("x p95", PASS)], 0).code == 0
    verdict = decide([_row("x p95", PASS), _row("webhook lag p95", NA, "no data")], 0)
    assert verdict.code == 4 and "too few samples to judge webhook lag p95" in verdict.reason
    assert decide([_row("integrity", NA, "not checked")], 0).code == 0
    assert decide([], 0, unreachable="the deployment at x is unreachable").code == 3
    assert decide([_row("x p95", PASS)], 2).code == 3


# -- reachability and TLS lines ------------------------------------------------------------
def test_unreachable_lines_say_what_where_and_the_fix() -> None:
    url = "https://tixallo.example/api/v1"
    refused = httpx.ConnectError("x")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert reach.problem(refused, url) == (
        "the deployment at https://tixallo.example/api/v1 is unreachable: nothing listens on "
        "tixallo.example:443 (connection refused): start it, or fix the host and port in TIXALLO_BASE_URL"
    )
    dns = httpx.ConnectError("x")
    dns.__context__ = socket.gaierror(-2, "Name or service not known")
    assert "tixallo.example does not resolve" in reach.problem(dns, url)
    slow = httpx.ConnectTimeout("timed out")
    assert "did not answer within 3 s" in reach.problem(slow, url, timeout=3)
    bad = ssl.SSLCertVerificationError(1, "certificate verify failed")
    bad.verify_message = "unable to get local issuer certificate"
    wrapped = httpx.ConnectError("x")
    wrapped.__cause__ = bad
    line = reach.problem(wrapped, url, ca_bundle="/etc/ca.pem")
    assert line.endswith(
        "the TLS certificate of tixallo.example does not verify against TIXALLO_CA_BUNDLE=/etc/ca.pem "
        "(unable to get local issuer certificate): set TIXALLO_CA_BUNDLE to the CA bundle (PEM) that signed it"
    )
    assert "against the system's CAs" in reach.problem(wrapped, url)
    assert all(reach.is_transport_failure(e) for e in (refused, dns, slow, wrapped))
    assert not reach.is_transport_failure(httpx.ReadTimeout("slow answer"))
    assert not reach.is_transport_failure(AssertionError("a 500"))


def test_client_contexts_verify_and_are_shared(tmp_path: Path) -> None:
    context = tls.client_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert tls.client_context(None) is context
    assert tls.requests_verify(None) is True and tls.requests_verify("/x.pem") == "/x.pem"


# -- clocks --------------------------------------------------------------------------------
def test_clock_skew_from_a_date_header_and_from_webhook_timestamps() -> None:
    now = 1_800_000_000.0
    ahead = clocks.from_date_header(formatdate(now + 42, usegmt=True), now - 0.1, now + 0.1)
    assert ahead is not None and ahead.seconds == pytest.approx(43.0, abs=0.01)
    assert ahead.uncertainty == pytest.approx(1.1)
    assert clocks.from_date_header("not a date", now, now) is None
    hooks = clocks.from_webhooks(
        [({"X-Tixallo-Timestamp": str(int(now) - 10)}, now + 0.2)] * 3
        + [({"webhook-timestamp": str(int(now) - 10)}, now)]
    )
    assert hooks is not None and hooks.samples == 4
    assert hooks.seconds == pytest.approx(-9.7, abs=0.01)
    text, ok = clocks.verdict([ahead, hooks], 300)
    assert ok and "43.0 s ahead of" in text and "9.7 s behind" in text
    assert not clocks.verdict([clocks.Skew(200, 0.5, "Date header")], 300)[1]


# -- plans ---------------------------------------------------------------------------------
def test_pacing_arithmetic_and_keys_for_a_budget() -> None:
    assert paced_seconds(60, 1, 60) == 0  # one window's burst goes at once
    assert paced_seconds(120, 1, 60) == pytest.approx(60.5)
    assert paced_seconds(1000, 10, 0) == 0  # no limit
    plan = PhasePlan("contracts", (Demand("main", 430, 1), Demand("none", 400, 0, paced=False)), 60)
    assert plan.expected == pytest.approx((430 - 60) * 60.5 / 60)
    assert plan.keys_for(300) == 2 and plan.keys_for(30) == 5
    lines = plan.lines()
    assert lines[0].startswith(
        "contracts: about 830 requests (main 430 on 1 key, none 400 unpaced)"
    )
    assert lines[1] == "contracts: 2 keys in TIXALLO_API_KEY would bring it under 5 min"
    # Time left follows the pacing schedule from the requests done.
    assert plan.time_left({"main": 60}) == pytest.approx(plan.expected)
    assert plan.time_left({"main": 430}) == 0
    assert format_duration(373) == "6 min 13 s" and format_duration(3700) == "1 h 01 min"


def test_the_contracts_plan_uses_the_keys_the_settings_hold() -> None:
    one = contracts_plan(Settings(api_keys=("k",), other_api_key="o", rate_limit_api_key="r"))
    many = contracts_plan(Settings(api_keys=tuple(f"k{i}" for i in range(20))))
    assert {d.identity for d in one.demands} == {"main", "other", "rate-limit", "none"}
    assert one.expected > 300 > many.expected
    assert contracts_plan(Settings(api_keys=("k",), rate_limit=0)).expected < 60


# -- doctor --------------------------------------------------------------------------------
def test_doctor_states_the_clock_skew_and_what_it_means() -> None:
    from tixallo_qa._doctor import DoctorReport
    from tixallo_qa._doctor._run import check_clocks

    settings = Settings(webhook_tolerance=300)
    for skew, status in ((1.0, "ok"), (200.0, "warn"), (400.0, "problem")):
        report = DoctorReport("x", embedded=False)
        check_clocks([clocks.Skew(skew, 0.5, "Date header")], settings, report)
        [finding] = report.findings
        assert (finding.area, finding.status) == ("clock", status)
        assert f"{skew:.1f} s ahead of this machine's clock" in finding.message
    report = DoctorReport("x", embedded=False)
    check_clocks([None], settings, report)
    assert report.findings[0].status == "note"


def test_doctor_budget_line_says_what_a_run_costs_and_what_keys_would_help() -> None:
    from tixallo_qa._doctor._run import budget_line

    line = budget_line(Settings(api_keys=("k",), profile="standard"), 5)
    assert line.startswith("5 requests sent to the target, paced at 60/min per key; a standard")
    assert "expected 7 min" in line and "2 keys would bring it under 5 min" in line


def test_doctor_exit_codes_tell_unreachable_from_settings() -> None:
    from tixallo_qa._doctor import PROBLEM, DoctorReport

    report = DoctorReport("x", embedded=False)
    assert report.exit_code == 0
    report.add("target", PROBLEM, "nothing listens")
    assert report.exit_code == 3 and report.to_json()["exit_code"] == 3
    # A setting to fix comes first (core.exitcodes.PRECEDENCE): it is fixed before anything runs.
    report.add("settings", PROBLEM, "TIXALLO_API_KEY is not set")
    assert report.exit_code == 2
