"""``tixallo-qa load``: a bounded load run with SLO gates and webhook accounting (locust in a child)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.core.exitcodes import epilog
    from tixallo_qa.core.settings import add_arguments as setting_arguments

    parser.epilog = epilog()

    run = parser.add_argument_group("the run")
    run.add_argument(
        "--duration",
        default=None,
        help="how long the load runs: 30, 30s, 2m (default 15s; at most 1h)",
    )
    run.add_argument(
        "--config",
        metavar="PATH",
        help="TOML or JSON file with [scenario] options and [slo] thresholds",
    )
    # --report-dir (TIXALLO_REPORT_DIR) is the parent folder; --run-dir names the run folder itself.
    run.add_argument(
        "--run-dir",
        metavar="DIR",
        help="exact run folder (default <--report-dir>/load-<timestamp>)",
    )
    run.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a target that is not on loopback (explicit opt-in)",
    )
    run.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a reference-deployment fault (embedded target only; repeatable)",
    )
    run.add_argument(
        "--processes", type=int, help="load processes on this machine (keys are split between them)"
    )
    run.add_argument(
        "--quiet", action="store_true", help="print only the SLO table and the verdict line"
    )
    run.add_argument("--json", action="store_true", help="print summary.json to stdout")
    model = parser.add_argument_group("load model")
    model.add_argument("--users", type=int, help="closed model: concurrent users (default 20)")
    model.add_argument("--spawn-rate", type=float, help="closed model: users started per second")
    model.add_argument(
        "--think-time",
        metavar="MIN:MAX",
        help="closed model: seconds a user waits between requests (default 0.05:0.25)",
    )
    model.add_argument(
        "--rate", type=float, help="open model: requests started per second, on a timetable"
    )
    model.add_argument(
        "--ramp-to", type=float, help="open model: ramp the rate linearly to this by the end"
    )
    model.add_argument(
        "--max-in-flight",
        type=int,
        help="open model: requests in flight per process before new ones are dropped (default 200)",
    )
    model.add_argument(
        "--late-threshold",
        type=float,
        help="open model: seconds after its intended start a request counts as late (default 0.05)",
    )
    model.add_argument(
        "--user-weights", metavar="integrator=1,agent=1", help="mix of the two user types"
    )
    model.add_argument(
        "--task-weights",
        metavar="create=3,message=2,list=2,get=3",
        help="mix of each user type's tasks",
    )
    model.add_argument(
        "--measure-limiter",
        action="store_true",
        help="drive keys past the rate limit on purpose (429s are the point)",
    )
    model.add_argument(
        "--no-webhooks", action="store_true", help="skip webhook accounting (no sink needed)"
    )
    model.add_argument(
        "--burst-size",
        type=int,
        help="closed model: writes sent at the same instant in each burst, 0 = none (default 12)",
    )
    model.add_argument(
        "--burst-every", type=float, help="closed model: seconds between bursts (default 1)"
    )
    model.add_argument(
        "--readback-sample",
        type=int,
        help="created tickets read back after the run, each with its messages (default: all)",
    )
    model.add_argument(
        "--readback-seconds",
        type=float,
        help="how long the read-back may wait for key budget on a rate-limited target (default 30)",
    )
    hunt = parser.add_argument_group("find the capacity")
    hunt.add_argument(
        "--find-capacity",
        action="store_true",
        help="drive the open model at rising rates (doubling, then bisection) and report the highest "
        "rate at which every SLO held; --duration is then the whole search (default 2m)",
    )
    hunt.add_argument(
        "--max-rate",
        type=float,
        help="with --find-capacity: the highest rate to try, requests per second (default 1000; "
        "never more than the key pool allows)",
    )
    hunt.add_argument(
        "--step-duration",
        default=None,
        help="with --find-capacity: length of each constant-rate step (default 6s)",
    )
    gates = parser.add_argument_group("SLO gates (override the config file)")
    gates.add_argument("--slo-p95-ms", type=float, help="p95 latency per endpoint (default 300)")
    gates.add_argument("--slo-p99-ms", type=float, help="p99 latency per endpoint (default 800)")
    gates.add_argument(
        "--slo-error-ratio", type=float, help="failed / answered API requests (default 0.001)"
    )
    gates.add_argument(
        "--slo-webhook-lag-p95-ms", type=float, help="webhook delivery lag p95 (default 1000)"
    )
    gates.add_argument(
        "--slo-webhook-lag-p99-ms", type=float, help="webhook delivery lag p99 (default 2000)"
    )
    gates.add_argument(
        "--slo-webhook-late",
        type=int,
        help="webhooks allowed to arrive later than TIXALLO_WEBHOOK_TIMEOUT (default 0)",
    )
    gates.add_argument(
        "--slo-webhook-lost", type=int, help="webhooks allowed to be lost (default 0)"
    )
    gates.add_argument(
        "--slo-server-errors", type=int, help="5xx answers allowed (default 0: a 5xx is a defect)"
    )
    gates.add_argument(
        "--slo-bad-bodies",
        type=int,
        help="2xx answers not as documented allowed (default 0: not JSON data, a create naming "
        "no id, a read by id answering another ticket)",
    )
    gates.add_argument(
        "--slo-transport-failures",
        type=int,
        help="resets, closes without an answer and timeouts allowed (default 0 on a loopback "
        "target; elsewhere they count only in the error ratio)",
    )
    gates.add_argument(
        "--slo-trend-growth-ms",
        type=float,
        help="trend: p75 growth from the first to the last third of the run that fails, together "
        "with --slo-trend-growth-ratio (default 30)",
    )
    gates.add_argument(
        "--slo-trend-growth-ratio",
        type=float,
        help="trend: relative p75 growth that fails, with --slo-trend-growth-ms (default 0.5 = +50%%)",
    )
    gates.add_argument(
        "--slo-double-fires", type=int, help="webhooks allowed to fire twice (default 0)"
    )
    dist = parser.add_argument_group("master/worker across machines")
    dist.add_argument(
        "--expect-workers",
        type=int,
        default=0,
        help="run as locust master and wait for this many workers",
    )
    dist.add_argument(
        "--master-bind-port", type=int, help="port the master listens on for workers (default 5557)"
    )
    dist.add_argument(
        "--worker",
        action="store_true",
        help="run as a worker of a 'tixallo-qa load --expect-workers' master",
    )
    dist.add_argument(
        "--master-host", default="127.0.0.1", help="the master's host (with --worker)"
    )
    dist.add_argument(
        "--master-port", type=int, default=5557, help="the master's port (with --worker)"
    )
    setting_arguments(parser)


def _config_file(path: str) -> tuple[dict[str, Any], Any]:
    """([scenario] options, SloConfig) from a TOML or JSON file."""
    from tixallo_qa.load.safety import LoadRefusedError
    from tixallo_qa.load.slo import load_slo_file

    slo = load_slo_file(path)
    if path.endswith(".toml"):
        import tomllib

        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    else:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    scenario = data.get("scenario", {})
    if not isinstance(scenario, dict):
        raise LoadRefusedError(f"config file {path}: [scenario] must be a table")
    return scenario, slo


def build(args: argparse.Namespace) -> tuple[Any, Any]:
    """(LoadOptions, SloConfig) from defaults < config file < flags."""
    from tixallo_qa.load.options import (
        ACTIONS,
        USER_CLASSES,
        LoadOptions,
        parse_think_time,
        parse_weights,
    )
    from tixallo_qa.load.safety import LoadRefusedError, parse_duration
    from tixallo_qa.load.slo import SloConfig

    values: dict[str, Any] = {}
    slo = SloConfig()
    if args.config:
        scenario, slo = _config_file(args.config)
        known = set(LoadOptions.__dataclass_fields__)
        unknown = set(scenario) - known
        if unknown:
            raise LoadRefusedError(
                f"config file {args.config}: unknown [scenario] option(s) {', '.join(sorted(unknown))}"
            )
        values.update(scenario)
        if "duration" in values:
            values["duration"] = parse_duration(values["duration"])
    flags = {
        "users": args.users, "spawn_rate": args.spawn_rate, "rate": args.rate, "ramp_to": args.ramp_to,
        "max_in_flight": args.max_in_flight, "late_threshold": args.late_threshold,
        "processes": args.processes, "readback_sample": args.readback_sample,
        "readback_seconds": args.readback_seconds, "burst_size": args.burst_size,
        "burst_every": args.burst_every,
    }  # fmt: skip
    values.update({k: v for k, v in flags.items() if v is not None})
    if args.duration is not None:
        values["duration"] = parse_duration(args.duration)
    if args.think_time:
        values["think_min"], values["think_max"] = parse_think_time(args.think_time)
    if args.user_weights:
        values["user_weights"] = parse_weights(args.user_weights, USER_CLASSES, "--user-weights")
    if args.task_weights:
        all_actions = tuple(a for acts in ACTIONS.values() for a in acts)
        values["task_weights"] = {
            **LoadOptions().task_weights,
            **parse_weights(args.task_weights, all_actions, "--task-weights"),
        }
    if args.measure_limiter:
        values["measure_limiter"] = True
    if args.no_webhooks:
        values["webhooks"] = False
    if values.get("rate") is not None and "model" not in values:
        values["model"] = "open"
    slo = slo.replace(
        p95_ms=args.slo_p95_ms,
        p99_ms=args.slo_p99_ms,
        max_error_ratio=args.slo_error_ratio,
        webhook_lag_p95_ms=args.slo_webhook_lag_p95_ms,
        webhook_lag_p99_ms=args.slo_webhook_lag_p99_ms,
        max_webhook_late=args.slo_webhook_late,
        max_webhook_lost=args.slo_webhook_lost,
        max_double_fires=args.slo_double_fires,
        max_server_errors=args.slo_server_errors,
        max_bad_bodies=args.slo_bad_bodies,
        max_transport_failures=args.slo_transport_failures,
        trend_max_growth_ms=args.slo_trend_growth_ms,
        trend_max_growth_ratio=args.slo_trend_growth_ratio,
    )
    return LoadOptions(**values), slo


def _worker(args: argparse.Namespace) -> int:
    """A locust worker for a remote master: same scenarios, this machine's keys (from TIXALLO_API_KEY)."""
    import os
    import subprocess

    from tixallo_qa.core.settings import from_args
    from tixallo_qa.load.runner import LOCUSTFILE

    settings = from_args(args)
    if not settings.api_keys:
        print(
            "tixallo-qa load --worker: set TIXALLO_API_KEY (this worker's slice of the key pool)",
            file=sys.stderr,
        )
        return 2
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--worker",
        "--master-host",
        args.master_host,
        "--master-port",
        str(args.master_port),
    ]
    if args.processes and args.processes > 1:
        cmd += ["--processes", str(args.processes)]
    env = {**os.environ, **settings.to_env()}
    return subprocess.call(cmd, env=env)


