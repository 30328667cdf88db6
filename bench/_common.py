"""Shared parts of the benchmarks: percentiles, child servers, CPU time, an open-model driver, tables."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tixallo_qa.core import children, histogram
from tixallo_qa.core.children import Child

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
_TICKS = os.sysconf("SC_CLK_TCK")


# -- figures ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of values in any order (``core.histogram``'s one definition)."""
    return histogram.percentile(sorted(values), q)


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    """p50/p90/p99/max of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    return {
        "n": len(values),
        "p50": percentile(values, 50) * 1000,
        "p90": percentile(values, 90) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": (values[-1] * 1000) if values else math.nan,
    }


def median(values: Iterable[float]) -> float:
    data = [v for v in values if not math.isnan(v)]
    return statistics.median(data) if data else math.nan


def middle(ratios: Sequence[float]) -> tuple[float, str]:
    """The middle one of alternated pairs' ratios (the pair a table shows), and all of them listed."""
    ordered = sorted(ratios)
    return ordered[len(ordered) // 2], ", ".join(f"{x:.2f}" for x in ordered)


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    """``met`` or ``missed`` (NaN, a value that was not measured, is ``n/a``)."""
    if math.isnan(value):
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "MISSED"


def fmt(value: float, digits: int = 0) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (pasted as is into bench/README.md)."""
    body = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    return "\n".join(out)


def title(text: str) -> None:
    print(f"\n## {text}\n", flush=True)


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at start, Python "
        f"{sys.version.split()[0]}, loopback only"
    )


# -- CPU time --------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- child servers ---------------------------------------------------------------------------
@contextlib.contextmanager
def start_child(
    name: str,
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> Iterator[Child]:
    """``python -m <argv>`` in a scratch folder, ready (its ready file written), stopped at the end."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
        try:
            child = children.start(name, argv, Path(workdir), env=env, timeout=timeout, cwd=ROOT)
        except children.ChildError as exc:
            raise RuntimeError(f"{name} did not start ({' '.join(argv)}): {exc}") from None
        with child:
            yield child


# -- raw HTTP/1.1 over asyncio ---------------------------------------------------------------
def http_request(
    method: str,
    path: str,
    *,
    port: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    """An HTTP/1.1 request as bytes on the wire (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(data[:-2])
        return status, b"".join(parts)
    return status, (await reader.readexactly(length)) if length > 0 else b""


@dataclass
class Sample:
    """One open-model request: intended, actual send and answer times (perf_counter), status, body."""

    intended: float
    sent: float
    done: float
    status: int
    body: bytes = b""
    wall_done: float = 0.0

    @property
    def latency(self) -> float:
        """From the intended send time (what a client on the timetable waits)."""
        return self.done - self.intended

    @property
    def service(self) -> float:
        """From the actual send time (what a closed-model tool would report)."""
        return self.done - self.sent


@dataclass
class OpenRun:
    rate: float
    duration: float
    samples: list[Sample]
    elapsed: float  # first intended send to last answer

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if 200 <= s.status < 300]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    @property
    def achieved(self) -> float:
        """Successful answers per second over the whole run (the tail included)."""
        return len(self.ok) / self.elapsed if self.elapsed > 0 else 0.0


class _Pool:
    """Keep-alive connections, opened on demand up to ``limit``; callers queue beyond that."""

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self.limit = limit
        self.opened = 0
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.waiters: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        self.waiting = 0

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle:
            return self.idle.pop()
        if self.opened < self.limit:
            self.opened += 1
            try:
                return await asyncio.open_connection(HOST, self.port)
            except OSError:
                self.opened -= 1
                raise
        self.waiting += 1
        try:
            conn = await self.waiters.get()
        finally:
            self.waiting -= 1
        if conn is None:  # a broken connection was dropped: open a fresh one in its place
            self.opened += 1
            return await asyncio.open_connection(HOST, self.port)
        return conn

    def put(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is None:
            self.opened -= 1
            if self.waiting:
                self.waiters.put_nowait(None)
            return
        if self.waiting:
            self.waiters.put_nowait(conn)
        else:
            self.idle.append(conn)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def open_model(
    port: int,
    make_request: Callable[[int], bytes],
    rate: float,
    duration: float,
    *,
    connections: int = 256,
    keep_body: bool = False,
    timeout: float = 10.0,
) -> OpenRun:
    """Send ``rate`` requests a second for ``duration`` s on a timetable, whatever the answers do.

    Latency is measured from each request's intended send time, so a stalled server cannot hide
    behind a client that waits for it (no coordinated omission). Requests beyond ``connections``
    in flight queue in the client and count as late, never dropped.
    """
    pool = _Pool(port, connections)
    samples: list[Sample] = []
    total = max(1, int(rate * duration))
    tasks: list[asyncio.Task[None]] = []

    async def one(k: int, intended: float) -> None:
        conn = None
        sent = time.perf_counter()
        status, body = 0, b""
        try:
            conn = await pool.get()
            sent = time.perf_counter()
            reader, writer = conn
            writer.write(make_request(k))
            status, body = await asyncio.wait_for(read_response(reader), timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            if conn is not None:
                conn[1].close()
            conn = None
        finally:
            pool.put(conn)
        samples.append(
            Sample(
                intended, sent, time.perf_counter(), status, body if keep_body else b"", time.time()
            )
        )

    start = time.perf_counter() + 0.05
    for k in range(total):
        intended = start + k / rate
        wait = intended - time.perf_counter()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(k, intended)))
    await asyncio.gather(*tasks)
    pool.close()
    last = max((s.done for s in samples), default=start)
    return OpenRun(rate, duration, samples, last - start)


def run_async(coro: Any) -> Any:
    """Run a coroutine on uvloop (what the servers use too)."""
    import uvloop

    return uvloop.run(coro)


# -- CPU of a load generator over its steady window --------------------------------------------
class CpuSampler:
    """Samples a process's CPU seconds on a thread; ``pid`` may be found later (a grandchild)."""

    def __init__(self, find: Callable[[], int | None], interval: float = 0.1) -> None:
        import threading

        self._find = find
        self._interval = interval
        self.samples: list[tuple[float, float]] = []  # (wall clock, cpu seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = None
        while not self._stop.is_set():
            if pid is None:
                pid = self._find()
            if pid is not None:
                cpu = cpu_seconds(pid)
                if math.isnan(cpu):
                    return  # it exited
                self.samples.append((time.time(), cpu))
            self._stop.wait(self._interval)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def at(self, wall: float) -> float:
        """CPU seconds at wall-clock ``wall`` (linear between samples)."""
        s = self.samples
        if not s:
            return math.nan
        if wall <= s[0][0]:
            return s[0][1]
        for (t0, c0), (t1, c1) in itertools.pairwise(s):
            if t0 <= wall <= t1:
                return c0 + (c1 - c0) * (wall - t0) / (t1 - t0) if t1 > t0 else c1
        return s[-1][1]


def child_of_me(marker: str) -> Callable[[], int | None]:
    """A finder for the pid of this process's child whose command line contains ``marker``."""
    me = os.getpid()

    def find() -> int | None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) != me:
                    continue
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    return int(entry.name)
            except (OSError, ValueError, IndexError):
                continue
        return None

    return find


def locust_history(path: Path) -> list[tuple[int, int]]:
    """(timestamp, total requests) of the Aggregated rows of locust's ``*_stats_history.csv``."""
    import csv

    out: list[tuple[int, int]] = []
    try:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("Name") == "Aggregated":
                    out.append((int(row["Timestamp"]), int(row["Total Request Count"])))
    except OSError:
        return []
    return out


def steady_rate_per_cpu(
    history: list[tuple[int, int]], sampler: CpuSampler, trim: float = 1.0
) -> tuple[float, float, float]:
    """(requests/s, CPU share, requests per CPU-second) over the steady middle of a locust run."""
    rows = [(t, n) for t, n in history if n > 0]
    if len(rows) < 3:
        return math.nan, math.nan, math.nan
    start, end = rows[0][0] + trim, rows[-1][0] - trim
    window = [(t, n) for t, n in rows if start <= t <= end] or rows
    (ta, na), (tb, nb) = window[0], window[-1]
    if tb <= ta:
        (ta, na), (tb, nb) = rows[0], rows[-1]
    cpu = sampler.at(tb) - sampler.at(ta)
    rate = (nb - na) / (tb - ta)
    share = cpu / (tb - ta)
    return rate, share, (nb - na) / cpu if cpu > 0 else math.nan
