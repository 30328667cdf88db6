"""Child processes: start ``python -m ...``, wait for its ready file, stop it (one stop policy).

Every server the project starts (the reference deployment, the sink, the benchmarks' peers) and
every locust run is a child made here. A server writes a JSON ready file once it listens (with
its port); the parent waits for that file with a deadline, never a blind sleep. Stopping is
always the same: SIGINT (each child shuts down cleanly on it), then SIGKILL after a deadline.
Secrets reach a child through its environment, never its command line. Inside
``core.forks.forking`` the chosen modules' children are forked from a server that imported
their dependencies once (the selftest starts hundreds); everything here behaves the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core import forks

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
_POLL = 0.02


class ChildError(RuntimeError):
    """A child did not start (or not in time); the message holds the end of its log."""


@dataclass
class Child:
    """A running child process, its log file and what its ready file said."""

    name: str
    process: subprocess.Popen[bytes] | forks.Forked = field(repr=False)
    log_path: Path
    argv: tuple[str, ...] = field(repr=False, default=())
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.info["port"])

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGINT, wait up to ``timeout``, then SIGKILL; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def wait(self, timeout: float) -> int | None:
        """Wait for the child to exit; past ``timeout`` stop it and return None."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    name: str,
    argv: Sequence[str],
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready: bool = True,
    timeout: float = START_TIMEOUT,
    cwd: Path | None = None,
) -> Child:
    """Run ``python -m <argv>`` (with ``--ready-file`` when ``ready``) logging to ``workdir``.

    With ``ready`` it returns once the child wrote its ready file; a child that exits first, or
    is not ready within ``timeout``, is stopped and raises ``ChildError`` with its log's tail.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    slug = name.replace(" ", "-")
    log_path = workdir / f"{slug}.log"
    ready_path = workdir / f"{slug}.ready.json"
    command = [sys.executable, "-m", *argv]
    if ready:
        ready_path.unlink(missing_ok=True)
        command += ["--ready-file", str(ready_path)]
    environ = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    process: subprocess.Popen[bytes] | forks.Forked
    if forks.can_fork(command):
        process = forks.popen(command, env=environ, cwd=cwd or workdir, log=log_path)
    else:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=str(cwd or workdir)
            )
    child = Child(name, process, log_path, tuple(argv))
    if not ready:
        return child
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_path.exists():
            try:
                child.info = json.loads(ready_path.read_text(encoding="utf-8"))
                return child
            except json.JSONDecodeError:
                pass  # being written
        if process.poll() is not None:
            raise ChildError(
                f"the {name} exited with code {process.returncode} before it was ready:\n{child.log_tail()}"
            )
        time.sleep(_POLL)
    child.stop()
    raise ChildError(f"the {name} was not ready within {timeout:.0f} s:\n{child.log_tail()}")


def run(
    command: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    capture: bool,
    timeout: float | None,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(command)`` (stdout and stderr together when ``capture``), forked when it can be.

    Raises ``subprocess.TimeoutExpired`` (with the output so far) past ``timeout``, having
    stopped the child, as ``subprocess.run`` does.
    """
    if not forks.can_fork(command):
        return subprocess.run(
            command,
            cwd=str(cwd),
            env=dict(env),
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            timeout=timeout,
            check=False,
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tixallo-child-") as tmp:
        log = Path(tmp) / "output.log" if capture else None
        process = forks.popen(command, env=env, cwd=cwd, log=log)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            Child("child", process, log or Path(tmp) / "none").stop()
            raise subprocess.TimeoutExpired(
                list(command), timeout or 0.0, output=log.read_bytes() if log else None
            ) from None
        except BaseException:
            process.kill()
            process.wait()
            raise
        output = log.read_bytes() if log else None
    return subprocess.CompletedProcess(list(command), code, output)
