"""The contract suite as a pytest plugin: a team runs it from its own repository with its own pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_pytest_pyargs_runs_the_suite_from_another_repository(tmp_path: Path) -> None:
    repo = tmp_path / "their-repo"
    repo.mkdir()
    # Their own tests and fixtures stay theirs: a fixture named like ours is not replaced.
    (repo / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef settings():\n    return 'theirs'\n"
    )
    (repo / "test_theirs.py").write_text(
        "def test_own(settings):\n    assert settings == 'theirs'\n"
    )
    env_file = repo / "staging.env"
    env_file.write_text("TIXALLO_PROFILE=smoke\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_theirs.py", "--pyargs", "tixallo_qa.contracts",
         "--tixallo-env-file", str(env_file), "--tixallo-select", "auth,listing",
         "-p", "no:cacheprovider", "-q"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    assert " passed" in last and "failed" not in last and "error" not in last


def test_other_pytest_runs_see_only_the_options(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "def test_no_suite_fixture(request):\n"
        "    assert 'paced' not in request.fixturenames\n"
        "    assert request.config.pluginmanager.get_plugin('tixallo-contracts') is None\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "--tixallo-env-file" in helped.stdout
