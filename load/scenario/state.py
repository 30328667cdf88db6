"""This load process's state: its plan, its slice of the key pool, its collector."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.core.settings import load_settings
from tixallo_qa.load.options import ChildPlan
from tixallo_qa.load.scenario.collector import Collector
from tixallo_qa.load.scenario.pacing import Pacer


@dataclass
class ProcessState:
    plan: ChildPlan | None = None
    pacer: Pacer | None = None
    collector: Collector = field(default_factory=Collector)
    # Tickets this process created, for messages and reads in the open model.
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    # When this process had created a full page of tickets (wall clock), so any list after it
    # must be full.
    page_full_at: float | None = None
    index: int = 0

    def configure(
        self, plan_json: str, index: int, report: Callable[..., Any] | None = None
    ) -> None:
        """Build the plan and this process's key slice (index-th of ``plan.slices``).

        ``report`` receives every request for locust's own statistics (its request event).
        """
        self.plan = ChildPlan.from_json(json.loads(plan_json))
        self.index = index
        self.collector.configure(self.plan.options.window)
        settings = load_settings()
        keys = list(settings.api_keys)
        mine = keys[index % self.plan.slices :: self.plan.slices] or keys
        measuring = self.plan.options.measure_limiter
        # Measuring the limiter: send unpaced and never rest a key, so the 429s show its behaviour.
        self.pacer = Pacer(
            mine,
            0 if measuring else settings.rate_limit,
            self.plan.options.late_threshold,
            self.collector,
            settings.secrets,
            honour_retry_after=not measuring,
            report=report,
        )

    def require(self) -> tuple[ChildPlan, Pacer]:
        if self.plan is None or self.pacer is None:
            raise RuntimeError("the load process has no plan: run it through 'tixallo-qa load'")
        return self.plan, self.pacer


STATE = ProcessState()
