"""Open-model accuracy: achieved vs asked-for rate, and reported vs true p99 on a server with planted stalls.

Rate: tixallo-qa's open model against the trivial endpoint at several asked-for rates.
Stalls: ``bench._servers api --stall-period P --stall-for D`` freezes its whole event loop for D
seconds every P seconds (on wall-clock multiples of P) and logs each stall. A client sending on
the timetable waits, for a request due at t inside a stall [s, e), until e: the true latency
is ``max(0, e - t)`` plus the normal service time. The "true p99" is computed from the stall
log and the timetable; an independent asyncio driver (raw HTTP/1.1, latency from the intended
send time) measures it too. Beside them: tixallo-qa's open model, and locust's closed model
(``constant_pacing``, as many users as a person would pick for that rate), which hides the stall.

    .venv/bin/python -m bench.open_model [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench._common import (
    fmt,
    http_request,
    machine_line,
    median,
    open_model,
    percentile,
    run_async,
    start_child,
    table,
    title,
    verdict,
)
from bench.loadgen import READS, run_locust, run_ours

RATIO_LOW, RATIO_HIGH = 0.8, 1.25  # reported p99 / true p99 counted as accurate
RATE_TARGET = 0.95


def stalls_of(port: int) -> list[tuple[float, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stalls", timeout=5) as r:
        return [(float(s), float(e)) for s, e in json.load(r)["stalls"]]


def true_latencies(
    start: float, rate: float, seconds: float, stalls: list[tuple[float, float]], base: float
) -> list[float]:
    """What a client sending at ``rate`` from wall time ``start`` waits, given the stall log."""
    out = []
    for k in range(int(rate * seconds)):
        t = start + k / rate
        wait = 0.0
        for s, e in stalls:
            if s <= t < e:
                wait = e - t
                break
        out.append(wait + base)
    return out


def run(
    rates: list[float], seconds: float, stall_rate: float, stall_seconds: float, period: float,
    stall: float, users: int,
) -> dict[str, Any]:  # fmt: skip
    results: dict[str, Any] = {"rates": []}
    with tempfile.TemporaryDirectory(prefix="bench-open-") as tmp:
        workdir = Path(tmp)
        with start_child("api", ["bench._servers", "api"]) as api:
            base = f"http://127.0.0.1:{api.port}/api/v1"
            for rate in rates:
                f = run_ours(
                    base, workdir, f"rate-{rate:g}", model="open", rate=rate,
                    duration=seconds, max_in_flight=200, **READS,
                )  # fmt: skip
                results["rates"].append({"asked": rate, **f})
        argv = ["bench._servers", "api", "--stall-period", str(period), "--stall-for", str(stall)]
        with start_child("stalling-api", argv) as api:
            base = f"http://127.0.0.1:{api.port}/api/v1"
            port = api.port
            request = http_request("GET", "/api/v1/tickets", port=port)
            import time

            wall0 = time.time() + 0.05
            driven = run_async(open_model(port, lambda k: request, stall_rate, stall_seconds))
            stalls = stalls_of(port)
            service = median(s.service for s in driven.samples if s.status == 200)
            truth = true_latencies(wall0, stall_rate, stall_seconds, stalls, service)
            results["truth_p99_ms"] = percentile(truth, 99) * 1000
            results["truth_p50_ms"] = percentile(truth, 50) * 1000
            results["stalled_share"] = sum(1 for t in truth if t > service) / len(truth)
            results["independent"] = {
                "p99_ms": percentile([s.latency for s in driven.samples], 99) * 1000,
                "p50_ms": percentile([s.latency for s in driven.samples], 50) * 1000,
                "service_p99_ms": percentile([s.service for s in driven.samples], 99) * 1000,
                "rate": driven.achieved,
                "errors": driven.errors,
            }
            results["ours"] = run_ours(
                base, workdir, "stall-open", model="open", rate=stall_rate,
                duration=stall_seconds, max_in_flight=200, **READS,
            )  # fmt: skip
            results["locust"] = run_locust(
                base, stall_seconds, users, workdir, pacing=users / stall_rate, tag="paced"
            )
            results["stalls_logged"] = len(stalls_of(port))
    results.update(
        stall_rate=stall_rate, stall_seconds=stall_seconds, period=period, stall=stall, users=users
    )
    return results


def report(r: dict[str, Any]) -> None:
    title("Open-model accuracy")
    print(
        f"tixallo-qa's open model (`tixallo-qa load --rate R`), `GET /tickets` on the trivial endpoint. {machine_line()}.\n"
    )
    rows = []
    for f in r["rates"]:
        om = f.get("open_model") or {}
        ratio = f["requests"] / (f["asked"] * r["seconds"]) if f["asked"] else math.nan
        rows.append(
            [
                fmt(f["asked"]),
                fmt(f["requests"] / r["seconds"]),
                fmt(ratio, 3),
                f"{om.get('scheduled', '?')} / {om.get('late', '?')} / {om.get('dropped', '?')}",
                f">= {RATE_TARGET}",
                verdict(ratio, RATE_TARGET),
            ]
        )
    print(
        table(
            ["asked /s", "achieved /s", "achieved / asked", "scheduled / late / dropped", "target", "verdict"],
            rows,
        )
    )  # fmt: skip
    truth = r["truth_p99_ms"]
    print(
        f"\nPlanted stall: the server's event loop freezes {r['stall'] * 1000:.0f} ms every "
        f"{r['period']:g} s ({r['stall'] / r['period']:.0%} of the time); {r['stall_rate']:g} "
        f"requests/s for {r['stall_seconds']:g} s. True p99 from the stall log and the timetable: "
        f"{truth:.0f} ms ({r['stalled_share']:.1%} of requests meet a stall).\n"
    )
    ind, ours, loc = r["independent"], r["ours"], r["locust"]

    def row(name: str, p99: float, p50: float) -> list[str]:
        ratio = p99 / truth if truth else math.nan
        ok = RATIO_LOW <= ratio <= RATIO_HIGH
        return [
            name,
            fmt(p50, 1),
            fmt(p99, 1),
            fmt(ratio, 2),
            "0.8-1.25",
            "met" if ok else "MISSED",
        ]

    print(
        table(
            ["measured by", "p50 ms", "p99 ms", "reported / true p99", "target", "verdict"],
            [
                ["true (stall log + timetable)", fmt(r["truth_p50_ms"], 1), fmt(truth, 1), "1.00", "", ""],
                row("independent asyncio driver, open model", ind["p99_ms"], ind["p50_ms"]),
                row("tixallo-qa load, open model", ours["p99_ms"], ours["p50_ms"]),
                row(f"locust closed model ({r['users']} users, constant_pacing)", loc["p99_ms"], loc["p50_ms"]),
            ],
        )
    )  # fmt: skip
    print(
        f"\n(locust sent {loc['requests']} requests in {r['stall_seconds']:g} s, "
        f"{loc['requests'] / r['stall_seconds']:.0f}/s of the {r['stall_rate']:g}/s asked: the "
        f"requests a stalled closed-model user did not send are the ones its p99 leaves out.)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.open_model", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--rates", default="200,1000,2000", help="asked-for rates, comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0, help="per rate")
    parser.add_argument("--stall-rate", type=float, default=200.0)
    parser.add_argument(
        "--stall-seconds", type=float, default=12.0, help="a multiple of the period"
    )
    parser.add_argument("--period", type=float, default=3.0)
    parser.add_argument("--stall", type=float, default=0.15)
    parser.add_argument("--users", type=int, default=4, help="locust closed-model users")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rates = [float(x) for x in args.rates.split(",") if x.strip()]
    if args.quick:
        rates, args.seconds, args.stall_seconds = [500.0], 4.0, 6.0
    r = run(
        rates,
        args.seconds,
        args.stall_rate,
        args.stall_seconds,
        args.period,
        args.stall,
        args.users,
    )
    r["seconds"] = args.seconds
    report(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
