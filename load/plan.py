"""A load run's plan before it starts, and its progress bar while it runs (time from its schedule)."""

from __future__ import annotations

import math
import subprocess
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from tixallo_qa.core.children import Child
from tixallo_qa.core.plan import Demand, PhasePlan, format_duration
from tixallo_qa.load.options import ChildPlan, LoadOptions
from tixallo_qa.load.planning import RatePlan, asked_rate

TICK = 0.5


def load_plan(
    o: LoadOptions,
    rate_plan: RatePlan,
    keys: int,
    limit: int,
    webhook_timeout: float,
    stop_grace: float = ChildPlan.stop_grace,
) -> PhasePlan:
    """Requests the run may send (the asked-for rate over its duration), its keys and its wait."""
    rate = asked_rate(o)
    if math.isinf(rate):
        rate = rate_plan.capacity
    requests = 0 if math.isinf(rate) else math.ceil(rate * o.duration)
    wait = webhook_timeout if o.webhooks else 0.0
    return PhasePlan(
        "load",
        (Demand("main", requests, max(1, keys), paced=limit > 0),),
        limit,
        # The duration is fixed: keys set the rate it may ask for, not how long it takes.
        floor=o.duration + wait + stop_grace,
        notes=(
            f"{o.model} model for {format_duration(o.duration)}, then up to "
            f"{format_duration(wait)} for the last webhooks; {rate_plan.message}",
        ),
    )


def watch(child: Child, limit: float, duration: float, console: Console, label: str) -> int | None:
    """Wait for locust with a bar of the run's schedule; past ``limit`` seconds stop it (None)."""
    deadline = time.monotonic() + limit
    started = time.monotonic()
    bar = Progress(
        TextColumn("[bold]load[/]"),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[words]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task("load", total=duration, words="")
        while True:
            try:
                return child.process.wait(timeout=TICK)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now >= deadline:
                child.stop()
                return None
            elapsed = now - started
            left = duration - elapsed
            words = (
                f"{format_duration(elapsed)} of {format_duration(duration)}, "
                f"{format_duration(left)} left ({label})"
                if left > 0
                else f"waiting for the last webhooks and locust's reports ({label})"
            )
            bar.update(task, completed=min(elapsed, duration), words=words)
