"""Percentiles, histograms and per-second timelines of the harness's samples."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

import attrs


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


@attrs.frozen
class Summary:
    """p50/p95/p99/max/mean of a sample set, in the samples' unit."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    def as_dict(self) -> dict[str, float]:
        """Rounded values for JSON and tables."""
        return {k: round(float(v), 3) for k, v in attrs.asdict(self).items()}


def summarize(values: Iterable[float]) -> Summary:
    """Summarise ``values`` (any order)."""
    ordered = sorted(values)
    if not ordered:
        return Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return Summary(
        count=len(ordered),
        p50=percentile(ordered, 0.50),
        p95=percentile(ordered, 0.95),
        p99=percentile(ordered, 0.99),
        max=ordered[-1],
        mean=math.fsum(ordered) / len(ordered),
    )


class Samples:
    """A compact growing array of floats (latencies in ms) and a per-second count.

    ``bucket`` seconds are counted from ``origin`` so the timeline of events per
    second can be drawn without keeping a timestamp per sample.
    """

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.values: array[float] = array("d")
        self.per_second: Counter[int] = Counter()

    def add(self, value: float, at: float) -> None:
        """Record one sample taken at time ``at`` (same clock as ``origin``)."""
        self.values.append(value)
        self.per_second[int(at - self.origin)] += 1

    def count_only(self, at: float) -> None:
        """Count an event in the timeline without a latency sample."""
        self.per_second[int(at - self.origin)] += 1

    def timeline(self) -> list[tuple[int, int]]:
        """``(second, events)`` pairs from the first to the last busy second."""
        if not self.per_second:
            return []
        last = max(self.per_second)
        return [(s, self.per_second.get(s, 0)) for s in range(0, last + 1)]
