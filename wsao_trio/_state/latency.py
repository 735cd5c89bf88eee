"""Delivery-latency statistics, sans-IO: a bounded window of recent samples.

The window keeps the newest ``size`` samples in a ring, so memory stays bounded
however long the server runs, and percentiles describe recent behaviour rather than
the whole history. ``max`` and ``count`` cover the whole lifetime.
"""

from __future__ import annotations

import bisect
import math
from typing import Final

import attrs

BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@attrs.frozen
class LatencySummary:
    """Percentiles of the recent window in milliseconds, plus lifetime max and count."""

    p50: float
    p95: float
    p99: float
    max: float
    samples: int


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyWindow:
    """The newest ``size`` latency samples (seconds), summarised in milliseconds.

    It also keeps lifetime histogram counts over :data:`BUCKETS` (upper bounds in
    seconds, the last slot counts everything above) for Prometheus.
    """

    def __init__(self, size: int = 10_000) -> None:
        if size <= 0:
            raise ValueError("size must be > 0")
        self._ring: list[float] = []
        self._size = size
        self._next = 0
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.bucket_counts = [0] * (len(BUCKETS) + 1)

    def add(self, seconds: float) -> None:
        """Record one sample."""
        seconds = max(0.0, seconds)
        if len(self._ring) < self._size:
            self._ring.append(seconds)
        else:
            self._ring[self._next] = seconds
        self._next = (self._next + 1) % self._size
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)
        self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1

    def summary(self) -> LatencySummary:
        """p50/p95/p99 of the window and the lifetime max, in milliseconds."""
        ordered = sorted(self._ring)
        return LatencySummary(
            p50=round(percentile(ordered, 0.50) * 1000, 3),
            p95=round(percentile(ordered, 0.95) * 1000, 3),
            p99=round(percentile(ordered, 0.99) * 1000, 3),
            max=round(self.max * 1000, 3),
            samples=self.count,
        )
