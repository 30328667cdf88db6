"""Load testing of a Tixallo deployment: locust scenarios, an open model, webhook accounting, SLO gates.

Nothing here imports locust: the scenarios (``load.scenario``) run in a child process.
"""

from __future__ import annotations

from tixallo_qa.load.options import LoadOptions
from tixallo_qa.load.runner import LoadResult, run_load
from tixallo_qa.load.safety import LoadRefusedError
from tixallo_qa.load.slo import SloConfig, SloRow, load_slo_file

__all__ = [
    "LoadOptions",
    "LoadRefusedError",
    "LoadResult",
    "SloConfig",
    "SloRow",
    "load_slo_file",
    "run_load",
]
