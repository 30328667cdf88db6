"""``run_load``: plan, start what is missing, run locust in a child process, join, gate, report.

Locust never runs in this process (it patches the stdlib with gevent): the child is
``python -m locust -f load/scenario/locustfile.py``; this side only reads the files it writes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from tixallo_qa.core import children, tls
from tixallo_qa.core.netutil import free_port, is_loopback_url
from tixallo_qa.core.ratelimit import required_keys
from tixallo_qa.core.redact import Redactor
from tixallo_qa.core.settings import Settings
from tixallo_qa.load import files, planning, report, stats
from tixallo_qa.load.errors import BODY, SERVER, TRANSPORT
from tixallo_qa.load.integrity import IntegrityResult, read_back
from tixallo_qa.load.options import BURST, ChildPlan, LoadOptions, dumps
from tixallo_qa.load.plan import load_plan, watch
from tixallo_qa.load.safety import LoadRefusedError, check_target
from tixallo_qa.load.slo import (
    ErrorFigures,
    IntegrityFigures,
    Measurements,
    OpenModelFigures,
    SloConfig,
    SloRow,
    WebhookFigures,
    breached,
    evaluate,
)
from tixallo_qa.load.trend import assess_all, tickets_so_far
from tixallo_qa.load.verdict import decide
from tixallo_qa.target import (
    DEFAULT_POOL_SIZE,
    SinkUnavailableError,
    Target,
    TargetError,
    probe_deployment,
)

LOCUSTFILE = Path(__file__).resolve().parent / "scenario" / "locustfile.py"
EXIT_PASS, EXIT_BREACH, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2, 3
EXIT_INCONCLUSIVE = 4  # the load generator was overloaded, or a gate had too few samples
MAX_EMBEDDED_KEYS = 2000
# Beyond the run's own duration: stopping, the webhook wait, locust's reports.
CHILD_GRACE = 90.0


@dataclass
class LoadResult:
    """What a run produced: its exit code, the SLO rows, the summary, and where the files are."""

    exit_code: int
    rows: list[SloRow]
    summary: dict[str, Any]
    report_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_PASS

    @property
    def breached(self) -> list[str]:
        """Names of the SLOs that failed."""
        return [r.slo for r in self.rows if r.failed]


def default_report_dir(settings: Settings, kind: str = "load") -> Path:
    return Path(settings.report_dir) / f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def embedded_pool(options: LoadOptions, rate_limit: int) -> int:
    """Keys to seed so the asked-for rate fits (the embedded run behaves like a real paced one)."""
    rate = planning.asked_rate(options)
    if rate_limit <= 0 or math.isinf(rate):
        return DEFAULT_POOL_SIZE
    need = required_keys(rate, rate_limit) + options.processes
    return max(DEFAULT_POOL_SIZE, min(MAX_EMBEDDED_KEYS, math.ceil(need * 1.2)))


def run_load(
    settings: Settings,
    options: LoadOptions | None = None,
    *,
    slo: SloConfig | None = None,
    report_dir: str | Path | None = None,
    allow_remote: bool = False,
    faults: Sequence[str] = (),
    console: Console | None = None,
    quiet: bool = False,
    distributed_workers: int = 0,
    master_bind_port: int | None = None,
    **changes: Any,
) -> LoadResult:
    """Run one bounded load test and gate it; raises ``LoadRefusedError`` before starting when refused.

    ``changes`` override ``options`` fields (``duration=10, users=5``, or ``rate=50`` for the open
    model). With no ``settings.base_url`` the reference deployment and a sink are started (with
    ``faults``) and stopped again. ``distributed_workers`` > 0 runs a locust master that waits for
    that many ``tixallo-qa load --worker`` processes instead of forking its own.
    """
    if "rate" in changes and changes["rate"] is not None and "model" not in changes:
        changes["model"] = "open"
    options = dataclasses.replace(options or LoadOptions(), **changes)
    slo = slo or SloConfig()
    console = console or report.make_console(quiet)
    say = console if not quiet else report.make_console(quiet=True)
    slices = max(options.processes, distributed_workers or 0)
    if not settings.embedded:
        # Refusals come before anything starts (the embedded pool is seeded to fit the plan).
        assert settings.base_url is not None
        check_target(settings.base_url, allow_remote=allow_remote)
        _rate_plan(options, slices, settings)
    pool = embedded_pool(options, settings.rate_limit)
    with say.status(
        "starting the reference deployment and the webhook sink"
        if settings.embedded
        else "attaching to the target"
    ):
        try:
            target = Target.start(
                settings,
                sink="required" if options.webhooks else "off",
                faults=faults,
                pool_size=pool,
            )
        except SinkUnavailableError as exc:
            raise LoadRefusedError(
                f"{exc}; or pass --no-webhooks to skip webhook accounting"
            ) from None
    with target:
        settings = target.settings
        assert settings.base_url is not None
        rate_plan = _rate_plan(options, slices, settings)
        run_dir = Path(report_dir) if report_dir else default_report_dir(settings)
        run_dir.mkdir(parents=True, exist_ok=True)
        plan = ChildPlan(
            options=options,
            run_id=uuid.uuid4().hex[:8],
            out_dir=str(run_dir.resolve()),
            slices=slices,
            streams=slices,
            sink_url=settings.sink_url if target.sink else None,
            sink_since=target.baseline,
            webhook_timeout=settings.webhook_timeout,
            request_timeout=settings.request_timeout,
            distributed=distributed_workers > 0,
        )
        for line in load_plan(
            options, rate_plan, len(settings.api_keys), settings.rate_limit, plan.webhook_timeout
        ).lines():
            say.print(line, highlight=False, soft_wrap=True)
        code = _run_child(settings, plan, run_dir, say, distributed_workers, master_bind_port)
        return _finish(settings, plan, rate_plan.as_dict(), slo, run_dir, code, console)


def _rate_plan(options: LoadOptions, slices: int, settings: Settings) -> planning.RatePlan:
    """The asked-for rate against the keys' budget; raises ``LoadRefusedError`` when it does not fit."""
    rate_plan = planning.plan(
        dataclasses.replace(options, processes=slices), len(settings.api_keys), settings.rate_limit
    )
    if not rate_plan.ok:
        raise LoadRefusedError(f"rate plan: {rate_plan.message}")
    return rate_plan