def _find_capacity(args: argparse.Namespace, console: Any) -> int:
    """``--find-capacity``: the search, its table and verdict; exit 0 when some rate held."""
    from tixallo_qa.core.settings import from_args
    from tixallo_qa.load.capacity import (
        DEFAULT_BUDGET,
        DEFAULT_MAX_RATE,
        DEFAULT_STEP,
        find_capacity,
    )
    from tixallo_qa.load.safety import LoadRefusedError, parse_duration

    if args.expect_workers:
        raise LoadRefusedError("--find-capacity runs its own load processes: use --processes")
    if args.rate is not None or args.ramp_to is not None:
        raise LoadRefusedError(
            "--find-capacity chooses the rates itself: use --max-rate, not --rate"
        )
    budget = parse_duration(args.duration) if args.duration is not None else DEFAULT_BUDGET
    step = parse_duration(args.step_duration) if args.step_duration else DEFAULT_STEP
    # The scenario mix and gates come from the flags and config file, as for a normal run.
    duration, args.duration = args.duration, None
    try:
        options, slo = build(args)
    finally:
        args.duration = duration
    result = find_capacity(
        from_args(args),
        options,
        slo=slo,
        max_rate=args.max_rate if args.max_rate is not None else DEFAULT_MAX_RATE,
        budget=budget,
        step=step,
        report_dir=args.run_dir,
        allow_remote=args.allow_remote,
        faults=args.fault,
        console=console,
        quiet=args.quiet,
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, sort_keys=True, default=str))
    return result.exit_code


def run(args: argparse.Namespace) -> int:
    from tixallo_qa.core.settings import from_args
    from tixallo_qa.load.report import make_console
    from tixallo_qa.load.runner import EXIT_REFUSED, run_load
    from tixallo_qa.load.safety import LoadRefusedError
    from tixallo_qa.target import TargetError

    if args.worker:
        return _worker(args)
    console = make_console()
    try:
        if args.find_capacity:
            return _find_capacity(args, console)
        options, slo = build(args)
        result = run_load(
            from_args(args),
            options,
            slo=slo,
            report_dir=args.run_dir,
            allow_remote=args.allow_remote,
            faults=args.fault,
            console=console,
            quiet=args.quiet,
            distributed_workers=args.expect_workers,
            master_bind_port=args.master_bind_port,
        )
    except LoadRefusedError as exc:
        print(f"tixallo-qa load: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except TargetError as exc:
        print(f"tixallo-qa load: {exc}", file=sys.stderr)
        return exc.code
    if args.json:
        print(json.dumps(result.summary, indent=2, sort_keys=True, default=str))
    return result.exit_code
