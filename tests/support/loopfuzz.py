"""Hypothesis against one live server: examples drawn in a worker thread, run in the loop.

pytest-trio would run each example of an async hypothesis test in a fresh
``trio.run`` (and so a fresh server). Instead the server lives in the test's trio
run; :func:`examples_in_loop` builds a plain hypothesis test for
``trio.to_thread.run_sync``, and each example hops back into the loop with
``trio.from_thread.run``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def examples_in_loop(
    strategy: st.SearchStrategy[T],
    count: int,
    check: Callable[..., Awaitable[Any]],
    *args: Any,
) -> Callable[[], None]:
    """A hypothesis test of ``count`` examples; each runs ``await check(*args, case)``."""

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def examples(case: T) -> None:
        trio.from_thread.run(check, *args, case)

    return examples
