"""Starting the reference deployment: fault switches, bad configuration, the project command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tixallo_qa.reference.faults import names
from tixallo_qa.reference.testing import ReferenceFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def run_reference(
    *args: str, cwd: Path = ROOT, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tixallo_qa.reference", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_every_fault_name_is_accepted_by_serve(reference_factory: ReferenceFactory) -> None:
    started = time.monotonic()
    deployment = reference_factory(faults=names())
    assert time.monotonic() - started < 5
    try:
        with httpx.Client(base_url=deployment.root_url, trust_env=False) as c:
            assert c.get("/healthz").status_code == 200
    finally:
        deployment.stop()


def test_unknown_fault_lists_the_valid_ones(tmp_path: Path) -> None:
    result = run_reference(
        "serve", "--port", "0", "--db", str(tmp_path / "x.db"), "--fault", "no-such-fault"
    )
    assert_one_line_failure(result, "no-such-fault", "list-oldest-first")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_reference("serve", "--port", str(port), "--db", str(tmp_path / "x.db"))
    assert_one_line_failure(result, "already in use")


def test_corrupt_and_unreadable_database(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    assert_one_line_failure(
        run_reference("serve", "--port", "0", "--db", str(corrupt)), str(corrupt)
    )
    missing_dir = tmp_path / "no" / "such" / "dir" / "x.db"
    assert_one_line_failure(
        run_reference("serve", "--port", "0", "--db", str(missing_dir)), "cannot be used"
    )


def test_malformed_config_file(tmp_path: Path) -> None:
    bad_json = tmp_path / "endpoints.json"
    bad_json.write_text('{"endpoints": [', encoding="utf-8")
    assert_one_line_failure(
        run_reference("serve", "--port", "0", "--config", str(bad_json)), "config file"
    )
    wrong = tmp_path / "endpoints.toml"
    wrong.write_text(
        '[[endpoints]]\nworkspace = "workspace-a"\nurl = "ftp://x"\nsecret = "s"\n',
        encoding="utf-8",
    )
    assert_one_line_failure(run_reference("serve", "--port", "0", "--config", str(wrong)), "url")


def test_seeding_twice_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "seeded.db")
    env = tmp_path / "seed.env"
    first = run_reference("seed", "--db", db, "--env-out", str(env))
    assert first.returncode == 0, first.stderr
    assert "TIXALLO_API_KEY=txk_" in first.stdout
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    assert_one_line_failure(run_reference("seed", "--db", db), "already seeded")


def test_admin_key_and_endpoint(tmp_path: Path) -> None:
    db = str(tmp_path / "admin.db")
    assert run_reference("admin", "--db", db, "workspace", "add", "acme").returncode == 0
    added = run_reference("admin", "--db", db, "key", "add", "--workspace", "acme")
    assert added.returncode == 0 and "key=txk_" in added.stdout
    endpoint = run_reference(
        "admin",
        "--db",
        db,
        "endpoint",
        "add",
        "--workspace",
        "acme",
        "--url",
        "http://127.0.0.1:9/h",
    )
    assert endpoint.returncode == 0 and "secret=" in endpoint.stdout
    token = next(
        line.split("=", 1)[1] for line in added.stdout.splitlines() if line.startswith("key=")
    )
    assert run_reference("admin", "--db", db, "key", "revoke", token).returncode == 0
    assert "revoked" in run_reference("admin", "--db", db, "key", "list").stdout
    assert_one_line_failure(
        run_reference("admin", "--db", db, "key", "add", "--workspace", "nope"), "no workspace"
    )


def _start_project(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`tixallo-qa reference serve --port 0 ARGS` in ``cwd``, and the settings it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tixallo_qa", "reference", "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    settings: dict[str, str] = {}
    assert process.stdout is not None
    deadline = time.monotonic() + 10
    while "TIXALLO_RATE_LIMIT" not in settings and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition("=")
        settings[name] = value
    return process, settings


def _lists(settings: dict[str, str]) -> int:
    with httpx.Client(trust_env=False) as c:
        key = settings["TIXALLO_API_KEY"]
        return c.get(
            settings["TIXALLO_BASE_URL"] + "/tickets", headers={"Authorization": f"Bearer {key}"}
        ).status_code


def test_project_serve_seeds_prints_settings_and_reuses_them(tmp_path: Path) -> None:
    """`tixallo-qa reference serve` (make serve) on a fresh directory, then again on the same one."""

    def start() -> tuple[subprocess.Popen[str], dict[str, str]]:
        return _start_project(tmp_path)

    process, settings = start()
    try:
        assert settings["TIXALLO_BASE_URL"].startswith("http://127.0.0.1:")
        assert settings["TIXALLO_SINK_PORT"] == "8787"
        assert _lists(settings) == 200
        env_file = tmp_path / ".tixallo" / "reference.env"
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    again, settings_again = start()
    try:
        assert settings_again["TIXALLO_API_KEY"] == settings["TIXALLO_API_KEY"]
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=10)


def test_project_serve_in_memory_serves_the_keys_it_prints(tmp_path: Path) -> None:
    """--db :memory: is a database for this server only: its printed keys work, none is kept."""
    process, settings = _start_project(tmp_path, "--db", ":memory:")
    try:
        assert _lists(settings) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    again, settings_again = _start_project(tmp_path, "--db", ":memory:")
    try:
        assert _lists(settings_again) == 200
        assert settings_again["TIXALLO_API_KEY"] != settings["TIXALLO_API_KEY"]
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=10)
    assert not (tmp_path / ".tixallo" / "reference.sqlite3").exists()


def test_ready_file_and_config_endpoints(tmp_path: Path) -> None:
    config = tmp_path / "endpoints.json"
    config.write_text(
        json.dumps(
            {
                "endpoints": [
                    {
                        "workspace": "ops",
                        "url": "http://127.0.0.1:9/h",
                        "secret": "s",
                        "events": ["ticket.created"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    ready = tmp_path / "ready.json"
    db = str(tmp_path / "cfg.db")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tixallo_qa.reference",
            "serve",
            "--port",
            "0",
            "--db",
            db,
            "--config",
            str(config),
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 5
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        info = json.loads(ready.read_text(encoding="utf-8"))
        with httpx.Client(trust_env=False) as c:
            assert c.get(info["base_url"] + "/tickets").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    listed = run_reference("admin", "--db", db, "endpoint", "list")
    assert "ops" in listed.stdout and "ticket.created" in listed.stdout


@pytest.mark.parametrize(
    ("given", "stored", "says"),
    [
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787/webhooks/tixallo", "the sink's root"),
        (
            "http://127.0.0.1:8787/webhooks/tixallo",
            "http://127.0.0.1:8787/webhooks/tixallo",
            "a full delivery URL",
        ),
    ],
)
def test_seed_sink_url_is_the_root_or_the_full_delivery_url(
    tmp_path: Path, given: str, stored: str, says: str
) -> None:
    db = str(tmp_path / "seeded.db")
    seeded = run_reference("seed", "--db", db, "--sink-url", given)
    assert seeded.returncode == 0, seeded.stderr
    assert f"--sink-url is {says}: deliveries go to {stored}" in seeded.stderr
    [endpoint] = run_reference("admin", "--db", db, "endpoint", "list").stdout.splitlines()
    assert f"  {stored}  " in endpoint


def test_project_serve_takes_the_full_delivery_url_and_says_so(tmp_path: Path) -> None:
    """The reported bug: a full URL became .../webhooks/tixallo/webhooks/tixallo."""
    url = "http://127.0.0.1:8799/webhooks/tixallo"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tixallo_qa",
            "reference",
            "serve",
            "--port",
            "0",
            "--sink-url",
            url,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline().strip()
        assert first == f"--sink-url is a full delivery URL: deliveries go to {url} as given"
        assert process.stdout is not None
        # Seeded once it prints its settings (the last one is the rate limit).
        for line in process.stdout:
            if line.startswith("TIXALLO_RATE_LIMIT="):
                break
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    db = str(tmp_path / ".tixallo" / "reference.sqlite3")
    [endpoint] = run_reference("admin", "--db", db, "endpoint", "list").stdout.splitlines()
    assert f"  {url}  " in endpoint and "tixallo/webhooks" not in endpoint
