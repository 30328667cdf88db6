"""Starts the local reference deployment and the webhook sink as child processes.

This is what "no TIXALLO_BASE_URL" means: a seeded reference deployment on a free loopback
port, its webhook endpoint pointing at a sink, and the ``Settings`` that describe both.
Secrets reach the children through their environment, never their command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tixallo_qa.core.settings import Settings

DEFAULT_POOL_SIZE = 200
START_TIMEOUT = 20.0


class EmbeddedError(RuntimeError):
    """A local service did not start; the message says why and what to do."""


@dataclass
class ChildService:
    """A server running as a child process, with its log file and its ready-file contents."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    info: dict[str, object]

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _start_child(
    name: str,
    args: Sequence[str],
    workdir: Path,
    env: dict[str, str],
    timeout: float = START_TIMEOUT,
) -> ChildService:
    ready = workdir / f"{name}.ready.json"
    ready.unlink(missing_ok=True)
    log_path = workdir / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    child_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", *args, "--ready-file", str(ready)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env,
        cwd=str(workdir),
    )
    log.close()
    service = ChildService(name, process, log_path, {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                service.info = json.loads(ready.read_text())
                return service
            except json.JSONDecodeError:
                pass  # being written
        if process.poll() is not None:
            raise EmbeddedError(
                f"the {name} exited with code {process.returncode} before it was ready:\n{service.log_tail()}"
            )
        time.sleep(0.02)
    service.stop()
    raise EmbeddedError(f"the {name} was not ready within {timeout:.0f} s:\n{service.log_tail()}")


def start_sink(
    workdir: Path,
    *,
    secret: str | None,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = "/webhooks/tixallo",
    scheme: str = "tixallo",
    extra_args: Sequence[str] = (),
) -> ChildService:
    """Start ``python -m tixallo_qa.webhook_sink`` with its store in ``workdir``."""
    env = {"TIXALLO_WEBHOOK_SECRET": secret} if secret else {}
    args = [
        "tixallo_qa.webhook_sink",
        "--host", host,
        "--port", str(port),
        "--path", path,
        "--scheme", scheme,
        "--db", str(workdir / "sink.sqlite3"),
        *extra_args,
    ]  # fmt: skip
    return _start_child("webhook sink", args, workdir, env)


def sink_is_up(url: str, timeout: float = 1.0) -> bool:
    """Is a tixallo-qa sink answering at ``url``?"""
    try:
        return httpx.get(f"{url}/_sink/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Embedded:
    """The running local target: settings describing it, and the children to stop."""

    settings: Settings
    workdir: Path
    services: list[ChildService] = field(default_factory=list)
    _own_workdir: bool = False

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Embedded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(
    base: Settings | None = None,
    *,
    workdir: Path | None = None,
    faults: Sequence[str] = (),
    rate_limit: int | None = None,
    rate_window: float = 60.0,
    pool_size: int = DEFAULT_POOL_SIZE,
    webhook_retries: str | None = None,
    with_sink: bool = True,
) -> Embedded:
    """Seed and start the reference deployment (and a sink for its webhooks) on loopback."""
    from tixallo_qa.reference.seed import seed  # the admin side of the reference deployment

    base = base or Settings()
    rate_limit = base.rate_limit if rate_limit is None else rate_limit
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="tixallo-embedded-")) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    embedded = Embedded(Settings(), workdir, _own_workdir=own)
    try:
        secret = secrets.token_urlsafe(32)
        sink_url: str | None = None
        sink_host, sink_port = base.sink_host, base.sink_port
        if with_sink:
            sink = start_sink(workdir, secret=secret, path=base.sink_path)
            embedded.services.append(sink)
            sink_port = int(str(sink.info["port"]))
            sink_host = "127.0.0.1"
            sink_url = f"http://{sink_host}:{sink_port}"
        fixtures = seed(
            str(workdir / "reference.sqlite3"),
            sink_url=sink_url,
            webhook_secret=secret if with_sink else None,
            pool_size=pool_size,
            webhook_path=base.sink_path,
        )
        args = [
            "tixallo_qa.reference", "serve",
            "--host", "127.0.0.1", "--port", "0",
            "--db", str(workdir / "reference.sqlite3"),
            "--rate-limit", str(rate_limit),
            "--rate-window", str(rate_window),
        ]  # fmt: skip
        if webhook_retries:
            args += ["--webhook-retries", webhook_retries]
        for fault in faults:
            args += ["--fault", fault]
        reference = _start_child("reference deployment", args, workdir, {})
        embedded.services.append(reference)
        keys = tuple(k for k in fixtures["TIXALLO_API_KEY"].split(",") if k)
        embedded.settings = base.replace(
            base_url=str(reference.info["base_url"]),
            api_keys=keys,
            other_api_key=fixtures.get("TIXALLO_OTHER_API_KEY"),
            revoked_api_key=fixtures.get("TIXALLO_REVOKED_API_KEY"),
            rate_limit_api_key=fixtures.get("TIXALLO_RATE_LIMIT_API_KEY"),
            merged_ticket_id=fixtures.get("TIXALLO_MERGED_TICKET_ID"),
            noted_ticket_id=fixtures.get("TIXALLO_NOTED_TICKET_ID"),
            internal_note_marker=fixtures.get("TIXALLO_INTERNAL_NOTE_MARKER"),
            webhook_secret=fixtures.get("TIXALLO_WEBHOOK_SECRET"),
            sink_host=sink_host,
            sink_port=sink_port,
            rate_limit=rate_limit,
        )
        return embedded
    except BaseException:
        embedded.stop()
        raise


@contextlib.contextmanager
def embedded_target(base: Settings | None = None, **kwargs: object) -> Iterator[Embedded]:
    """``start_embedded`` as a context manager that always stops what it started."""
    embedded = start_embedded(base, **kwargs)  # type: ignore[arg-type]
    try:
        yield embedded
    finally:
        embedded.stop()
