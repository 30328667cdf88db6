"""Doctor's order of checks: settings, the target, the keys, the sink, a probe webhook."""

from __future__ import annotations

from collections.abc import Callable

from tixallo_qa.core import clocks, reach
from tixallo_qa.core.settings import Settings

from ._api import Api
from ._keys import check_keys, check_tickets, check_workspaces
from ._model import NOTE, OK, PROBLEM, SKIPPED, WARN, DoctorReport
from ._network import check_reachable, check_tls
from ._settings import check_settings
from ._webhook import check_sink, probe, sink_for_probe

# The order lines are shown in, whatever order the checks ran in.
AREAS = (
    "settings", "target", "tls", "keys", "workspace", "tickets", "sink", "webhook", "clock", "budget",
)  # fmt: skip
# A small pool is enough to check the embedded deployment's keys, and quick to seed.
EMBEDDED_POOL = 3


def diagnose(settings: Settings, *, on_step: Callable[[str], None] | None = None) -> DoctorReport:
    """Check ``settings`` (or, with no target, a freshly started embedded deployment)."""
    step = on_step or (lambda _: None)
    if settings.embedded:
        from tixallo_qa.target import Target

        step("starting the embedded reference deployment")
        embedded = Target.start(settings, pool_size=EMBEDDED_POOL)
        try:
            report = _diagnose(embedded.settings, step, embedded=True)
        finally:
            embedded.stop()
        return report
    return _diagnose(settings, step, embedded=False)


def _diagnose(settings: Settings, step: Callable[[str], None], *, embedded: bool) -> DoctorReport:
    assert settings.base_url is not None
    report = DoctorReport(target=settings.base_url, embedded=embedded)
    if embedded:
        report.add(
            "settings",
            NOTE,
            "no TIXALLO_BASE_URL: checked the embedded reference deployment (started for this check, "
            "now stopped); set TIXALLO_BASE_URL to check a real deployment",
        )
    step("settings")
    check_settings(settings, report)
    step("reachability")
    if not check_reachable(settings.base_url, settings.request_timeout, report):
        _skipped(report, "keys, tickets, webhook probe")
        step("webhook sink")
        check_sink(settings, report)
        return _sorted(report)
    if not check_tls(settings.base_url, settings.request_timeout, report, settings.ca_bundle):
        _skipped(report, "keys, tickets, webhook probe")
        return _sorted(report)
    skews = [_date_skew(settings)]
    api = Api(
        settings.base_url,
        settings.api_keys,
        settings.rate_limit,
        settings.request_timeout,
        settings.ca_bundle,
    )
    try:
        step("keys")
        state = check_keys(api, settings, report)
        check_tickets(api, settings, state, report)
        step("webhook sink")
        sink = check_sink(settings, report)
        probe_id = None
        can_sign = settings.webhook_verifiable
        if not state.main_ok or state.main_key is None:
            _skipped(report, "workspaces, tickets, webhook probe")
        elif not can_sign:
            report.add(
                "webhook", SKIPPED, "webhook probe not sent: TIXALLO_WEBHOOK_SECRET is not set"
            )
        else:
            with sink_for_probe(settings, sink, report) as receiving:
                if receiving is not None:
                    step("probe webhook")
                    probe_id = probe(api, receiving, state.main_key, report, skews)
                else:
                    _skipped(report, "webhook probe")
        step("workspaces")
        check_workspaces(api, settings, state, probe_id, report)
        check_clocks(skews, settings, report)
        report.add("budget", OK, budget_line(settings, api.sent))
    finally:
        api.close()
    return _sorted(report)


def _date_skew(settings: Settings) -> clocks.Skew | None:
    """The deployment's clock from its Date header (one unauthenticated request: no key's budget)."""
    assert settings.base_url is not None
    try:
        answer = reach.probe(
            settings.base_url.rstrip("/") + "/tickets",
            ca_bundle=settings.ca_bundle,
            timeout=settings.request_timeout,
        )
    except reach.UnreachableError:
        return None
    return clocks.from_date_header(answer.date, answer.sent_at, answer.received_at)


def check_clocks(skews: list[clocks.Skew | None], settings: Settings, report: DoctorReport) -> None:
    """The freshness check trusts both clocks: say how far apart they are, and whether that is safe."""
    tolerance = settings.webhook_tolerance
    text, ok = clocks.verdict(skews, tolerance)
    found = [s for s in skews if s is not None]
    if not found:
        report.add("clock", NOTE, text)
    elif ok:
        report.add("clock", OK, text)
    elif any(abs(s.seconds) - s.uncertainty > tolerance for s in found):
        report.add("clock", PROBLEM, f"{text}: every webhook will be refused as stale")
    else:
        report.add("clock", WARN, text)


def budget_line(settings: Settings, sent: int) -> str:
    """What doctor spent, and what a contract run of this profile would cost with these keys."""
    from tixallo_qa.contracts.plan import contracts_plan
    from tixallo_qa.core.plan import format_duration

    plan = contracts_plan(settings)
    line = (
        f"{sent} requests sent to the target, paced at {settings.rate_limit}/min per key; "
        f"a {settings.profile} contract run: {plan.summary()}"
    )
    return (
        line
        if plan.expected <= plan.budget
        else (
            line
            + f" (more keys in TIXALLO_API_KEY shorten it; budget {format_duration(plan.budget)})"
        )
    )


def _skipped(report: DoctorReport, what: str) -> None:
    report.add("webhook", SKIPPED, f"{what}: not checked until the problem above is fixed")


def _sorted(report: DoctorReport) -> DoctorReport:
    report.findings.sort(key=lambda f: AREAS.index(f.area) if f.area in AREAS else len(AREAS))
    return report
