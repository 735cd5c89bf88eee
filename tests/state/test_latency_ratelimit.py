"""Property tests for the latency window (percentiles, buckets) and the token bucket."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsao_trio._state.latency import BUCKETS, LatencyWindow, percentile
from wsao_trio._state.ratelimit import TokenBucket

samples = st.floats(min_value=-1.0, max_value=30.0, allow_nan=False)
# The fractions the server reports, as exact decimals for the oracle.
FRACTIONS = {0.5: Fraction("0.5"), 0.95: Fraction("0.95"), 0.99: Fraction("0.99")}


def nearest_rank(values: list[float], fraction: Fraction) -> float:
    """Textbook nearest-rank percentile over a sorted copy, in exact arithmetic."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- percentile ----------------------------------------------------------------------


@given(st.lists(samples, max_size=300), st.sampled_from(sorted(FRACTIONS)))
def test_percentile_agrees_with_the_nearest_rank_oracle(values: list[float], p: float) -> None:
    assert percentile(sorted(values), p) == nearest_rank(values, FRACTIONS[p])


@pytest.mark.parametrize("n", [1, 2, 3, 10, 20, 99, 100, 101, 1000, 10_000, 12_345])
@pytest.mark.parametrize("p", sorted(FRACTIONS))
def test_percentile_rank_is_exact_for_round_sizes(n: int, p: float) -> None:
    values = [float(i) for i in range(1, n + 1)]
    assert percentile(values, p) == math.ceil(FRACTIONS[p] * n)


@given(st.lists(samples, min_size=1, max_size=50))
def test_percentile_extremes(values: list[float]) -> None:
    ordered = sorted(values)
    assert percentile(ordered, 0.0) == ordered[0]
    assert percentile(ordered, 1.0) == ordered[-1]
    assert ordered[0] <= percentile(ordered, 0.5) <= percentile(ordered, 0.99) <= ordered[-1]


def test_percentile_of_nothing_is_zero() -> None:
    assert percentile([], 0.5) == 0.0


# --- the window ------------------------------------------------------------------------


def _bucket_of(seconds: float) -> int:
    return next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))


@given(st.integers(min_value=1, max_value=40), st.lists(samples, max_size=200))
def test_window_summary_matches_the_oracle_over_recent_samples(
    size: int, values: list[float]
) -> None:
    window = LatencyWindow(size)
    for value in values:
        window.add(value)
    recent = [max(0.0, v) for v in values[-size:]]
    summary = window.summary()
    for name, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert getattr(summary, name) == round(nearest_rank(recent, FRACTIONS[p]) * 1000, 3)
    lifetime = [max(0.0, v) for v in values]
    assert summary.max == round(max(lifetime, default=0.0) * 1000, 3)
    assert summary.samples == window.count == len(values)
    assert window.total == pytest.approx(math.fsum(lifetime))


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=0, max_value=100))
def test_window_is_bounded_and_forgets_old_samples(size: int, extra: int) -> None:
    window = LatencyWindow(size)
    for _ in range(size + extra):
        window.add(10.0)  # old, slow samples
    for _ in range(size):
        window.add(0.001)  # the window now holds only these
    summary = window.summary()
    assert summary.p50 == summary.p95 == summary.p99 == 1.0
    assert summary.max == 10_000.0
    assert summary.samples == 2 * size + extra


@given(st.lists(samples | st.sampled_from(BUCKETS) | st.just(math.inf), max_size=200))
def test_bucket_counts_sum_to_count_and_place_each_sample(values: list[float]) -> None:
    window = LatencyWindow(16)
    expected = [0] * (len(BUCKETS) + 1)
    for value in values:
        window.add(value)
        expected[_bucket_of(max(0.0, value))] += 1
    assert window.bucket_counts == expected
    assert sum(window.bucket_counts) == window.count == len(values)


@pytest.mark.parametrize("size", [0, -1])
def test_window_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError):
        LatencyWindow(size)


# --- the token bucket --------------------------------------------------------------------

rates = st.sampled_from([0.5, 1.0, 3.0, 50.0]) | st.floats(min_value=0.01, max_value=1000.0)
bursts = st.integers(min_value=1, max_value=50)
# Gaps between calls (seconds); zero means several calls at the same instant.
gaps = st.lists(
    st.sampled_from([0.0, 0.0, 0.001, 0.1, 1.0]) | st.floats(0.0, 5.0), min_size=1, max_size=120
)


def _drive(rate: float, burst: int, steps: list[float]) -> list[tuple[float, bool]]:
    now = 100.0
    bucket = TokenBucket(rate, burst, now)
    calls = []
    for gap in steps:
        now += gap
        calls.append((now, bucket.allow(now)))
    return calls


@given(rates, bursts, gaps)
@settings(max_examples=150)
def test_bucket_never_allows_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, steps: list[float]
) -> None:
    calls = _drive(rate, burst, steps)
    times = [t for t, _ in calls]
    allowed_prefix = [0]
    for _, ok in calls:
        allowed_prefix.append(allowed_prefix[-1] + ok)
    for i in range(len(calls)):  # every interval [t_i, t_j] of calls
        for j in range(i, len(calls)):
            allowed = allowed_prefix[j + 1] - allowed_prefix[i]
            assert allowed <= math.floor(burst + rate * (times[j] - times[i]) + 1e-6)


@given(rates, bursts)
def test_a_full_bucket_allows_exactly_a_burst_at_once(rate: float, burst: int) -> None:
    calls = _drive(rate, burst, [0.0] * (burst + 3))
    assert [ok for _, ok in calls] == [True] * burst + [False] * 3


@given(rates, bursts, st.integers(min_value=1, max_value=60))
def test_calls_spaced_slower_than_the_rate_are_always_allowed(
    rate: float, burst: int, n: int
) -> None:
    calls = _drive(rate, burst, [0.0] * burst + [1.01 / rate] * n)
    assert all(ok for _, ok in calls)


def test_clock_going_backwards_does_not_refill() -> None:
    bucket = TokenBucket(1.0, 1, 10.0)
    assert bucket.allow(10.0)
    assert not bucket.allow(5.0)
    assert not bucket.allow(5.5)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0), (1.0, -3)])
def test_bucket_rejects_non_positive_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, 0.0)
