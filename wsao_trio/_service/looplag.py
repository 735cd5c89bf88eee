"""The loop-lag monitor: how late the event loop wakes a task that asked to sleep.

One task in the orchestrator's root nursery sleeps ``interval`` seconds over and over
and measures how much later than asked it woke up. Anything that blocks the loop (a
CPU-bound tool run on it, a pathological regex, a synchronous call to a slow service)
delays every user's events by the same amount, and shows here first: the newest and
the largest recent lag are in the health snapshot and in ``/metrics``, and a lag over
``warning`` is logged (at most once per :data:`WARN_EVERY` seconds, with a count).
"""

from __future__ import annotations

import logging
from collections import deque

import attrs
import trio

# The logger keeps its documented name (docs/operations.md), whatever the module path.
logger = logging.getLogger("wsao_trio.looplag")
WARN_EVERY = 10.0
RECENT = 120  # samples kept for the "recent max"


@attrs.frozen
class LoopLagStatistics:
    """Lag figures in seconds: the newest sample, the largest recent one, stall count."""

    last: float
    recent_max: float
    stalls: int
    samples: int


class LoopLagMonitor:
    """Measures scheduling delay; see the module doc. Run :meth:`run` in a nursery."""

    def __init__(self, interval: float, warning: float) -> None:
        self.interval = interval
        self.warning = warning
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._stalls = 0
        self._samples = 0
        self._last_warned = -WARN_EVERY
        self._unwarned = 0

    async def run(self) -> None:
        """Sample forever (until cancelled).

        Each interval it sleeps and measures how late it woke: a late wake-up is
        time the event loop spent blocked. Warnings are rate limited; nothing here
        raises.
        """
        while True:
            asked = trio.current_time() + self.interval
            await trio.sleep_until(asked)
            self.record(max(0.0, trio.current_time() - asked), trio.current_time())

    def record(self, lag: float, now: float) -> None:
        """Take one sample of ``lag`` seconds measured at ``now``."""
        self._recent.append(lag)
        self._samples += 1
        if lag > self.warning:
            self._stalls += 1
            self._unwarned += 1
            if now - self._last_warned >= WARN_EVERY:
                logger.warning(
                    "event loop lag %.3f s (over %.3f s; %d stall(s) since the last warning): "
                    "something blocks the loop",
                    lag,
                    self.warning,
                    self._unwarned,
                )
                self._last_warned, self._unwarned = now, 0

    def statistics(self) -> LoopLagStatistics:
        """The current figures."""
        last = self._recent[-1] if self._recent else 0.0
        return LoopLagStatistics(last, max(self._recent, default=0.0), self._stalls, self._samples)
