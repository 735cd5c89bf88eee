"""Per-user fan-out inside one process: a cursor, a lock, and gap filling.

A :class:`Feed` exists for each user this process holds connections of. Events of
that user arrive on the process's channel (or from a fill) and are handed to the
hub strictly in seq order; a jump is filled from the user's stream first, so a
dropped pub/sub message never becomes a lost event. The lock keeps fan-out still
while a connection greets (its ``connected`` frame and replay end at the cursor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio

from wsao_trio._backplane.redis.cursor import Arrival, Cursor
from wsao_trio._backplane.redis.wire import FanoutEvent
from wsao_trio._delivery.connections import ConnectionHub, Outgoing
from wsao_trio._state.eventlog import LoggedEvent

CLOSE_LOG_RESTARTED = 1012
ReadRange = Callable[[str, int, int], Awaitable[Sequence[LoggedEvent]]]


class Feed:
    """One user's fan-out state in this process."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.lock = trio.Lock()
        self.cursor: Cursor | None = None
        self.acked = 0
        self.ack_in_flight = False
        self.tail_seen = 0


class FeedSet:
    """Every feed of the process, and the in-order hand-off to the hub."""

    def __init__(self, hub: ConnectionHub, read_range: ReadRange) -> None:
        self._hub = hub
        self._read_range = read_range
        self.feeds: dict[str, Feed] = {}
        self.gap_fills = 0
        self.nursery: trio.Nursery | None = None

    def offer(self, event: FanoutEvent) -> None:
        """Deliver an event of this process (from the publish reply) or the channel.

        The next one in order goes out at once; anything else (a jump, a greeting or a
        fill in progress) is handed to a task that takes the lock and delivers in order.
        """
        feed = self.feeds.get(event.user_id)
        if feed is None:
            return
        cursor = None if feed.lock.locked() else feed.cursor
        if cursor is not None and cursor.classify(event.epoch, event.seq) is Arrival.NEXT:
            self._deliver(feed, LoggedEvent(event.seq, event.timestamp, event.text))
            return
        assert self.nursery is not None
        self.nursery.start_soon(self.arrive, event)

    async def arrive(self, event: FanoutEvent) -> None:
        """Deliver an event from the channel in order (filling any jump first)."""
        feed = self.feeds.get(event.user_id)
        if feed is None or feed.cursor is None:
            return
        async with feed.lock:
            await self._advance(feed, event)

    async def _advance(self, feed: Feed, event: FanoutEvent) -> None:
        assert feed.cursor is not None
        arrival = feed.cursor.classify(event.epoch, event.seq)
        if arrival is Arrival.OLD:
            return
        if arrival is Arrival.NEW_EPOCH:
            self.restart(feed, Cursor(event.epoch, event.seq))
            return
        if arrival is Arrival.JUMP:
            await self.fill(feed, event.seq - 1)
        self._deliver(feed, LoggedEvent(event.seq, event.timestamp, event.text))

    async def fill(self, feed: Feed, upto: int) -> None:
        """Deliver the user's events after the cursor up to ``upto`` from the stream."""
        assert feed.cursor is not None
        if upto <= feed.cursor.seq:
            return
        self.gap_fills += 1
        for held in await self._read_range(feed.user_id, feed.cursor.seq + 1, upto):
            if held.seq > feed.cursor.seq:
                self._deliver(feed, held)

    async def catch_up(self, feed: Feed, stored: Cursor) -> None:
        """Bring the feed to what Redis holds: a new epoch restarts it, a lag is filled.

        Call with the feed's lock held.
        """
        if feed.cursor is None:
            feed.cursor = stored
        elif feed.cursor.epoch != stored.epoch:
            self.restart(feed, stored)
        else:
            await self.fill(feed, stored.seq)

    def _deliver(self, feed: Feed, held: LoggedEvent) -> None:
        assert feed.cursor is not None
        feed.cursor.seq = held.seq
        self._hub.publish_item(feed.user_id, Outgoing(held.text, held.seq, held.timestamp))

    def restart(self, feed: Feed, cursor: Cursor | None = None) -> None:
        """The user's log was lost (Redis came back empty): connections must resume.

        Without a ``cursor`` the feed is dropped; the next attach reads the new epoch.
        """
        feed.cursor = cursor
        feed.acked = feed.tail_seen = 0
        if cursor is None:
            self.feeds.pop(feed.user_id, None)
        for conn in self._hub.connections_of(feed.user_id):
            conn.fail(CLOSE_LOG_RESTARTED, "event log restarted; resume for a replay_gap")
