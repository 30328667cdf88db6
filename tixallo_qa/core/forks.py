"""A fork server for the project's ``python -m`` children: their heavy imports paid once, not per child.

The selftest starts hundreds of children (a reference deployment and a sink per fault, a pytest
run, an ``st`` run), and each new interpreter imports starlette, uvicorn, schemathesis and
hypothesis again: 0.4-1.3 CPU-seconds apiece, more than most of their runs. Inside
``forking(preload, modules)``, ``core.children`` forks the named modules' children from a server
that imported ``preload`` once (multiprocessing's forkserver: a single-threaded process, so
forking it is safe whatever threads the caller runs). Each child is as separate as a new
interpreter would be: its own process, environment, working directory and log file; only the
already-imported modules are shared, copy-on-write. Locust is never forked (gevent must patch
the standard library before anything else is imported).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class _Server:
    context: Any  # multiprocessing's forkserver context
    modules: frozenset[str]


_ACTIVE: _Server | None = None


def _child_main(module: str, args: list[str], env: dict[str, str], cwd: str, log: str) -> None:
    """In the forked child: become ``python -m module args`` with this environment and log."""
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        # Line-buffered, as PYTHONUNBUFFERED asks of a new interpreter: a log read while the
        # child runs (a ready check, a failure's tail) is up to date.
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


class Forked:
    """A forked child, with the part of ``subprocess.Popen``'s interface ``core.children`` uses."""

    def __init__(self, process: Any, argv: Sequence[str]) -> None:
        self._process = process
        self.args = list(argv)

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    @property
    def returncode(self) -> int | None:
        code = self._process.exitcode
        return None if code is None else int(code)

    def poll(self) -> int | None:
        return None if self._process.is_alive() else self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return int(self._process.exitcode)

    def send_signal(self, sig: int) -> None:
        if self._process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def can_fork(command: Sequence[str]) -> str | None:
    """The module of ``[sys.executable, "-m", module, ...]`` when a server forks it, else None."""
    server = _ACTIVE
    if server is None or len(command) < 3 or list(command[:2]) != [sys.executable, "-m"]:
        return None
    return command[2] if command[2] in server.modules else None


def popen(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path | str, log: Path | str | None
) -> Forked:
    """Fork ``command`` (see ``can_fork``) with this environment, working directory and log file."""
    server = _ACTIVE
    module = can_fork(command)
    if server is None or module is None:
        raise RuntimeError(f"no fork server takes {' '.join(command[:3])}")
    process = server.context.Process(
        target=_child_main,
        args=(module, list(command[3:]), dict(env), str(cwd), str(log) if log else ""),
        name=module,
    )
    process.start()
    return Forked(process, command)


@contextlib.contextmanager
def forking(preload: Sequence[str], modules: Sequence[str]) -> Iterator[None]:
    """Within: ``core.children`` forks children of ``modules`` from a server that imported ``preload``."""
    global _ACTIVE
    if _ACTIVE is not None:  # nested: the outer server serves
        yield
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *preload])
    _ACTIVE = _Server(context, frozenset(modules))
    try:
        yield
    finally:
        _ACTIVE = None
        # The server would otherwise live until this process exits.
        from multiprocessing import forkserver

        stop = getattr(forkserver._forkserver, "_stop", None)
        if stop is not None:
            with contextlib.suppress(Exception):
                stop()
