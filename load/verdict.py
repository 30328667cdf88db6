"""A load run's exit code (``core.exitcodes``): breach 1, unreachable 3, inconclusive 4, with the reason.

A breach can be the load generator's own doing: an overloaded locust process adds its own
queueing to every latency and starts open-model requests late. Such a breach is inconclusive
(4), not a defect; a lost webhook, a wrong read-back or an error answer is a defect whatever the
generator did. A gate with no data (nothing to measure) makes a passing run inconclusive too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tixallo_qa.core import exitcodes
from tixallo_qa.load.slo import NA, SloRow

# What locust logs when its process ran out of CPU during the run.
OVERLOAD_MARKERS = ("CPU usage above", "CPU usage was too high", "CPU usage threshold was exceeded")
NO_DATA = "no data"


@dataclass(frozen=True)
class Verdict:
    code: int
    reason: str = ""


def generator_sensitive(row: SloRow) -> bool:
    """Latency and start-time gates: what a slow load generator alone can break."""
    name = row.slo
    return (name.endswith((" p95", " p99")) and not name.startswith("webhook")) or name in (
        "open model: late starts",
        "open model: dropped",
    )


def overloaded(log_text: str) -> bool:
    return any(marker in log_text for marker in OVERLOAD_MARKERS)


def decide(
    rows: Sequence[SloRow],
    child_code: int,
    *,
    log_text: str = "",
    unreachable: str | None = None,
) -> Verdict:
    """The exit code and why, from the gate rows, locust's exit code and log, and reachability."""
    if unreachable:
        return Verdict(exitcodes.INFRASTRUCTURE, unreachable)
    failed = [r for r in rows if r.failed]
    if failed:
        if overloaded(log_text) and all(generator_sensitive(r) for r in failed):
            names = ", ".join(r.slo for r in failed)
            return Verdict(
                exitcodes.INCONCLUSIVE,
                f"{names} breached while the load generator was overloaded (locust: CPU usage "
                "above 90%): its own queueing is in those figures; rerun with --processes, fewer "
                "users, or workers on other machines",
            )
        return Verdict(exitcodes.DEFECTS, ", ".join(r.slo for r in failed))
    if child_code not in (0, 1):
        return Verdict(exitcodes.INFRASTRUCTURE, f"locust exited with code {child_code}")
    empty = [r.slo for r in rows if r.verdict == NA and r.measured == NO_DATA]
    if empty:
        return Verdict(
            exitcodes.INCONCLUSIVE,
            f"too few samples to judge {', '.join(empty)}: run longer or with more load",
        )
    return Verdict(exitcodes.PASSED)
