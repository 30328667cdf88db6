"""Reference deployment: GET and POST at fixed arrival rates, and webhook lag at fixed create rates.

The embedded reference deployment (no rate limit, so the server and not the limiter is
measured) with its webhook endpoint pointing at our sink, both child processes on loopback.
An open-model driver (asyncio, raw HTTP/1.1 keep-alive, latency from each request's intended
send time) sends on a timetable; a step passes when it achieves >= 98% of the asked-for rate
with no errors and p99 <= 100 ms ("acceptable latency"). GET is half ``GET /tickets`` (20 newest)
and half ``GET /tickets/{id}``. Webhook lag = the sink's receive wall time - the wall time the
create's 201 reached the client (as ``load/`` accounts it).

    .venv/bin/python -m bench.reference [--seconds 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

import httpx

from bench._common import (
    OpenRun,
    cpu_seconds,
    fmt,
    http_request,
    machine_line,
    open_model,
    percentile,
    run_async,
    summary_ms,
    table,
    title,
    verdict,
)

GET_TARGET, POST_TARGET, LAG_TARGET_MS = 1000.0, 300.0, 250.0
ACCEPT_P99_MS, ACCEPT_SHARE = 100.0, 0.98


def _create_body(k: int) -> bytes:
    return json.dumps(
        {
            "subject": f"Bench ticket {k}: cannot log in",
            "description": "Created by bench/reference.py.",
            "customer_email": f"bench-{k % 500}@example.com",
            "customer_name": "Bench Customer",
        }
    ).encode()


def step(
    port: int, make: Any, rate: float, seconds: float, pid: int, *, keep_body: bool = False
) -> tuple[OpenRun, float]:
    """One open-model step; also the server's CPU share during it."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    result = run_async(open_model(port, make, rate, seconds, keep_body=keep_body))
    share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    return result, share


def figures(kind: str, run: OpenRun, share: float) -> dict[str, Any]:
    lat = summary_ms(s.latency for s in run.samples)
    achieved_share = len(run.ok) / max(1, int(run.rate * run.duration))
    ok = run.errors == 0 and achieved_share >= ACCEPT_SHARE and lat["p99"] <= ACCEPT_P99_MS
    return {
        "kind": kind,
        "asked": run.rate,
        "achieved": run.achieved,
        "ratio": run.achieved / run.rate,
        "errors": run.errors,
        "server_cpu": share,
        "acceptable": ok,
        "ok": len(run.ok),
        **lat,
    }