def child_command(
    plan: ChildPlan,
    base_url: str,
    *,
    distributed_workers: int = 0,
    master_bind_port: int | None = None,
) -> list[str]:
    """The locust command line (after ``python -m``) of the join point (plain, ``--processes`` or ``--master``)."""
    o = plan.options
    classes = ["OpenModelUser"] if o.model == "open" else [
        name for name, cls in (("IntegratorUser", "integrator"), ("AgentUser", "agent")) if o.user_weights.get(cls, 0) > 0
    ] + (["BurstUser"] if o.bursts else [])  # fmt: skip
    # The burst user is one more than --users (its fixed_count), so the mix keeps --users.
    users = plan.streams if o.model == "open" else o.users + (1 if o.bursts else 0)
    spawn_rate = o.spawn_rate or max(1.0, float(users))
    out = Path(plan.out_dir)
    backstop = math.ceil(o.duration + plan.webhook_timeout + plan.stop_grace + 30)
    cmd = [
        "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", base_url, "-u", str(users), "-r", f"{spawn_rate:g}",
        "-t", f"{backstop}s", "--stop-timeout", f"{plan.stop_grace:g}",
        "--csv", str(out / files.LOCUST_PREFIX), "--csv-full-history",
        "--html", str(out / files.LOCUST_HTML), "--json-file", str(out / files.LOCUST_JSON),
        "--exit-code-on-error", "0", "--only-summary",
        "--tixallo-plan", dumps(plan.to_json()),
    ]  # fmt: skip
    if distributed_workers:
        cmd += [
            "--master",
            "--expect-workers",
            str(distributed_workers),
            "--expect-workers-max-wait",
            "120",
        ]
        if master_bind_port:
            cmd += ["--master-bind-port", str(master_bind_port)]
    elif o.processes > 1:
        # A free port of our own: on locust's default 5557, concurrent runs adopt each other's workers.
        port = master_bind_port or free_port()
        cmd += [
            "--processes",
            str(o.processes),
            "--master-bind-port",
            str(port),
            "--master-port",
            str(port),
        ]
    return [*cmd, *classes]


