"""Load generator: requests/s per core of tixallo-qa's scenario runner beside raw locust and wrk.

tixallo-qa's runs record every latency into HDR histograms (per endpoint and time window,
merged on the master), count requests in flight and name failures: the per-core figure is
the cost of all of it, beside locust recording only its own statistics.

Every tool hits the same trivial endpoint (``bench._servers api``: ``GET /api/v1/tickets``
answered with a constant body) on loopback. "Per core" is requests per CPU-second of the
generator process itself (from /proc, over the steady middle of the run, start-up excluded),
so a slow shared machine or a busy server changes the achieved rate but hardly the per-core
figure. Then the cost of webhook accounting: the same open-model run of creates with and
without it, the server firing a signed webhook to a sink for each create.

    .venv/bin/python -m bench.loadgen [--seconds 8] [--users 32] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    CpuSampler,
    child_of_me,
    children_cpu,
    fmt,
    locust_history,
    machine_line,
    middle,
    start_child,
    steady_rate_per_cpu,
    table,
    title,
)
from tixallo_qa.load.options import list_path

LOCUSTFILE = Path(__file__).resolve().parent / "_locust_raw.py"
BENCH_KEY = "txk_bench_not_a_secret"


# -- wrk -------------------------------------------------------------------------------------
def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package when missing and we may (root, apt-get)."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing Debian's package (apt-get install -y wrk) ...", flush=True)
    for cmd in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"]):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if shutil.which("wrk"):
            break
    if not shutil.which("wrk"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, seconds: float, connections: int) -> dict[str, Any]:
    """One wrk thread, ``connections`` keep-alive connections, back to back."""
    before = children_cpu()
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    ).stdout
    cpu = children_cpu() - before
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if not m:
        raise RuntimeError(f"wrk printed no totals:\n{out}")
    n = int(m.group(1))
    elapsed = float(m.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[m.group(3)]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = (
        float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        if p99
        else math.nan
    )
    return {
        "rate": n / elapsed,
        "share": cpu / elapsed,
        "per_cpu": n / cpu if cpu > 0 else math.nan,
        "p99_ms": p99_ms,
    }


# -- raw locust ------------------------------------------------------------------------------
def run_locust(
    base_url: str,
    seconds: float,
    users: int,
    workdir: Path,
    *,
    pacing: float | None = None,
    tag: str = "raw",
) -> dict[str, Any]:
    """Plain locust (``bench/_locust_raw.py``), headless, one process."""
    prefix = workdir / f"locust-{tag}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-H", base_url, "-u", str(users), "-r", str(users), "-t", f"{max(1, round(seconds))}s",
        "--csv", str(prefix), "--csv-full-history", "--only-summary",
        "--exit-code-on-error", "0", "--stop-timeout", "2",
    ]  # fmt: skip
    # The request tixallo-qa's load run sends (its list path and a bearer key), so the ratio
    # is the generator's own work, not a longer request line.
    env = {
        **os.environ, "BENCH_PACING": str(pacing or 0),
        "BENCH_PATH": list_path(), "BENCH_KEY": BENCH_KEY,
    }  # fmt: skip
    with (workdir / f"locust-{tag}.log").open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        with CpuSampler(lambda: process.pid) as sampler:
            try:
                process.wait(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    rate, share, per_cpu = steady_rate_per_cpu(
        locust_history(Path(f"{prefix}_stats_history.csv")), sampler
    )
    final = _locust_final(Path(f"{prefix}_stats.csv"))
    return {"rate": rate, "share": share, "per_cpu": per_cpu, **final}


def _locust_final(path: Path) -> dict[str, Any]:
    try:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("Name") == "Aggregated":
                    return {
                        "requests": int(row["Request Count"]),
                        "failures": int(row["Failure Count"]),
                        "p50_ms": float(row["50%"] or "nan"),
                        "p99_ms": float(row["99%"] or "nan"),
                        "max_ms": float(row["Max Response Time"] or "nan"),
                    }
    except OSError:
        pass
    return {"requests": 0, "failures": 0, "p50_ms": math.nan, "p99_ms": math.nan}


# -- tixallo-qa load -------------------------------------------------------------------------
def run_ours(
    base_url: str,
    workdir: Path,
    tag: str,
    *,
    sink: tuple[str, int] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``load.run_load`` against ``base_url`` (no rate limit, one key); steady per-CPU figures."""
    from tixallo_qa.core.settings import Settings
    from tixallo_qa.load import LoadOptions, SloConfig, run_load

    settings = Settings(base_url=base_url, api_keys=(BENCH_KEY,), rate_limit=0)
    if sink is not None:
        settings = settings.replace(sink_host=sink[0], sink_port=sink[1], webhook_timeout=5.0)
    defaults: dict[str, Any] = {"readback_sample": 0, "webhooks": sink is not None}
    run_dir = workdir / f"ours-{tag}"
    started = time.monotonic()
    with CpuSampler(child_of_me("locust")) as sampler:
        result = run_load(
            settings,
            LoadOptions(**{**defaults, **options}),
            slo=SloConfig(),
            report_dir=run_dir,
            quiet=True,
        )
    wall = time.monotonic() - started
    rate, share, per_cpu = steady_rate_per_cpu(
        locust_history(run_dir / "locust_stats_history.csv"), sampler
    )
    summary = result.summary
    endpoints = summary.get("endpoints") or {}
    first: dict[str, Any] = next(iter(endpoints.values()), {})
    return {
        "rate": rate,
        "share": share,
        "per_cpu": per_cpu,
        "wall": wall,
        "requests": (summary.get("requests") or {}).get("total", 0),
        "failures": (summary.get("requests") or {}).get("failures", 0),
        "p50_ms": first.get("p50", math.nan),
        "p99_ms": first.get("p99", math.nan),
        "open_model": summary.get("open_model"),
        "webhooks": summary.get("webhooks"),
        "exit_code": result.exit_code,
        "error": summary.get("error"),
    }


