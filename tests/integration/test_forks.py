"""core.forks: a child forked from the fork server behaves as the new interpreter it replaces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tixallo_qa.core import children, forks

pytestmark = pytest.mark.integration

TOOL = [sys.executable, "-m", "json.tool"]


def test_a_forked_child_matches_a_new_interpreter(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text('{"b": 1, "a": [1, 2]}', encoding="utf-8")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}

    def both(*args: str) -> list[tuple[int, bytes]]:
        plain = children.run([*TOOL, *args], cwd=tmp_path, env=env, capture=True, timeout=30)
        assert forks.can_fork(TOOL) is None  # outside the context: a new interpreter
        with forks.forking(("json",), ("json.tool",)):
            assert forks.can_fork(TOOL) == "json.tool"
            forked = children.run([*TOOL, *args], cwd=tmp_path, env=env, capture=True, timeout=30)
        return [(plain.returncode, plain.stdout or b""), (forked.returncode, forked.stdout or b"")]

    # The working directory, arguments, output and exit code are the child's own.
    (code, out), (fcode, fout) = both("--sort-keys", "good.json")
    assert code == fcode == 0 and out == fout and b'"a"' in out
    (code, out), (fcode, fout) = both("bad.json")
    assert code == fcode != 0 and b"Expecting property name" in fout


def test_a_forked_child_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    server = [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"]
    with forks.forking(("http.server",), ("http.server",)):
        assert forks.can_fork(server) == "http.server"
        with pytest.raises(subprocess.TimeoutExpired):
            children.run(server, cwd=tmp_path, env={}, capture=True, timeout=1)
