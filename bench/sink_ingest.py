"""Webhook sink ingest: deliveries/s with zero loss and p99 time-to-record, beside minimal receivers.

Three servers run side by side, each in its own process on loopback: the sink (durable: it
answers only once the delivery is committed to SQLite, so its answer latency is the
time-to-record), a bare ASGI callable on uvicorn that reads and discards (the same HTTP stack as
the sink's delivery path), and uvicorn + a Starlette route that reads and discards (the minimal
receiver a person would write). One load generator (raw HTTP/1.1 over keep-alive sockets,
signed bodies) drives each in turn, in interleaved rounds, and ratios are taken per round, so
drift of a shared machine hits all three alike. Then a waiting client's wake-up latency: from a
delivery's answer to the return of a long-poll that was waiting for it.

    .venv/bin/python -m bench.sink_ingest [--deliveries 10000] [--rounds 3] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx

from bench._common import (
    Child,
    fmt,
    machine_line,
    median,
    percentile,
    run_async,
    start_child,
    table,
    title,
    verdict,
)
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.testing import (
    TEST_SECRET,
    post_concurrently,
    raw_request,
    read_status,
    sign_headers,
    ticket_created,
)

PATH = "/webhooks/tixallo"
SIGNING = SinkConfig(secret=TEST_SECRET)
TARGET_RATE = 2000.0
TARGET_RATIO = 0.5
TARGET_WAKE = 0.050
SERVERS = ("sink", "raw", "starlette")
LABELS = {
    "sink": "webhook sink (verify, validate, SQLite WAL commit)",
    "raw": "bare ASGI on uvicorn (read, discard)",
    "starlette": "uvicorn + Starlette route (read, discard)",
}


def signed_requests(n: int, port: int) -> list[bytes]:
    """``n`` signed ``ticket.created`` deliveries as raw HTTP requests (signed now: fresh timestamps)."""
    url = f"http://127.0.0.1:{port}{PATH}"
    out = []
    for _ in range(n):
        body = json.dumps(ticket_created()).encode()
        out.append(raw_request(url, body, sign_headers(SIGNING, body, event_type="ticket.created")))
    return out


def blast(port: int, requests: list[bytes], connections: int) -> dict[str, Any]:
    """Send every request at once over ``connections`` keep-alive sockets; rate and latencies."""
    elapsed, latencies, statuses = run_async(
        post_concurrently("127.0.0.1", port, requests, connections)
    )
    latencies.sort()
    return {
        "rate": len(requests) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "statuses": dict(Counter(statuses)),
    }


async def wake_latency(url: str, port: int, rounds: int) -> list[float]:
    """Seconds from a delivery's answer (it is recorded) to the return of a long-poll waiting for it."""
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(rounds):
            request = signed_requests(1, port)[0]
            ticket_id = json.loads(request.split(b"\r\n\r\n", 1)[1])["ticket_id"]
            woke: list[float] = []
            parked = asyncio.Event()

            async def wait(
                tid: str = ticket_id, sink: list[float] = woke, parked: asyncio.Event = parked
            ) -> None:
                parked.set()
                r = await http.get("/_sink/wait", params={"ticket_id": tid, "timeout": "10"})
                sink.append(time.perf_counter())
                assert r.json()["satisfied"], r.text

            task = asyncio.create_task(wait())
            await parked.wait()
            await asyncio.sleep(0.05)  # the long-poll is parked on the server before the delivery
            writer.write(request)
            await read_status(reader)
            answered = time.perf_counter()
            await task
            out.append(woke[0] - answered)
        writer.close()
    return out


def _start(kind: str, db: str) -> contextlib.AbstractContextManager[Child]:
    if kind == "sink":
        return start_child(
            kind,
            ["tixallo_qa.webhook_sink", "--port", "0", "--db", f"{db}.{kind}", "--fresh"],
            env={"TIXALLO_WEBHOOK_SECRET": TEST_SECRET},
        )
    return start_child(kind, ["bench._servers", kind])