# The same request as raw locust's: no write bursts (they would add creates to a read benchmark).
READS: dict[str, Any] = {
    "user_weights": {"integrator": 0.0, "agent": 1.0},
    "task_weights": {"list": 1.0},
    "burst_size": 0,
}
CREATES: dict[str, Any] = {
    "user_weights": {"integrator": 1.0, "agent": 0.0},
    "task_weights": {"create": 1.0},
    "burst_size": 0,
}


def run(
    seconds: float, users: int, open_rate: float, creates_rate: float, repeats: int = 3
) -> dict[str, Any]:
    from tixallo_qa.webhook_sink.testing import TEST_SECRET

    results: dict[str, Any] = {"seconds": seconds, "users": users}
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        workdir = Path(tmp)
        with start_child("api", ["bench._servers", "api"]) as api:
            base = f"http://127.0.0.1:{api.port}/api/v1"
            wrk = ensure_wrk()
            if wrk:
                results["wrk"] = run_wrk(wrk, base + "/tickets", seconds, users)
            else:
                results["wrk"] = None
            # The closed model beside raw locust flat out, alternated like the open pairs below:
            # one run of each moved by a quarter with whatever else shared the machine.
            closed_pairs = []
            for rep in range(repeats):
                raw = run_locust(base, seconds, users, workdir, tag=f"raw-{rep}")
                closed = run_ours(
                    base, workdir, f"closed-{rep}", model="closed", users=users, think_min=0.0,
                    think_max=0.0, duration=seconds, **READS,
                )  # fmt: skip
                closed_pairs.append((closed["per_cpu"] / raw["per_cpu"], closed, raw))
            closed_pairs.sort(key=lambda p: p[0])
            _, results["closed"], results["locust"] = closed_pairs[len(closed_pairs) // 2]
            results["closed_ratios"] = [p[0] for p in closed_pairs]
            # The open model beside raw locust sending at the same rate (constant_pacing): the
            # cost per request where neither is saturated, alternated because the two share the
            # machine with everything else on it; the median ratio is the figure.
            pairs = []
            for rep in range(repeats):
                paced = run_locust(
                    base, seconds, users, workdir, pacing=users / open_rate, tag=f"paced-{rep}"
                )
                ours = run_ours(
                    base, workdir, f"open-{rep}", model="open", rate=open_rate,
                    duration=seconds, max_in_flight=users, **READS,
                )  # fmt: skip
                pairs.append((ours["per_cpu"] / paced["per_cpu"], ours, paced))
            pairs.sort(key=lambda p: p[0])
            _, results["open"], results["paced"] = pairs[len(pairs) // 2]
            results["open_ratios"] = [p[0] for p in pairs]
        # Webhook accounting: the same open-model creates, with and without it. The server fires
        # a signed ticket.created to a sink for every create in both runs.
        with start_child(
            "sink",
            ["tixallo_qa.webhook_sink", "--port", "0", "--db", str(workdir / "sink.sqlite3")],
            env={"TIXALLO_WEBHOOK_SECRET": TEST_SECRET},
        ) as sink:
            hook = f"http://127.0.0.1:{sink.port}/webhooks/tixallo"
            with start_child(
                "api-hooks",
                ["bench._servers", "api", "--webhook-url", hook],
                env={"TIXALLO_WEBHOOK_SECRET": TEST_SECRET},
            ) as api:
                base = f"http://127.0.0.1:{api.port}/api/v1"
                # Warm-up at the measured rate: the first run after the servers start stalls for
                # seconds (the server's connection to the sink, SQLite's first pages), which
                # would land in whichever of the two measured runs came first.
                run_ours(
                    base,
                    workdir,
                    "creates-warm-up",
                    model="open",
                    rate=creates_rate,
                    duration=3.0,
                    **CREATES,
                )
                common: dict[str, Any] = {
                    "model": "open",
                    "rate": creates_rate,
                    "duration": seconds,
                    **CREATES,
                }
                results["no_accounting"] = run_ours(base, workdir, "creates-plain", **common)
                results["accounting"] = run_ours(
                    base, workdir, "creates-accounted", sink=("127.0.0.1", sink.port), **common
                )
    return results


def _row(name: str, tool: str, f: dict[str, Any] | None, baseline: float) -> list[str]:
    if f is None:
        return [
            name,
            tool,
            "skipped: wrk is not installed and could not be installed",
            "",
            "",
            "",
            "",
        ]
    return [
        name,
        tool,
        fmt(f["rate"]),
        fmt(f["share"] * 100),
        fmt(f["per_cpu"]),
        fmt(f["per_cpu"] / baseline, 2) if baseline else "-",
        fmt(f.get("p99_ms", math.nan), 1),
    ]


def report(r: dict[str, Any]) -> None:
    title("Load generator")
    print(
        f"Same trivial endpoint (`GET /api/v1/tickets`, constant answer, uvicorn raw ASGI), "
        f"{r['seconds']:g} s per tool, {r['users']} users/connections. Per core = requests per "
        f"CPU-second of the generator process, over the steady middle of the run. "
        f"{machine_line()}.\n"
    )
    locust = r["locust"]["per_cpu"]
    rows = [
        _row("wrk 4.2 (Debian `wrk`, C, 1 thread)", "closed", r["wrk"], locust),
        _row("locust FastHttpUser, raw (1 process)", "closed", r["locust"], locust),
        _row("tixallo-qa load, closed model (HDR recording)", "closed", r["closed"], locust),
        _row(
            f"tixallo-qa load, open model at {r['open_asked']:g}/s (HDR recording)",
            "open",
            r["open"],
            locust,
        ),
        _row(
            f"locust FastHttpUser, raw, paced to {r['open_asked']:g}/s (constant_pacing)",
            "closed",
            r["paced"],
            locust,
        ),
    ]
    print(
        table(
            [
                "generator",
                "model",
                "requests/s",
                "CPU %",
                "requests/s per core",
                "per core / raw locust",
                "p99 ms",
            ],
            rows,
        )
    )
    if r.get("closed_ratios"):
        mid, listed = middle(r["closed_ratios"])
        print(
            f"\nClosed model per core / raw locust flat out: **{mid:.2f}** "
            f"(median of {listed}; each pair run back to back; the rows above are the median "
            "pairs)."
        )
    mid, listed = middle(r["open_ratios"])
    print(
        f"Open model per core / raw locust at the same rate: "
        f"**{mid:.2f}** (median of {listed}; "
        "each pair run back to back). Against raw locust sending flat out the open model is "
        "at a fraction of its rate and pays the hub's timer turn per arrival that a saturated "
        "generator amortises; the same-rate ratio is the cost of the model itself."
    )
    a, b = r["accounting"], r["no_accounting"]
    wh = a.get("webhooks") or {}
    print()
    print(
        table(
            ["creates, open model", "requests/s", "CPU %", "requests/s per core", "run wall s"],
            [
                ["without webhook accounting", fmt(b["rate"]), fmt(b["share"] * 100), fmt(b["per_cpu"]), fmt(b["wall"], 1)],
                ["with webhook accounting", fmt(a["rate"]), fmt(a["share"] * 100), fmt(a["per_cpu"]), fmt(a["wall"], 1)],
            ],
        )
    )  # fmt: skip
    cost = 1 - a["per_cpu"] / b["per_cpu"] if b["per_cpu"] else math.nan
    print(
        f"\nWebhook accounting costs {cost * 100:.0f}% of per-core throughput during the run "
        f"(per core with / without = {a['per_cpu'] / b['per_cpu']:.2f}) and "
        f"{a['wall'] - b['wall']:+.1f} s of wall time at the end (the join with the sink); it "
        f"matched {wh.get('delivered', '?')} of {wh.get('expected', '?')} creates to their "
        f"webhooks (lost {wh.get('lost', '?')})."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per tool")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--open-rate", type=float, default=2000.0)
    parser.add_argument("--creates-rate", type=float, default=300.0)
    parser.add_argument(
        "--repeats", type=int, default=7, help="closed / raw and open-model / paced pairs"
    )
    parser.add_argument("--quick", action="store_true", help="4 s per tool, one pair")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 4.0, 1
    r = run(args.seconds, args.users, args.open_rate, args.creates_rate, max(1, args.repeats))
    r["open_asked"] = args.open_rate
    report(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
