"""``tixallo-qa doctor``'s checks: each problem with the one line that fixes it."""

from __future__ import annotations

from ._model import NOTE, OK, PROBLEM, SKIPPED, WARN, DoctorReport, Finding
from ._run import diagnose

__all__ = ["NOTE", "OK", "PROBLEM", "SKIPPED", "WARN", "DoctorReport", "Finding", "diagnose"]
