"""schemathesis' own CLI, every check and phase, finds nothing wrong with the reference deployment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tixallo_qa.core.spec import spec_path
from tixallo_qa.reference.testing import ReferenceFactory

pytestmark = pytest.mark.integration


def st_command() -> str:
    beside = Path(sys.executable).parent / "st"
    found = str(beside) if beside.exists() else shutil.which("st")
    if found is None:
        pytest.fail("schemathesis' `st` command is not installed: run `make install`")
    return found


def test_st_run_all_checks_all_phases_is_clean(
    reference_factory: ReferenceFactory, tmp_path: Path
) -> None:
    # A deployment of its own: schemathesis creates many tickets, which other tests must not see.
    deployment = reference_factory(rate_limit=0)
    try:
        result = subprocess.run(
            [
                st_command(), "run", str(spec_path()),
                "--url", deployment.base_url,
                "--checks", "all",
                "--phases", "examples,coverage,fuzzing,stateful",
                "--max-examples", "30",
                "--header", f"Authorization: Bearer {deployment.api_key}",
                "--no-color",
            ],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )  # fmt: skip
    finally:
        deployment.stop()
    output = result.stdout + result.stderr
    # The key is a secret; keep it out of a failure message.
    output = output.replace(deployment.api_key, "<redacted>")
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-6000:]