def _run_child(
    settings: Settings,
    plan: ChildPlan,
    run_dir: Path,
    console: Console,
    workers: int,
    bind_port: int | None,
) -> int:
    assert settings.base_url is not None
    argv = child_command(
        plan, settings.base_url, distributed_workers=workers, master_bind_port=bind_port
    )
    limit = (
        plan.options.duration
        + plan.webhook_timeout
        + plan.stop_grace
        + CHILD_GRACE
        + (120 if workers else 0)
    )
    locust = children.start("locust", argv, run_dir, env=settings.to_env(), ready=False)
    # The hard stop: a run never outlives its bound, whatever locust does.
    code = watch(locust, limit, plan.options.duration, console, f"locust log: {locust.log_path}")
    code = EXIT_ERROR if code is None else code
    log_path = locust.log_path
    # Locust logs requests' failure messages; keys must never reach a file a person reads.
    redactor = Redactor(settings.secrets)
    log_path.write_text(redactor.text(log_path.read_text(errors="replace")), encoding="utf-8")
    return code


def _finish(
    settings: Settings,
    plan: ChildPlan,
    rate_plan: dict[str, Any],
    slo: SloConfig,
    run_dir: Path,
    child_code: int,
    console: Console,
) -> LoadResult:
    redactor = Redactor(settings.secrets)
    figures = stats.read(run_dir)
    if figures is None:
        tail = "\n".join(
            (run_dir / files.LOCUST_LOG).read_text(errors="replace").splitlines()[-20:]
        )
        failure = {
            "error": f"locust exited with code {child_code} and wrote no statistics",
            "log_tail": tail,
        }
        files.write_json(run_dir / files.SUMMARY, failure)
        console.print(
            f"[red]load: locust failed (exit {child_code}); last lines of {run_dir / files.LOCUST_LOG}:[/]\n{tail}"
        )
        return LoadResult(EXIT_ERROR, [], failure, run_dir, {"summary": run_dir / files.SUMMARY})
    created = files.read_jsonl(run_dir / files.CREATED)
    accounting = files.read_json(run_dir / files.ACCOUNTING)
    counts = files.read_json(run_dir / files.COUNTS, {}) or {}
    integrity = _integrity(settings, plan, created, redactor, slo)
    if integrity is not None:
        files.write_json(run_dir / files.READBACK, _readback_detail(integrity))
    webhooks = _webhook_figures(accounting)
    steady = {k: v for k, v in figures.windows.items() if not k.endswith(BURST)}
    trends = assess_all(steady, slo.trend_config()) if slo.trend else []
    in_flight = figures.in_flight()
    o = plan.options
    measurements = Measurements(
        endpoints=figures.endpoints,
        requests=figures.requests,
        failures=figures.failed,
        rate_limited=sum(figures.rate_limited.values()),
        webhooks=webhooks,
        integrity=_integrity_figures(integrity),
        open_model=OpenModelFigures(
            counts.get("scheduled", 0), counts.get("late", 0), counts.get("dropped", 0)
        )
        if o.model == "open"
        else None,
        measure_limiter=o.measure_limiter,
        errors=_error_figures(figures, redactor),
        trends=tuple(trends),
        in_flight=in_flight,
        loopback=is_loopback_url(settings.base_url or ""),
    )
    rows = evaluate(slo, measurements)
    if isinstance(accounting, dict) and accounting.get("error"):
        rows.append(
            SloRow("webhook accounting", "sink answers", "error", "FAIL", str(accounting["error"]))
        )
    failed = breached(rows)
    verdict = decide(
        rows,
        child_code,
        log_text=(run_dir / files.LOCUST_LOG).read_text(errors="replace")
        if (run_dir / files.LOCUST_LOG).exists()
        else "",
        unreachable=_unreachable(settings, figures.requests, figures.failed),
    )
    exit_code = verdict.code
    paths = {
        "html": run_dir / files.LOCUST_HTML,
        "csv": run_dir / f"{files.LOCUST_PREFIX}_stats.csv",
        "summary": run_dir / files.SUMMARY,
        "errors": run_dir / files.ERRORS,
        **report.write_pictures(
            run_dir,
            figures.windows,
            figures.window,
            files.read_json(run_dir / files.LAGS, {}) or {},
            created_at=tickets_so_far(created),
            trend_percentile=slo.trend_percentile,
        ),
    }
    if integrity is not None:
        paths["readback"] = run_dir / files.READBACK
    summary: dict[str, Any] = {
        "run_id": plan.run_id,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": settings.base_url,
        "sink": plan.sink_url,
        "model": o.model,
        "options": o.to_json(),
        "rate_plan": rate_plan,
        "requests": {
            "total": figures.requests,
            "failures": figures.failed,
            "server_errors": figures.server_errors,
            "transport_failures": figures.transport_failures,
            "bad_bodies": figures.bad_bodies,
            "rate_limited": sum(figures.rate_limited.values()),
            "duration_s": round(figures.duration, 2),
            "per_second": round(figures.rps, 1),
            "in_flight": in_flight,
        },
        "latency": "HDR histograms (3 significant digits) per endpoint, merged over every load process; "
        "each figure is at most 0.1% above the true value",
        "endpoints": {
            k: {**dataclasses.asdict(v), "failures_by_kind": figures.failures.get(k, {})}
            for k, v in sorted(figures.endpoints.items())
        },
        "errors": [_error_entry(e, redactor) for e in figures.errors],
        "trend": [t.as_dict() for t in trends],
        "open_model": counts if o.model == "open" else None,
        "webhooks": accounting,
        "integrity": integrity.as_dict() if integrity else None,
        "slo": {
            "config": slo.to_json(),
            "rows": [r.as_dict() for r in rows],
            "breached": [r.slo for r in failed],
        },
        "exit_code": exit_code,
        "verdict_reason": verdict.reason,
        "locust_exit_code": child_code,
        "files": {k: str(v) for k, v in paths.items()},
    }
    # Belt and braces: nothing in the summary should hold a secret.
    text = redactor.text(json.dumps(summary, indent=2, sort_keys=True, default=str))
    (run_dir / files.SUMMARY).write_text(text + "\n", encoding="utf-8")
    report.print_slo_table(rows, console, redactor)
    said = (
        "[green]passed[/]"
        if exit_code == EXIT_PASS
        else f"[bold red]failed[/] ({', '.join(r.slo for r in failed) or 'locust error'})"
        if exit_code == EXIT_BREACH
        else f"[bold magenta]not judged[/] ({verdict.reason})"
    )
    console.print(
        f"load: {figures.requests} requests at {figures.rps:.1f}/s, {said}; report: {run_dir}",
        highlight=False,
    )
    return LoadResult(exit_code, rows, summary, run_dir, paths)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _error_entry(entry: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    out = {k: entry.get(k) for k in ("endpoint", "kind", "family", "count", "sample", "detail")}
    out["first_at"], out["last_at"] = _when(entry["first_at"]), _when(entry["last_at"])
    out["detail"] = redactor.text(str(out.get("detail") or ""))
    out["sample"] = redactor.text(str(out.get("sample") or ""))
    return out


def _describe(entry: dict[str, Any] | None, redactor: Redactor) -> str:
    if entry is None:
        return ""
    detail = f" ({entry['detail']})" if entry.get("detail") else ""
    text = (
        f"{entry['kind']} x{entry['count']} on {entry['endpoint']}, first at "
        f"{_when(entry['first_at'])}, last at {_when(entry['last_at'])}{detail}; "
        f"reproduce: {entry.get('sample') or '-'}"
    )
    return redactor.text(text)


def _error_figures(figures: stats.RunFigures, redactor: Redactor) -> ErrorFigures:
    def first(family: str | None) -> dict[str, Any] | None:
        chosen = [e for e in figures.errors if family is None or e.get("family") == family]
        if family is None:
            return max(chosen, key=lambda e: e["count"], default=None)
        return min(chosen, key=lambda e: e["first_at"], default=None)

    return ErrorFigures(
        server=figures.server_errors,
        transport=figures.transport_failures,
        body=figures.bad_bodies,
        first_server=_describe(first(SERVER), redactor),
        first_transport=_describe(first(TRANSPORT), redactor),
        first_body=_describe(first(BODY), redactor),
        first_any=_describe(first(None), redactor),
    )


def _readback_detail(result: IntegrityResult) -> dict[str, Any]:
    """Every problem the read-back found (the summary keeps a sample)."""
    return {
        **result.as_dict(),
        "lost": result.lost_tickets + result.lost_messages,
        "mismatches": result.mismatches,
        "order": result.order,
    }


def _unreachable(settings: Settings, requests: int, failures: int) -> str | None:
    """When every request failed: the one line if the target cannot be reached now, else None."""
    if requests == 0 or failures < requests:
        return None
    try:
        probe_deployment(settings)
    except TargetError as exc:
        return str(exc)
    return None


def _integrity_figures(result: IntegrityResult | None) -> IntegrityFigures | None:
    if result is None:
        return None
    problem = result.mismatches[0] if result.mismatches else ""
    if result.duplicates and not problem:
        number, ids = next(iter(sorted(result.duplicates.items())))
        problem = f"ticket_number {number} was given to {len(ids)} tickets: {', '.join(ids[:3])}"
    lost = (result.lost_tickets + result.lost_messages)[:1]
    return IntegrityFigures(
        tickets=result.tickets,
        duplicate_numbers=len(result.duplicates),
        readback_checked=result.checked,
        readback_mismatches=len(result.mismatches),
        first_problem=problem,
        messages=result.messages,
        messages_checked=result.messages_checked,
        lost=result.lost,
        first_lost=lost[0] if lost else "",
        order_violations=len(result.order),
        ordered_pairs=result.ordered_pairs,
        first_order=result.order[0] if result.order else "",
        unread_reason=result.unread_reason if result.unread else "",
    )


def _webhook_figures(accounting: Any) -> WebhookFigures | None:
    if not isinstance(accounting, dict) or "expected" not in accounting:
        return None
    lag = accounting.get("lag_ms") or {}
    return WebhookFigures(
        expected=int(accounting["expected"]),
        delivered=int(accounting["delivered"]),
        lost=int(accounting["lost"]),
        double_fires=int(accounting["double_fires"]),
        lag_p95_ms=lag.get("p95"),
        lag_p99_ms=lag.get("p99"),
        lag_p50_ms=lag.get("p50"),
        lag_max_ms=lag.get("max"),
        late=int(accounting.get("late") or 0),
        late_after_ms=accounting.get("late_after_ms"),
        payload_mismatches=int(accounting.get("payload_mismatches") or 0),
        first_payload_problem=next(iter(accounting.get("payload_sample") or []), ""),
    )


def _integrity(
    settings: Settings,
    plan: ChildPlan,
    created: list[dict[str, Any]],
    redactor: Redactor,
    slo: SloConfig,
) -> IntegrityResult | None:
    if not slo.integrity or not created:
        return None
    assert settings.base_url is not None
    return read_back(
        settings.base_url,
        settings.api_keys,
        settings.rate_limit,
        created,
        limit=plan.options.readback_sample,
        budget=plan.options.readback_seconds,
        timeout=settings.request_timeout,
        redactor=redactor,
        verify=tls.client_context(settings.ca_bundle),
    )
