"""The wheel is a tool of its own: built, installed in a fresh environment, run from an empty folder.

The fresh environment borrows the dependencies of this one through a ``.pth`` line (no download),
but not this checkout: a ``.pth`` line adds a folder to ``sys.path`` without running the
editable finder that lives there, so only the installed wheel can answer ``import tixallo_qa``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", ".venv", "build", "reports", "*.egg-info", "__pycache__", ".*_cache")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the project's wheel (and only that) installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy (the links under tixallo_qa/ kept), so the checkout gets no build/ folder.
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp / "dist"), str(source)],
        check=True, cwd=tmp, capture_output=True,
    )  # fmt: skip
    [wheel] = (tmp / "dist").glob("tixallo_qa-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return env_dir


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TIXALLO_", "PYTHONPATH"))}


def test_only_tixallo_qa_is_installed_and_nothing_is_missing(fresh: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json, tixallo_qa, tixallo_qa.core.spec as s\n"
        "print(json.dumps({'file': tixallo_qa.__file__, 'spec': s.spec_path().is_file(),"
        " 'old': [n for n in ('contracts', 'load', 'reference', 'webhook_sink', 'openapi')"
        " if importlib.util.find_spec(n)]}))"
    )
    out = subprocess.run(
        [str(fresh / "bin" / "python"), "-c", probe],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_clean_env(),
    ).stdout  # fmt: skip
    found = json.loads(out)
    assert Path(found["file"]).is_relative_to(fresh) and found["spec"] and found["old"] == []


def test_tixallo_qa_run_passes_from_an_empty_folder(fresh: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [str(fresh / "bin" / "tixallo-qa"), "run", "--profile", "smoke", "--load-duration", "4",
         "--quiet", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=300,
    )  # fmt: skip
    # The JSON result names what failed (a check, a load SLO); stderr alone said nothing once.
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    result = json.loads(run.stdout)
    assert result["passed"] and result["load"]["ran"]
    assert (tmp_path / result["report"]).is_file()
