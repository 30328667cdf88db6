"""How far another clock is from ours: the deployment's ``Date`` header and the webhooks' timestamps.

The sink refuses a webhook whose timestamp is more than ``TIXALLO_WEBHOOK_TOLERANCE`` away from
its clock, so a skewed clock looks exactly like a deployment sending stale webhooks. Doctor
measures the skew and the run report states it. Positive means the other clock is ahead.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from tixallo_qa.core import signing


@dataclass(frozen=True)
class Skew:
    """The other clock minus ours, in seconds, give or take ``uncertainty``."""

    seconds: float
    uncertainty: float
    source: str  # "Date header" or "webhook timestamps"
    samples: int = 1

    def describe(self) -> str:
        side = "ahead of" if self.seconds > 0 else "behind"
        size = f"{abs(self.seconds):.1f} s {side}" if abs(self.seconds) >= 0.05 else "level with"
        of = f" (median of {self.samples})" if self.samples > 1 else ""
        return f"{self.source}{of}: {size} this machine's clock, ±{self.uncertainty:.1f} s"


def from_date_header(date: str | None, sent_at: float, received_at: float) -> Skew | None:
    """The skew a response's ``Date`` (whole seconds) shows, from when it was asked and answered."""
    if not date:
        return None
    try:
        theirs = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    # Date is truncated to the second, and servers (uvicorn, nginx) refresh it once a second:
    # the instant it stands for lies in [theirs, theirs + 2).
    middle = (sent_at + received_at) / 2
    uncertainty = 1.0 + (received_at - sent_at) / 2
    return Skew(round(theirs + 1.0 - middle, 2), round(uncertainty, 2), "Date header")


def timestamp_of(headers: Mapping[str, str]) -> int | None:
    """A delivery's signing timestamp (unix seconds) from whichever scheme's header it carries."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in signing.timestamp_headers():
        value = lowered.get(name, "").strip()
        if value.isascii() and value.isdigit():
            return int(value)
    return None


def from_webhooks(deliveries: Iterable[tuple[Mapping[str, str], float]]) -> Skew | None:
    """The skew webhook timestamps show against when the sink received them (headers, received_at).

    The timestamp is taken when the attempt is signed, so the delivery's own travel time shows
    as the sender's clock being behind by that much; the median of many hides the outliers.
    """
    gaps = []
    for headers, received_at in deliveries:
        ts = timestamp_of(headers)
        if ts is not None:
            gaps.append(ts + 0.5 - received_at)
    if not gaps:
        return None
    return Skew(round(statistics.median(gaps), 2), 0.5, "webhook timestamps", len(gaps))


def verdict(skews: Iterable[Skew | None], tolerance: float) -> tuple[str, bool]:
    """One sentence for the report, and whether the worst skew threatens the freshness check."""
    found = [s for s in skews if s is not None]
    if not found:
        return "clock skew not measured (no Date header and no timestamped webhook)", True
    worst = max(abs(s.seconds) + s.uncertainty for s in found)
    text = "; ".join(s.describe() for s in found)
    ok = worst < tolerance / 2
    tail = (
        f"within the {tolerance:g} s freshness tolerance"
        if ok
        else f"close to or past the {tolerance:g} s freshness tolerance (TIXALLO_WEBHOOK_TOLERANCE): "
        "sync the clocks (NTP)"
    )
    return f"{text}; {tail}", ok
