"""Webhook sink ingest: deliveries/s with zero loss and p99 time-to-record, against a minimal server.

Both servers run in their own process on loopback; one load generator (raw HTTP/1.1 over
keep-alive connections, pre-signed bodies) drives each the same way. For the sink an answer
means "committed to SQLite", so its answer latency is the time-to-record. Then a waiting
client's wake-up latency: time from the delivery's answer to the long-poll's return.

    .venv/bin/python -m bench.sink_ingest [--deliveries 20000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvloop

from webhook_sink.config import SinkConfig
from webhook_sink.store import percentile
from webhook_sink.testing import (
    TEST_SECRET,
    post_concurrently,
    raw_request,
    read_status,
    sign_headers,
    ticket_created,
)

PATH = "/webhooks/tixallo"
SIGNING = SinkConfig(secret=TEST_SECRET)


# -- the minimal server: accept and discard ------------------------------------------------
async def _minimal_app(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"12")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


def serve_minimal(ready_file: str) -> None:
    """A bare uvicorn app (uvloop, httptools) that reads each body and answers 200."""
    import uvicorn

    from webhook_sink.server import bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            _minimal_app,
            loop="uvloop",
            http="httptools",
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
    )

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        Path(ready_file).write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "port": port}))
        await task

    uvloop.run(main())


# -- load generator --------------------------------------------------------------------------
def _requests(n: int, port: int) -> list[bytes]:
    url = f"http://127.0.0.1:{port}{PATH}"
    out = []
    for _ in range(n):
        body = json.dumps(ticket_created()).encode()
        out.append(raw_request(url, body, sign_headers(SIGNING, body, event_type="ticket.created")))
    return out


def blast(
    port: int, requests: list[bytes], connections: int
) -> tuple[float, list[float], dict[int, int]]:
    """Send every request at once over ``connections`` keep-alive sockets: elapsed, latencies, statuses."""
    elapsed, latencies, statuses = uvloop.run(
        post_concurrently("127.0.0.1", port, requests, connections)
    )
    return elapsed, latencies, dict(Counter(statuses))


def _start(cmd: list[str], ready: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {**os.environ, "TIXALLO_WEBHOOK_SECRET": TEST_SECRET}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start: {cmd}")
        time.sleep(0.02)
    return proc, json.loads(ready.read_text())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wake_latency(url: str, port: int, rounds: int) -> list[float]:
    """Seconds from a delivery's answer (it is recorded) to the return of a long-poll waiting for it."""
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(rounds):
            request = _requests(1, port)[0]
            ticket_id = json.loads(request.split(b"\r\n\r\n", 1)[1])["ticket_id"]
            woke: list[float] = []

            async def wait(tid: str = ticket_id, sink: list[float] = woke) -> None:
                r = await http.get("/_sink/wait", params={"ticket_id": tid, "timeout": "10"})
                sink.append(time.perf_counter())
                assert r.json()["satisfied"]

            task = asyncio.create_task(wait())
            await asyncio.sleep(0.05)  # the long-poll is parked on the server before the delivery
            writer.write(request)
            await read_status(reader)
            answered = time.perf_counter()
            await task
            out.append(woke[0] - answered)
        writer.close()
    return out


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(deliveries: int, connections: int, synchronous: str, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {
        "deliveries": deliveries,
        "connections": connections,
        "synchronous": synchronous,
    }
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "minimal.json"
        proc, info = _start(
            [sys.executable, "-m", "bench.sink_ingest", "--serve-minimal", str(ready)], ready
        )
        try:
            requests = _requests(deliveries, info["port"])
            (blast(info["port"], requests[:1000], connections))  # warm-up
            elapsed, lat, statuses = blast(info["port"], requests, connections)
        finally:
            _stop(proc)
        lat.sort()
        results["minimal"] = {
            "rate": deliveries / elapsed,
            "p50": percentile(lat, 50),
            "p99": percentile(lat, 99),
            "statuses": statuses,
        }

        ready = Path(tmp) / "sink.json"
        db = Path(tmp) / "sink.sqlite3"
        cmd = [
            sys.executable,
            "-m",
            "webhook_sink",
            "--port",
            "0",
            "--db",
            str(db),
            "--synchronous",
            synchronous,
            "--ready-file",
            str(ready),
        ]
        proc, info = _start(cmd, ready)
        try:
            port = info["port"]
            httpx.post(info["url"] + "/_sink/clear", trust_env=False)
            (blast(port, _requests(1000, port), connections))  # warm-up (spec, validators)
            httpx.post(info["url"] + "/_sink/clear", trust_env=False)
            requests = _requests(deliveries, port)
            elapsed, lat, statuses = blast(port, requests, connections)
            stats = httpx.get(info["url"] + "/_sink/stats", trust_env=False).json()
            wake = sorted(uvloop.run(wake_latency(info["url"], port, rounds)))
        finally:
            _stop(proc)
        lat.sort()
        recorded = stats["by_verdict"].get("valid", 0)
        results["sink"] = {
            "rate": deliveries / elapsed,
            "p50": percentile(lat, 50),
            "p99": percentile(lat, 99),
            "statuses": statuses,
            "recorded_valid": recorded,
            "lost": deliveries - recorded,
        }
        results["wake"] = {"p50": statistics.median(wake), "max": wake[-1], "rounds": rounds}
    results["ratio"] = results["sink"]["rate"] / results["minimal"]["rate"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sink_ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--wake-rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve-minimal", metavar="READY_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_minimal:
        serve_minimal(args.serve_minimal)
        return 0
    r = run(args.deliveries, args.connections, args.synchronous, args.wake_rounds)
    if args.json:
        print(json.dumps(r, indent=2))
    s, m, w = r["sink"], r["minimal"], r["wake"]
    print(
        f"{r['deliveries']} deliveries over {r['connections']} connections, loopback, {os.cpu_count()} CPUs, synchronous={r['synchronous']}"
    )
    print(
        f"  minimal server : {m['rate']:8.0f} deliveries/s  p50 {_fmt_ms(m['p50'])}  p99 {_fmt_ms(m['p99'])}"
    )
    print(
        f"  webhook sink   : {s['rate']:8.0f} deliveries/s  p50 {_fmt_ms(s['p50'])}  p99 time-to-record {_fmt_ms(s['p99'])}"
    )
    print(f"  ratio          : {r['ratio']:.2f} of the minimal server (target >= 0.50)")
    print(
        f"  recorded       : {s['recorded_valid']} of {r['deliveries']} (lost {s['lost']}); answers {s['statuses']}"
    )
    print(
        f"  waiter wake-up : p50 {_fmt_ms(w['p50'])}  max {_fmt_ms(w['max'])} over {w['rounds']} rounds (target <= 50 ms)"
    )
    ok = s["lost"] == 0 and s["rate"] >= 2000 and r["ratio"] >= 0.5 and w["max"] <= 0.05
    print("  verdict        : " + ("meets the targets" if ok else "MISSES a target"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
