"""The sink as its own process: 5,000 concurrent deliveries, durability across restarts, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tixallo_qa.core.settings import SettingsError
from tixallo_qa.webhook_sink.client import SinkClient
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.testing import (
    TEST_SECRET,
    encode,
    post_concurrently,
    raw_request,
    sign_headers,
    ticket_created,
)

pytestmark = pytest.mark.integration

ENV = {**os.environ, "TIXALLO_WEBHOOK_SECRET": TEST_SECRET}
SIGNING = SinkConfig(secret=TEST_SECRET)


class SinkProcess:
    """``python -m tixallo_qa.webhook_sink`` on a free port, found through its ready file."""

    def __init__(self, db: Path, ready: Path) -> None:
        ready.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "tixallo_qa.webhook_sink",
            "--port",
            "0",
            "--db",
            str(db),
            "--ready-file",
            str(ready),
        ]
        self.proc = subprocess.Popen(
            cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 20
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(
                    f"sink did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
                )
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        self.url, self.port = info["url"], info["port"]
        self.webhook_url = info["webhook_url"]
        self.client = SinkClient(self.url)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        if hasattr(self, "client"):
            self.client.close()


@pytest.fixture
def sink_process(tmp_path: Path) -> Iterator[SinkProcess]:
    process = SinkProcess(tmp_path / "sink.sqlite3", tmp_path / "ready.json")
    yield process
    process.stop()


def test_5000_concurrent_deliveries_are_all_recorded(sink_process: SinkProcess) -> None:
    payloads = [ticket_created() for _ in range(5000)]
    requests = []
    for p in payloads:
        body = encode(p)
        requests.append(
            raw_request(
                sink_process.webhook_url,
                body,
                sign_headers(SIGNING, body, event_type="ticket.created"),
            )
        )
    _, _, statuses = asyncio.run(
        post_concurrently("127.0.0.1", sink_process.port, requests, connections=100)
    )
    assert statuses == [200] * 5000
    stats = sink_process.client.stats()
    assert (stats["total"], stats["double_fires"], stats["retries"]) == (5000, 0, 0)
    assert stats["by_verdict"] == {"valid": 5000}
    recorded = {e.ticket_id for e in sink_process.client.events("ticket.created", limit=10_000)}
    assert recorded == {p["ticket_id"] for p in payloads}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_restart_keeps_records(tmp_path: Path, sig: int) -> None:
    db, ready = tmp_path / "sink.sqlite3", tmp_path / "ready.json"
    first = SinkProcess(db, ready)
    payloads = [ticket_created() for _ in range(50)]
    try:
        with httpx.Client(trust_env=False) as http:
            for p in payloads:
                body = encode(p)
                headers = sign_headers(SIGNING, body, delivery_id=f"d-{p['ticket_id']}")
                answer = http.post(first.webhook_url, content=body, headers=headers)
                assert answer.status_code == 200
        first.client.mark(
            "ticket.created", ticket_id=payloads[0]["ticket_id"], action_at=time.time() - 1
        )
    finally:
        # SIGKILL: only what was acknowledged counts, and all of it must be on disk.
        first.stop(sig)
    second = SinkProcess(db, ready)
    try:
        events = second.client.events("ticket.created")
        assert [e.ticket_id for e in events] == [p["ticket_id"] for p in payloads]
        assert second.client.stats()["marks"] == 1
        # What the sink knew survives too: the same delivery id again is still a retry.
        body = encode(payloads[0])
        headers = sign_headers(SIGNING, body, delivery_id=f"d-{payloads[0]['ticket_id']}")
        answer = httpx.post(second.webhook_url, content=body, headers=headers, trust_env=False)
        assert answer.status_code == 200
        [last] = second.client.events(order="desc", limit=1)
        assert last.retry and last.seq == events[-1].seq + 1
    finally:
        second.stop()


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    # Run in a folder of the test's own: the command keeps its token in ./.tixallo/.
    return subprocess.Popen(
        [sys.executable, "-m", "tixallo_qa", "sink", *args],
        env={k: v for k, v in (env or ENV).items() if k != "TIXALLO_SINK_TOKEN"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(cwd),
    )


def test_cli_prints_one_line_saying_where_to_point_tixallo(tmp_path: Path) -> None:
    proc = _cli("--port", "0", "--db", str(tmp_path / "s.sqlite3"), cwd=tmp_path)
    try:
        assert proc.stdout is not None
        made = proc.stdout.readline().strip()
        line = proc.stdout.readline().strip()
        assert line.startswith(
            "webhook sink listening: point your Tixallo webhook endpoint at http://127.0.0.1:"
        )
        assert "/webhooks/tixallo (live page http://127.0.0.1:" in line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert httpx.post(url, content=b"{}", trust_env=False).status_code == 415
        # The token it made is shown once, saved privately, and what its query API wants.
        token = made.rsplit(": ", 1)[1]
        assert made.startswith("made a sink token, shown only now") and token not in line
        saved = tmp_path / ".tixallo" / "sink.env"
        assert f"TIXALLO_SINK_TOKEN={token}" in saved.read_text()
        assert saved.stat().st_mode & 0o077 == 0
        root = url.rsplit("/webhooks/", 1)[0]
        assert httpx.get(root + "/_sink/events", trust_env=False).status_code == 401
        with SinkClient(root, token=token) as client:
            assert client.stats()["total"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert TEST_SECRET not in err and "Traceback" not in err and token not in err
    # A restart keeps the saved token and never shows it again.
    again = _cli("--port", "0", "--db", str(tmp_path / "s.sqlite3"), cwd=tmp_path)
    try:
        assert again.stdout is not None
        assert again.stdout.readline().strip() == (
            "using the sink token saved in .tixallo/sink.env (TIXALLO_SINK_TOKEN)"
        )
        assert again.stdout.readline().startswith("webhook sink listening")
    finally:
        again.send_signal(signal.SIGINT)
        out, err = again.communicate(timeout=15)
    assert token not in out + err


def test_cli_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"without TIXALLO_SINK_TOKEN.*set TIXALLO_SINK_TOKEN"):
        SinkConfig(host="0.0.0.0", secret=TEST_SECRET)
    done = subprocess.run(
        [sys.executable, "-m", "tixallo_qa.webhook_sink", "--host", "0.0.0.0", "--port", "0"],
        env={k: v for k, v in ENV.items() if k != "TIXALLO_SINK_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "0.0.0.0 without TIXALLO_SINK_TOKEN" in line and "listen on 127.0.0.1" in line


def test_cli_port_in_use_fails_cleanly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _cli("--port", str(port), "--db", str(tmp_path / "s.sqlite3"), cwd=tmp_path)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out == ""
    assert err.strip() == (
        f"tixallo-qa sink: port {port} on 127.0.0.1 is already in use: stop what listens there or choose "
        "another port (--sink-port / TIXALLO_SINK_PORT, 0 = any free port)"
    )


def test_cli_missing_secret_fails_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "TIXALLO_WEBHOOK_SECRET"}
    proc = _cli("--port", "0", "--db", str(tmp_path / "s.sqlite3"), cwd=tmp_path, env=env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "TIXALLO_WEBHOOK_SECRET is not set" in err