def run(deliveries: int, rounds: int, connections: int, wake_rounds: int) -> dict[str, Any]:
    """Start the servers, run interleaved rounds, check the sink lost nothing, time wake-ups."""
    import tempfile

    servers = SERVERS
    results: dict[str, Any] = {
        "servers": servers,
        "deliveries": deliveries,
        "rounds": rounds,
        "connections": connections,
        "per_round": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-sink-") as tmp, contextlib.ExitStack() as stack:
        children = {
            kind: stack.enter_context(_start(kind, f"{tmp}/sink.sqlite3")) for kind in servers
        }
        sink = children["sink"]
        # Warm-up: imports, the spec, validators, SQLite pages; then forget it.
        for kind in servers:
            blast(children[kind].port, signed_requests(500, children[kind].port), connections)
        httpx.post(sink.info["url"] + "/_sink/clear", trust_env=False).raise_for_status()
        sent_to_sink = 0
        for _ in range(rounds):
            row: dict[str, Any] = {}
            for kind in servers:
                port = children[kind].port
                requests = signed_requests(deliveries, port)
                row[kind] = blast(port, requests, connections)
                if kind == "sink":
                    sent_to_sink += len(requests)
            results["per_round"].append(row)
        stats = httpx.get(sink.info["url"] + "/_sink/stats", trust_env=False).json()
        wake = sorted(run_async(wake_latency(sink.info["url"], sink.port, wake_rounds)))
    recorded = stats["by_verdict"].get("valid", 0)
    per_round = results["per_round"]
    for kind in servers:
        results[kind] = {
            "rate": median(r[kind]["rate"] for r in per_round),
            "p50": median(r[kind]["p50"] for r in per_round),
            "p99": median(r[kind]["p99"] for r in per_round),
        }
    results["sink"].update(
        sent=sent_to_sink,
        recorded=recorded,
        lost=sent_to_sink - recorded,
        non_200=sum(n for r in per_round for s, n in r["sink"]["statuses"].items() if s != 200),
    )
    results["ratio_raw"] = median(r["sink"]["rate"] / r["raw"]["rate"] for r in per_round)
    results["ratio_starlette"] = median(
        r["sink"]["rate"] / r["starlette"]["rate"] for r in per_round
    )
    results["wake"] = {
        "p50": median(wake),
        "p99": percentile(wake, 99),
        "max": wake[-1],
        "rounds": wake_rounds,
    }
    return results


def report(r: dict[str, Any]) -> bool:
    """Print the tables; True when every target is met."""
    title("Sink ingest")
    print(
        f"{r['deliveries']} signed `ticket.created` deliveries per server per round, "
        f"{r['rounds']} interleaved rounds, {r['connections']} keep-alive connections; "
        f"medians over rounds. {machine_line()}.\n"
    )
    rows = []
    for kind in r["servers"]:
        f = r[kind]
        rows.append(
            [
                LABELS[kind],
                fmt(f["rate"]),
                fmt(f["p50"] * 1000, 1),
                fmt(f["p99"] * 1000, 1),
            ]
        )
    print(table(["server", "deliveries/s", "p50 ms", "p99 ms (sink: time-to-record)"], rows))
    s, w = r["sink"], r["wake"]
    checks = [
        [
            "sink deliveries/s, zero loss",
            fmt(s["rate"]),
            ">= 2,000",
            verdict(s["rate"], TARGET_RATE),
        ],
        [
            "lost (sent - recorded valid)",
            f"{s['lost']} of {s['sent']}",
            "0",
            "met" if s["lost"] == 0 and s["non_200"] == 0 else "MISSED",
        ],
        [
            "ratio sink / Starlette receiver",
            fmt(r["ratio_starlette"], 2),
            ">= 0.50",
            verdict(r["ratio_starlette"], TARGET_RATIO),
        ],
        [
            "ratio sink / bare ASGI",
            fmt(r["ratio_raw"], 2),
            ">= 0.50",
            verdict(r["ratio_raw"], TARGET_RATIO),
        ],
        [
            f"waiter wake-up p50 / max ({w['rounds']} rounds)",
            f"{w['p50'] * 1000:.1f} / {w['max'] * 1000:.1f} ms",
            "<= 50 ms",
            verdict(w["max"], TARGET_WAKE, higher_is_better=False),
        ],
    ]
    print()
    print(table(["figure", "value", "target", "verdict"], checks))
    return all(c[3] == "met" for c in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sink_ingest", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--deliveries", type=int, default=5_000, help="per server per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wake-rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="1 round of 1,000 (a smoke run)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.deliveries, args.rounds, args.wake_rounds = 1000, 1, 5
    r = run(args.deliveries, args.rounds, args.connections, args.wake_rounds)
    ok = report(r)
    if args.json:
        print(json.dumps(r, indent=2, default=str))
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
