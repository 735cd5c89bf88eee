"""The idempotency table, sans-IO: (user, message_id) → a value within a window.

The clock is injected (a callable returning seconds), so tests drive time directly.
``claim`` is atomic with respect to its caller: it either records a new claim and
returns None, or returns the run id already holding the key. Entries expire after
``window`` seconds and are pruned in insertion order, so pruning is amortised O(1).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DedupTable(Generic[T]):
    """Remembers what each (user, message_id) started (e.g. a run id), for ``window`` seconds."""

    def __init__(self, window: float, clock: Callable[[], float]) -> None:
        if window <= 0:
            raise ValueError("window must be > 0")
        self._window = window
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[T, float]] = OrderedDict()
        self.hits = 0

    def claim(self, user_id: str, message_id: str, value: T) -> T | None:
        """Claim the key for ``value``; return the existing value if already claimed."""
        now = self._clock()
        self.prune(now)
        key = (user_id, message_id)
        existing = self._entries.get(key)
        if existing is not None:
            self.hits += 1
            return existing[0]
        self._entries[key] = (value, now)
        return None

    def lookup(self, user_id: str, message_id: str) -> T | None:
        """The value holding the key, or None (does not count as a hit)."""
        self.prune(self._clock())
        entry = self._entries.get((user_id, message_id))
        return None if entry is None else entry[0]

    def release(self, user_id: str, message_id: str) -> None:
        """Forget the key (a claim that did not lead to a run)."""
        self._entries.pop((user_id, message_id), None)

    def prune(self, now: float) -> int:
        """Drop entries older than the window; return how many were dropped."""
        dropped = 0
        while self._entries:
            key, (_, created) = next(iter(self._entries.items()))
            if now - created < self._window:
                break
            del self._entries[key]
            dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self._entries)
