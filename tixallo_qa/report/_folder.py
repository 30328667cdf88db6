"""The per-run report folder, and the last check that no secret reached any file in it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tixallo_qa.core.redact import Redactor


def new_run_folder(report_dir: str | Path, now: datetime | None = None) -> Path:
    """``<report_dir>/<UTC timestamp>/``, made unique if a run started in the same second."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    base = Path(report_dir)
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{base}: too many report folders named {stamp}")


def scrub_folder(folder: Path, secrets: tuple[str, ...]) -> list[Path]:
    """Redact any secret found in any file under ``folder``; return the files that held one."""
    needles = [s.encode() for s in secrets if s and len(s) >= 4]
    if not needles:
        return []
    redactor = Redactor(secrets)
    dirty: list[Path] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if not any(n in data for n in needles):
            continue
        dirty.append(path)
        try:
            path.write_text(redactor.text(data.decode("utf-8")), encoding="utf-8")
        except UnicodeDecodeError:
            # A binary file holding a secret has no safe redacted form: remove it.
            path.unlink()
    return dirty


CHECKS = "checks"


def check_file(folder: Path, name: str) -> Path:
    """Where a check's whole record (its exchanges, the seed) lives in the report folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "check"
    return folder / CHECKS / f"{slug}.json"
