"""A connection's queue: a bounded deque with one waiting reader, and little else.

Each WebSocket holds one; idle connections are what a server holds most of, and a
``trio`` memory channel pair costs about 2.8 KiB (its state keeps two ordered dicts
for waiting tasks and statistics; each end is an object of its own). A connection's
queue needs less: producers never wait (a full queue fails the connection, 4408) and
one sender task reads. :class:`Mailbox` is a deque (dropped while the connection is
idle: an empty deque still holds a 64-slot block) and, only while the reader waits, a
``trio.Event``.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Items for one reader, at most ``limit`` queued; ``put`` never waits."""

    __slots__ = ("_items", "_limit", "_waiter")

    def __init__(self, limit: int) -> None:
        self._items: deque[T] | None = None
        self._limit = limit
        self._waiter: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else 0

    def put(self, item: T) -> bool:
        """Queue ``item``; False (nothing queued) when ``limit`` items wait already."""
        if self._items is None:
            self._items = deque()
        elif len(self._items) >= self._limit:
            return False
        self._items.append(item)
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None
        return True

    def unget(self, item: T) -> None:
        """Put a taken item back at the front (its reader left before sending it)."""
        if self._items is None:
            self._items = deque()
        self._items.appendleft(item)

    def take_nowait(self) -> T | None:
        """The oldest item, or None when empty."""
        return self._items.popleft() if self._items else None

    async def take(self) -> T:
        """The oldest item, waiting for one (one reader at a time; cancellable)."""
        while not self._items:
            waiter = self._waiter = trio.Event()
            await waiter.wait()
        return self._items.popleft()

    def shrink(self) -> None:
        """Let go of the empty deque (the reader is leaving an idle connection)."""
        if not self._items:
            self._items, self._waiter = None, None
