"""The CI subset of the selftest: one fault per family is caught by its family of checks, and the
faithful deployment passes, under both our suite and plain schemathesis."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tixallo_qa.reference.faults import BY_NAME
from tixallo_qa.selftest import QUICK

pytestmark = pytest.mark.selfcheck

ROOT = Path(__file__).resolve().parents[2]
# Seeded API keys and webhook secrets: none may reach the output or a report file.
SECRET_SHAPES = re.compile(
    r"txk_[A-Za-z0-9_-]{8,}|whsec_[A-Za-z0-9_-]{8,}|internal-note-marker-[0-9a-f]{8,}"
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, object], Path]:
    reports = tmp_path_factory.mktemp("selftest")
    completed = subprocess.run(
        # Every check against every fault: each family's own check must be among the catchers.
        [
            sys.executable,
            "-m",
            "tixallo_qa",
            "selftest",
            "--quick",
            "--every-check",
            "--report-dir",
            str(reports),
        ],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    folders = sorted(reports.glob("selftest-*"))
    assert folders, completed.stdout[-3000:] + completed.stderr[-3000:]
    data = json.loads((folders[-1] / "selftest.json").read_text(encoding="utf-8"))
    return completed.returncode, completed.stdout + completed.stderr, data, folders[-1]


def test_quick_selftest_passes(quick_run: tuple[int, str, dict[str, object], Path]) -> None:
    code, output, data, _ = quick_run
    assert code == 0, output[-4000:]
    assert data["passed"] is True
    assert "SELFTEST PASSED" in output


def test_faithful_deployment_is_clean_for_both_tools(
    quick_run: tuple[int, str, dict[str, object], Path],
) -> None:
    faithful = quick_run[2]["faithful"]
    assert isinstance(faithful, dict)
    assert faithful["ours"]["status"] == "clean", faithful["ours"]
    # Plain schemathesis must be clean too, or its catches would not be comparable.
    assert faithful["plain"]["status"] == "clean", faithful["plain"]


@pytest.mark.parametrize("fault", list(QUICK))
def test_each_family_catches_its_fault(
    fault: str, quick_run: tuple[int, str, dict[str, object], Path]
) -> None:
    rows = {r["fault"]: r for r in quick_run[2]["rows"]}  # type: ignore[attr-defined]
    row = rows[fault]
    assert row["family"] == BY_NAME[fault].family
    ours = row["ours"]
    assert ours["status"] == "caught", ours
    assert QUICK[fault] in ours["families"], f"{fault} caught only by {ours['checks']}"
    assert row["plain"] is not None and row["plain"]["status"] in ("caught", "missed"), row["plain"]


def test_no_secret_in_output_or_report(quick_run: tuple[int, str, dict[str, object], Path]) -> None:
    _, output, _, folder = quick_run
    assert not SECRET_SHAPES.search(output)
    for path in folder.rglob("*"):
        if path.is_file():
            assert not SECRET_SHAPES.search(path.read_text(encoding="utf-8", errors="replace")), (
                path
            )
