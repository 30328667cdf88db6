"""Load testing of a Tixallo deployment: locust scenarios, an open model, webhook accounting, SLO gates.

Nothing here imports locust: the scenarios (``load.scenario``) run in a child process.
"""

from __future__ import annotations

from load.options import LoadOptions
from load.runner import LoadResult, run_load
from load.safety import LoadRefusedError
from load.slo import SloConfig, SloRow, load_slo_file

__all__ = [
    "LoadOptions",
    "LoadRefusedError",
    "LoadResult",
    "SloConfig",
    "SloRow",
    "load_slo_file",
    "run_load",
]
