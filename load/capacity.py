"""``tixallo-qa load --find-capacity``: the highest arrival rate at which every SLO holds.

The open model (``run_load`` with ``rate=``, intended-time corrected, every gate of a normal run)
is driven at rising constant rates: doubling from ``max_rate / 32`` until a gate breaks or
``max_rate`` holds, then bisecting between the highest rate that held and the lowest that broke.
Each step is a normal bounded run against one target started once; the search stops within its
time budget. Against a rate-limited target no step may ask more than the key pool allows, and
the report says when that ceiling, not the deployment, bounded the answer.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tixallo_qa.core.ratelimit import DEFAULT_MARGIN
from tixallo_qa.core.settings import Settings
from tixallo_qa.load import planning, report, stats
from tixallo_qa.load.options import LoadOptions
from tixallo_qa.load.runner import (
    EXIT_BREACH,
    EXIT_ERROR,
    EXIT_PASS,
    LoadResult,
    default_report_dir,
    embedded_pool,
    run_load,
)
from tixallo_qa.load.safety import LoadRefusedError, check_target
from tixallo_qa.load.slo import SloConfig, SloRow
from tixallo_qa.load.svg import line_chart, stack
from tixallo_qa.target import Target

START_FRACTION = 1 / 32  # the first step asks max_rate / 32
PRECISION = 0.05  # bisection stops when the bracket is within 5 % of its top
MIN_RATE = 0.5  # requests per second: below this there is nothing to find
DEFAULT_MAX_RATE = 1000.0
DEFAULT_BUDGET = 120.0
DEFAULT_STEP = 6.0
STEP_READBACK = 200  # tickets read back per step (coverage is stated in each step's summary)
# A step's overhead beyond its duration before the first one is measured: start, join, read-back.
FIRST_OVERHEAD = 8.0
CAPACITY_JSON = "capacity.json"
CAPACITY_SVG = "capacity.svg"
LATE_STARTS = "open model: late starts"


@dataclass(frozen=True)
class Step:
    """One constant-rate run of the search and what it showed."""

    rate: float
    passed: bool
    breached: tuple[str, ...] = ()
    first_breach: str = ""
    achieved: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    error_ratio: float | None = None
    webhook_p99_ms: float | None = None
    seconds: float = 0.0
    run_dir: str = ""
    error: str = ""


@dataclass
class CapacityResult:
    steps: list[Step]
    max_rate: float
    ceiling: float | None  # what the key pool allows (None: no rate limit)
    budget: float
    duration: float
    report_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def capacity(self) -> float | None:
        """The highest rate at which every SLO held (None when even the lowest broke)."""
        held = [s.rate for s in self.steps if s.passed and not s.error]
        broke = self.broke_at
        held = [r for r in held if broke is None or r < broke]
        return max(held) if held else None

    @property
    def broke_at(self) -> float | None:
        broke = [s.rate for s in self.steps if not s.passed and not s.error]
        return min(broke) if broke else None

    @property
    def first_breach(self) -> Step | None:
        rate = self.broke_at
        return next((s for s in self.steps if s.rate == rate and not s.passed), None)

    @property
    def exit_code(self) -> int:
        if any(s.error for s in self.steps) and self.capacity is None:
            return EXIT_ERROR
        return EXIT_PASS if self.capacity is not None else EXIT_BREACH

    def verdict(self) -> str:
        """The answer in one sentence, saying what bounded it."""
        cap, broke, first = self.capacity, self.broke_at, self.first_breach
        top = min(self.max_rate, self.ceiling) if self.ceiling else self.max_rate
        if cap is None and broke is None:
            return "no step completed: see the step folders"
        if cap is None:
            what = first.first_breach if first else "?"
            return f"the SLOs broke already at {broke:g}/s, the lowest rate tried (first: {what})"
        text = f"capacity: every SLO held up to {cap:g}/s"
        if broke is not None and first is not None:
            text += f"; the first to break, at {broke:g}/s, was {first.first_breach}"
            if first.breached and first.breached[0] == LATE_STARTS:
                text += (
                    " (the load generator could not keep the timetable: run it with more "
                    "--processes or on a bigger machine to measure further)"
                )
        elif (
            self.ceiling is not None
            and cap >= top * (1 - PRECISION)
            and self.ceiling <= self.max_rate
        ):
            text += (
                f", the most the key pool allows ({self.ceiling:g}/s at TIXALLO_RATE_LIMIT): the "
                "deployment's own capacity is higher than these keys can show; add keys to measure it"
            )
        elif cap >= top * (1 - PRECISION):
            text += ", the --max-rate asked for: raise it to look further"
        else:
            text += " (the time budget ended the search: give --duration more to narrow it)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "broke_at": self.broke_at,
            "first_breach": self.first_breach.first_breach if self.first_breach else None,
            "verdict": self.verdict(),
            "max_rate": self.max_rate,
            "key_pool_ceiling": self.ceiling,
            "budget_s": self.budget,
            "duration_s": round(self.duration, 1),
            "steps": [asdict(s) for s in self.steps],
            "exit_code": self.exit_code,
        }


def next_rate(
    steps: Sequence[tuple[float, bool]],
    max_rate: float,
    *,
    start_fraction: float = START_FRACTION,
    precision: float = PRECISION,
) -> float | None:
    """The next rate to try given (rate, held) so far, or None when the search is done."""
    held = sorted(r for r, ok in steps if ok)
    broke = sorted(r for r, ok in steps if not ok)
    if not broke:
        if not held:
            return max(MIN_RATE, _round(max_rate * start_fraction))
        top = held[-1]
        return None if top >= max_rate else min(max_rate, _round(top * 2))
    hi = broke[0]
    below = [r for r in held if r < hi]  # a noisy pass above a break does not move the bracket
    lo = below[-1] if below else 0.0
    if hi - lo <= precision * hi or hi <= MIN_RATE:
        return None
    mid = _round((lo + hi) / 2)
    return None if mid in (lo, hi) else mid


def _round(rate: float) -> float:
    """Rates people can read: 2 significant figures below 100/s, whole numbers above."""
    if rate >= 100:
        return float(round(rate))
    digits = max(0, 1 - math.floor(math.log10(rate))) if rate > 0 else 0
    return round(rate, digits)


def pool_ceiling(keys: int, rate_limit: int) -> float | None:
    """Requests per second a pool of keys allows (None when there is no limit)."""
    if rate_limit <= 0:
        return None
    return math.floor(keys * rate_limit / (planning.WINDOW + DEFAULT_MARGIN) * 10) / 10


class KeyRota:
    """Orders the key pool for each step so that no step starts on keys a recent step spent.

    The steps are separate runs against one deployment whose per-key windows remember the
    previous steps. A run's pacing fills keys from the front of its list and its read-back from
    the back, so each step gets the longest-rested keys at both ends.
    """

    def __init__(self, keys: Sequence[str], rate_limit: int) -> None:
        self.keys = list(keys)
        self.limit = rate_limit
        self.used_at: dict[str, float] = {}

    def order(self, rate: float, seconds: float, readback: int, now: float) -> list[str]:
        if self.limit <= 0 or len(self.keys) < 3:
            return list(self.keys)
        rested = sorted(self.keys, key=lambda k: self.used_at.get(k, -math.inf))
        run = min(len(rested) - 1, math.ceil(rate * seconds / self.limit) + 2)
        read = min(len(rested) - run, math.ceil(readback / self.limit) + 2)
        front, back, middle = rested[:run], rested[run : run + read], rested[run + read :]
        for key in (*front, *back):
            self.used_at[key] = now
        return [*front, *middle, *reversed(back)]


def find_capacity(
    settings: Settings,
    options: LoadOptions | None = None,
    *,
    slo: SloConfig | None = None,
    max_rate: float = DEFAULT_MAX_RATE,
    budget: float = DEFAULT_BUDGET,
    step: float = DEFAULT_STEP,
    report_dir: str | Path | None = None,
    allow_remote: bool = False,
    faults: Sequence[str] = (),
    console: Console | None = None,
    quiet: bool = False,
) -> CapacityResult:
    """Search for the capacity within ``budget`` seconds; each step is a ``run_load`` of ``step`` s."""
    if max_rate <= 0:
        raise LoadRefusedError(
            f"--max-rate {max_rate:g}: give a positive rate (requests per second)"
        )
    if step <= 0 or budget < step:
        raise LoadRefusedError(
            f"--step-duration {step:g} s within --duration {budget:g} s: the budget must hold a step"
        )
    if not settings.embedded:
        assert settings.base_url is not None
        check_target(settings.base_url, allow_remote=allow_remote)  # before anything starts
    console = console or report.make_console(quiet)
    base = (options or LoadOptions()).replace(
        model="open", rate=max_rate, ramp_to=None, duration=step,
        readback_sample=(options.readback_sample if options and options.readback_sample is not None else STEP_READBACK),
    )  # fmt: skip
    started_at = time.monotonic()
    folder = Path(report_dir) if report_dir else default_report_dir(settings, "capacity")
    folder.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    ceiling: float | None = None
    # One target (and sink) for every step: each step's run attaches to it like to any target.
    with console.status("starting the target"):
        running = Target.start(
            settings, faults=faults, pool_size=embedded_pool(base, settings.rate_limit)
        )
    with running:
        target = running.settings
        assert target.base_url is not None
        ceiling = pool_ceiling(len(target.api_keys), target.rate_limit)
        top = min(max_rate, ceiling) if ceiling else max_rate
        console.print(
            f"capacity: open model, {step:g} s steps from {next_rate([], top):g}/s up to {top:g}/s "
            f"(--max-rate {max_rate:g}" + (f", key pool {ceiling:g}/s" if ceiling else "")
            + f"), at most {budget:g} s",
            highlight=False,
        )  # fmt: skip
        overhead = FIRST_OVERHEAD
        rota = KeyRota(target.api_keys, target.rate_limit)
        while True:
            rate = next_rate([(s.rate, s.passed) for s in steps if not s.error], top)
            if rate is None or any(s.rate == rate for s in steps):
                break
            elapsed = time.monotonic() - started_at
            if elapsed + step + overhead > budget:
                break
            keys = rota.order(
                rate, step + base.late_threshold + 5, base.readback_sample or 0, elapsed
            )
            ordered = target.replace(api_keys=tuple(keys))
            steps.append(_step(ordered, base, rate, slo, folder, allow_remote, console))
            overhead = max(overhead * 0.5, steps[-1].seconds - step)
            if steps[-1].error:
                break
    result = CapacityResult(steps, max_rate, ceiling, budget, time.monotonic() - started_at, folder)
    result.paths = _write(result)
    _print(result, console)
    return result


def _step(
    target: Settings,
    base: LoadOptions,
    rate: float,
    slo: SloConfig | None,
    folder: Path,
    allow_remote: bool,
    console: Console,
) -> Step:
    run_dir = folder / f"step-{len(list(folder.glob('step-*'))) + 1:02d}-{rate:g}-per-s"
    began = time.monotonic()
    with console.status(f"capacity: {rate:g}/s for {base.duration:g} s"):
        try:
            result = run_load(
                target, replace(base, rate=rate), slo=slo, report_dir=run_dir,
                allow_remote=allow_remote, quiet=True,
            )  # fmt: skip
        except LoadRefusedError as exc:
            return Step(rate, False, error=str(exc), run_dir=str(run_dir))
    seconds = time.monotonic() - began
    out = _measure(result, rate, seconds, run_dir)
    mark = "[green]held[/]" if out.passed else f"[red]broke[/]: {out.first_breach}"
    if out.error:
        mark = f"[red]error[/]: {out.error}"
    console.print(
        f"capacity: {rate:g}/s asked, {out.achieved:g}/s achieved, p99 "
        f"{'-' if out.p99_ms is None else f'{out.p99_ms:.1f} ms'}: {mark}",
        highlight=False,
    )
    return out


def _measure(result: LoadResult, rate: float, seconds: float, run_dir: Path) -> Step:
    summary = result.summary
    if result.exit_code == EXIT_ERROR and not result.rows:
        return Step(
            rate,
            False,
            error=str(summary.get("error", "the run broke")),
            seconds=seconds,
            run_dir=str(run_dir),
        )
    figures = stats.read(run_dir)
    hist = figures.histogram() if figures else None
    requests = summary.get("requests") or {}
    total = int(requests.get("total") or 0)
    lag = ((summary.get("webhooks") or {}).get("lag_ms") or {}).get("p99")
    failed = [r for r in result.rows if r.failed]
    return Step(
        rate=rate,
        passed=result.exit_code == EXIT_PASS,
        breached=tuple(r.slo for r in failed),
        first_breach=_describe(failed[0]) if failed else "",
        achieved=float(requests.get("per_second") or 0.0),
        p50_ms=hist.percentile(50) if hist else None,
        p99_ms=hist.percentile(99) if hist else None,
        error_ratio=(int(requests.get("failures") or 0) / total) if total else None,
        webhook_p99_ms=lag,
        seconds=round(seconds, 1),
        run_dir=str(run_dir),
    )


def _describe(row: SloRow) -> str:
    return f"{row.slo} (measured {row.measured}, threshold {row.threshold})"


def _write(result: CapacityResult) -> dict[str, Path]:
    folder = result.report_dir
    paths = {"capacity": folder / CAPACITY_JSON, "capacity_svg": folder / CAPACITY_SVG}
    paths["capacity"].write_text(
        json.dumps(result.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    paths["capacity_svg"].write_text(chart(result.steps), encoding="utf-8")
    return paths


def chart(steps: Sequence[Step]) -> str:
    """p50/p99 latency and webhook lag p99 (ms), and the error ratio (%), against the asked rate."""
    done = sorted((s for s in steps if not s.error), key=lambda s: s.rate)

    def points(attr: str, scale: float = 1.0) -> list[tuple[float, float]]:
        return [(s.rate, getattr(s, attr) * scale) for s in done if getattr(s, attr) is not None]

    latency = line_chart(
        {
            "p50": points("p50_ms"),
            "p99": points("p99_ms"),
            "webhook lag p99": points("webhook_p99_ms"),
        },
        title="Latency and webhook lag against the arrival rate",
        x_label="requests per second asked (open model)",
        y_label="ms",
    )
    errors = line_chart(
        {"error ratio %": points("error_ratio", 100.0)},
        title="Error ratio against the arrival rate",
        x_label="requests per second asked (open model)",
        y_label="% of requests",
    )
    return stack([latency, errors], title="Capacity search")


def _print(result: CapacityResult, console: Console) -> None:
    table = Table(title="capacity search", title_justify="left")
    for column in ("rate asked", "achieved", "p50", "p99", "errors", "webhook p99", "verdict"):
        table.add_column(column, justify="left" if column == "verdict" else "right")
    for s in sorted(result.steps, key=lambda s: s.rate):

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f} ms"

        verdict = (
            "[red]error[/]"
            if s.error
            else ("[green]held[/]" if s.passed else f"[red]broke[/] {', '.join(s.breached[:2])}")
        )
        table.add_row(
            f"{s.rate:g}/s", f"{s.achieved:g}/s", ms(s.p50_ms), ms(s.p99_ms),
            "-" if s.error_ratio is None else f"{s.error_ratio * 100:.2f}%", ms(s.webhook_p99_ms), verdict,
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{result.verdict()}\n{len(result.steps)} steps in {result.duration:.0f} s; report: "
        f"{result.paths.get('capacity', result.report_dir)}",
        highlight=False,
    )
