"""Latency histograms and percentiles: the project's one definition of both.

Two shapes, one definition of a percentile (nearest rank: the smallest value with at least q %
of the values at or below it):

- ``percentile`` and ``summarize`` on raw values (exact);
- ``Histogram``: an HDR histogram (the ``hdrhistogram`` package) of milliseconds, recorded in
  microseconds with 3 significant digits, so any figure it gives is at most 0.1 % above the true
  value and never below it (the upper edge of the value's bucket). It merges exactly, and its
  encoded form (compressed, base64) is what load processes send to the master.
"""

from __future__ import annotations

import array
import math
from collections.abc import Iterable, Iterator, Sequence

from hdrh.histogram import HdrHistogram

QUANTILES = (50.0, 95.0, 99.0)
SIGNIFICANT_DIGITS = 3
US_PER_MS = 1000
# One hour in microseconds: longer values are recorded as one hour (a request never lasts that long).
HIGHEST_US = 3_600_000_000


def _check(q: float) -> None:
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is outside (0, 100]")


def rank(q: float, count: int) -> int:
    """The 1-based nearest rank of percentile ``q`` among ``count`` values."""
    _check(q)
    return max(1, math.ceil(q / 100 * count - 1e-9))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100] of an ascending sequence; NaN when empty."""
    if not sorted_values:
        return math.nan
    return float(sorted_values[rank(q, len(sorted_values)) - 1])


def summarize(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, max and mean of raw values (None for an empty input)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    out: dict[str, float | int | None] = {"count": len(ordered)}
    for q in QUANTILES:
        out[f"p{q:g}"] = percentile(ordered, q)
    out["max"] = float(ordered[-1])
    out["mean"] = sum(ordered) / len(ordered)
    return out


def _layout() -> tuple[int, int, int, int]:
    """The bucket layout of every histogram here: sub-bucket mask, unit and half-count magnitudes, half count."""
    hdr = HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)
    return (
        int(hdr.sub_bucket_mask),
        int(hdr.unit_magnitude),
        int(hdr.sub_bucket_half_count_magnitude),
        int(hdr.sub_bucket_half_count),
    )


_MASK, _UNIT, _HALF_MAGNITUDE, _HALF_COUNT = _layout()


class Histogram:
    """Latencies in milliseconds, exact to 0.1 % (HDR, 3 significant digits), mergeable and encodable."""

    __slots__ = ("_hdr",)

    def __init__(self, hdr: HdrHistogram | None = None) -> None:
        self._hdr = hdr if hdr is not None else HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)

    # -- recording and merging ---------------------------------------------------------------

    def record(self, ms: float, count: int = 1) -> None:
        """Record one latency (ms); negative values count as 0, values above an hour as an hour.

        The load generator records every request here: the counter index is computed in one
        step, as ``HdrHistogram.record_value`` does over four calls (``_counts_index_for``;
        ``tests/unit/test_histogram.py`` holds the two equal), for a histogram of this layout.
        """
        # Rounded up to the microsecond, so no figure read back is below the truth.
        us = math.ceil(ms * US_PER_MS) if ms > 0 else 0
        if us > HIGHEST_US:
            us = HIGHEST_US
        hdr = self._hdr
        bucket = (us | _MASK).bit_length() - _UNIT - _HALF_MAGNITUDE - 1
        hdr.counts[((bucket + 1) << _HALF_MAGNITUDE) + (us >> (bucket + _UNIT)) - _HALF_COUNT] += (
            count
        )
        hdr.total_count += count
        if us < hdr.min_value:
            hdr.min_value = us
        if us > hdr.max_value:
            hdr.max_value = us

    def add(self, other: Histogram) -> Histogram:
        """Add ``other``'s counts to this histogram (exact); returns self."""
        if other.count:
            self._hdr.add(other._hdr)
        return self

    @classmethod
    def merged(cls, histograms: Iterable[Histogram]) -> Histogram:
        out = cls()
        for h in histograms:
            out.add(h)
        return out

    def encode(self) -> str:
        """The compressed, base64 form (HdrHistogram V2): what travels between processes."""
        return str(self._hdr.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str | bytes) -> Histogram:
        """The histogram ``encode()`` gave; raises ``ValueError`` for anything else."""
        raw = text.encode("ascii") if isinstance(text, str) else text
        try:
            return cls(HdrHistogram.decode(raw))
        except Exception as exc:  # hdrh raises its own cookie/length errors, zlib and binascii ones
            raise ValueError(f"not an encoded HDR histogram: {exc}") from None

    # -- reading -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return int(self._hdr.get_total_count())

    def __bool__(self) -> bool:
        return self.count > 0

    def buckets(self) -> Iterator[tuple[float, int]]:
        """(upper edge in ms, count) of every non-empty bucket, ascending."""
        hdr = self._hdr
        if not hdr.get_total_count():
            return
        # One C-level copy of the counters: walking the ctypes array itself is 3x slower.
        counts = array.array("Q", bytes(hdr.counts))
        for index, n in enumerate(counts):
            if n:
                upper = hdr.get_highest_equivalent_value(hdr.get_value_from_index(index))
                yield min(upper, HIGHEST_US) / US_PER_MS, int(n)

    def percentiles(self, qs: Iterable[float]) -> dict[float, float]:
        """Nearest-rank percentiles in ms (NaN when empty), in one pass over the buckets."""
        return _percentiles(list(self.buckets()), self.count, qs)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile ``q`` in ms: at most 0.1 % above the true value; NaN when empty."""
        return self.percentiles([q])[float(q)]

    @property
    def max(self) -> float:
        return self.percentile(100) if self.count else math.nan

    def summary(self) -> dict[str, float | int | None]:
        """count, p50, p95, p99, max and mean (ms), like ``summarize`` (None when empty)."""
        total = self.count
        if not total:
            return summarize(())
        buckets = list(self.buckets())
        qs = _percentiles(buckets, total, (*QUANTILES, 100.0))
        out: dict[str, float | int | None] = {"count": total}
        for q in QUANTILES:
            out[f"p{q:g}"] = qs[q]
        out["max"] = qs[100.0]
        out["mean"] = sum(value * n for value, n in buckets) / total
        return out


def _percentiles(
    buckets: Sequence[tuple[float, int]], total: int, qs: Iterable[float]
) -> dict[float, float]:
    wanted = sorted({float(q) for q in qs})
    for q in wanted:
        _check(q)
    if not total:
        return dict.fromkeys(wanted, math.nan)
    targets = [(rank(q, total), q) for q in wanted]
    out: dict[float, float] = {}
    seen, i = 0, 0
    for value, n in buckets:
        seen += n
        while i < len(targets) and seen >= targets[i][0]:
            out[targets[i][1]] = value
            i += 1
        if i == len(targets):
            break
    return out