def _sink(sink_url: str, token: str | None) -> httpx.Client:
    """A client of the sink's query API (the embedded sink wants its token)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.Client(base_url=sink_url, trust_env=False, timeout=30, headers=headers)


def drain(sink_url: str, expected: int, timeout: float, token: str | None = None) -> float:
    """Seconds until the sink holds ``expected`` valid ``ticket.created`` deliveries (deadline)."""
    started = time.monotonic()
    with _sink(sink_url, token) as http:
        while time.monotonic() - started < timeout:
            stats = http.get("/_sink/stats").json()
            if stats["by_event_type"].get("ticket.created", 0) >= expected:
                return time.monotonic() - started
            time.sleep(0.1)
    return math.nan


def wait_for_sink(
    sink_url: str, since: int, ids: set[str], timeout: float, token: str | None = None
) -> dict[str, float]:
    """ticket_id -> receive wall time of its first valid ``ticket.created`` delivery."""
    got: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    with _sink(sink_url, token) as http:
        while True:
            page = http.get(
                "/_sink/events",
                params={"since": str(since), "limit": "10000", "event_type": "ticket.created"},
            ).json()["events"]
            for e in page:
                since = max(since, e["seq"])
                tid = e.get("ticket_id")
                if e["verdict"] == "valid" and tid in ids and tid not in got:
                    got[tid] = e["received_at"]
            if len(page) == 10000:
                continue
            if ids <= got.keys() or time.monotonic() > deadline:
                return got
            time.sleep(0.2)


def run(get_rates: list[float], post_rates: list[float], lag_rates: list[float], seconds: float) -> dict[str, Any]:  # fmt: skip
    from tixallo_qa.core.settings import Settings
    from tixallo_qa.target import Target

    results: dict[str, Any] = {"steps": [], "lag": [], "seconds": seconds}
    embedded = Target.start(Settings(), rate_limit=0, pool_size=1)
    try:
        s = embedded.settings
        assert s.base_url is not None
        reference = embedded.children[-1]
        pid, port = reference.pid, reference.port
        auth = {"Authorization": f"Bearer {s.api_keys[0]}"}
        post_headers = {**auth, "Content-Type": "application/json"}
        with httpx.Client(base_url=s.base_url, headers=auth, trust_env=False) as api:
            ids = [
                api.post("/tickets", json=json.loads(_create_body(k))).json()["data"]["id"]
                for k in range(50)
            ]
        gets = [
            http_request("GET", "/api/v1/tickets?limit=20", port=port, headers=auth),
            *(http_request("GET", f"/api/v1/tickets/{i}", port=port, headers=auth) for i in ids),
        ]

        def get(k: int) -> bytes:
            return gets[0] if k % 2 == 0 else gets[1 + (k // 2) % len(ids)]

        def post(k: int) -> bytes:
            return http_request(
                "POST", "/api/v1/tickets", port=port, body=_create_body(k), headers=post_headers
            )

        # Warm-up (imports, caches, the SQLite pages), not measured.
        run_async(open_model(port, get, 300, 1.0))
        sink_url = s.sink_url
        for rate in get_rates:
            results["steps"].append(figures("GET", *step(port, get, rate, seconds, pid)))
        for rate in post_rates:
            results["steps"].append(figures("POST", *step(port, post, rate, seconds, pid)))
        created = 50 + sum(f["ok"] for f in results["steps"] if f["kind"] == "POST")
        # Webhooks of the POST steps still queued: how long the dispatcher needs to catch up.
        results["drain_s"] = drain(sink_url, created, timeout=60.0, token=s.sink_token)
        for rate in lag_rates:
            with _sink(sink_url, s.sink_token) as http:
                since = int(http.get("/_sink/health").json()["last_seq"])
            made, _share = step(port, post, rate, seconds, pid, keep_body=True)
            acked: dict[str, float] = {}
            for sample in made.ok:
                acked[json.loads(sample.body)["data"]["id"]] = sample.wall_done
            received = wait_for_sink(sink_url, since, set(acked), timeout=15.0, token=s.sink_token)
            lags = [max(0.0, received[t] - acked[t]) for t in acked if t in received]
            results["lag"].append(
                {
                    "rate": rate,
                    "creates": len(acked),
                    "delivered": len(received),
                    "lost": len(acked) - len(received),
                    "p50_ms": percentile(lags, 50) * 1000,
                    "p99_ms": percentile(lags, 99) * 1000,
                    "max_ms": max(lags) * 1000 if lags else math.nan,
                    "create_p99_ms": summary_ms(x.latency for x in made.samples)["p99"],
                }
            )
    finally:
        embedded.stop()
    return results


def report(r: dict[str, Any]) -> None:
    title("Reference deployment")
    print(
        f"Target reference deployment (uvicorn + Starlette + SQLite WAL, rate limit off) and the "
        f"sink as its webhook receiver; {r['seconds']:g} s per step, open model, latency from the "
        f"intended send time. Acceptable = achieved >= {ACCEPT_SHARE:.0%} of asked, no errors, p99 "
        f"<= {ACCEPT_P99_MS:.0f} ms. {machine_line()}.\n"
    )
    rows = []
    for f in r["steps"]:
        rows.append(
            [
                f["kind"],
                fmt(f["asked"]),
                fmt(f["achieved"]),
                fmt(f["ratio"], 2),
                fmt(f["p50"], 1),
                fmt(f["p99"], 1),
                str(f["errors"]),
                fmt(f["server_cpu"] * 100),
                "yes" if f["acceptable"] else "NO",
            ]
        )
    print(
        table(
            ["", "asked /s", "achieved /s", "achieved / asked", "p50 ms", "p99 ms", "errors", "server CPU %", "acceptable"],
            rows,
        )
    )  # fmt: skip
    best = {
        kind: max(
            (f["asked"] for f in r["steps"] if f["kind"] == kind and f["acceptable"]),
            default=0.0,
        )
        for kind in ("GET", "POST")
    }
    print(
        f"\nAfter the POST steps the sink still lacked some of their webhooks: the dispatcher "
        f"needed {r['drain_s']:.1f} s more to deliver them all (the lag steps start after that)."
    )
    print()
    lag_rows = [
        [
            f"webhook lag at {f['rate']:g} creates/s",
            f"p50 {fmt(f['p50_ms'], 1)} / p99 {fmt(f['p99_ms'], 1)} ms (lost {f['lost']} of {f['creates']})",
            "p99 < 250 ms" if f["rate"] >= 200 else "(informative)",
            (verdict(f["p99_ms"], LAG_TARGET_MS, higher_is_better=False) if f["lost"] == 0 else "MISSED")
            if f["rate"] >= 200 else "",
        ]
        for f in r["lag"]
    ]  # fmt: skip
    print(
        table(
            ["figure", "value", "target", "verdict"],
            [
                ["highest acceptable GET rate measured", f"{best['GET']:,.0f}/s", ">= 1,000/s", verdict(best["GET"], GET_TARGET)],
                ["highest acceptable POST rate measured", f"{best['POST']:,.0f}/s", ">= 300/s", verdict(best["POST"], POST_TARGET)],
                *lag_rows,
            ],
        )
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reference", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--get-rates", default="500,1000,1500")
    parser.add_argument("--post-rates", default="150,300,450")
    parser.add_argument("--lag-rates", default="50,200")
    parser.add_argument("--seconds", type=float, default=5.0, help="per step")
    parser.add_argument("--quick", action="store_true", help="one short step of each")
    args = parser.parse_args(argv)

    def rates(text: str) -> list[float]:
        return [float(x) for x in text.split(",") if x.strip()]

    get_rates, post_rates, lag_rates = (
        rates(args.get_rates),
        rates(args.post_rates),
        rates(args.lag_rates),
    )
    if args.quick:
        get_rates, post_rates, lag_rates, args.seconds = [200.0], [100.0], [50.0], 2.0
    report(run(get_rates, post_rates, lag_rates, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
