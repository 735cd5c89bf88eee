"""ConnectionHub: which connections each user holds, and fan-out to them.

Each :class:`Connection` owns a bounded trio memory channel. Publishing an event puts
the already-encoded text into the channel of each of *that user's* connections with
``send_nowait`` — never awaiting a socket — so a run is never slowed by a client. A
full channel means the client is too slow: the connection is failed with 4408 and
resumes from its last seq. One sender task per connection (:mod:`wsao_trio._delivery.sender`)
reads the channel and writes to the socket under a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import trio

from wsao_trio._delivery.mailbox import Mailbox
from wsao_trio._state.eventlog import LoggedEvent
from wsao_trio._state.ids import new_id
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.protocol import CLOSE_SLOW_CONSUMER, Event


@attrs.frozen
class Outgoing:
    """One encoded frame for one connection; ``seq`` is 0 for control frames.

    ``created`` is the wall-clock time the event was created, for delivery latency.
    """

    text: str
    seq: int = 0
    created: float = 0.0


@attrs.frozen
class Preamble:
    """Frames sent as one item: ``connected`` and/or a replay after a resume.

    ``rewind_to`` lets the sender re-send events with ``seq > rewind_to`` even if it
    sent them before (a ``resume`` frame on a live connection asks for exactly that).
    """

    items: tuple[Outgoing, ...]
    rewind_to: int | None = None


@attrs.frozen
class CloseAfter:
    """Close the connection with ``code`` once everything queued before is written."""

    code: int
    reason: str


ChannelItem = Outgoing | Preamble | CloseAfter


def outgoing_event(event: Event | LoggedEvent) -> Outgoing:
    """The channel item for an event: its text, encoded once, shared by all connections."""
    return Outgoing(event.text, event.seq, event.timestamp)


class Connection:
    """One WebSocket of one user, as the hub sees it (no socket in here)."""

    def __init__(self, user_id: str, buffer: int, stats: OrchestratorStats) -> None:
        self.connection_id = new_id()
        self.user_id = user_id
        self.queue: Mailbox[ChannelItem] = Mailbox(buffer)
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = False
        self.last_sent_seq = 0
        self.close_after: CloseAfter | None = None
        #: The scope serving this connection: :meth:`fail` cancels it, so the session
        #: needs no task of its own watching for a close request.
        self.cancel_scope: trio.CancelScope | None = None
        #: Starts the connection's sender task when none runs (set by the session):
        #: an idle connection holds no sender, the next item it gets starts one.
        self.wake: Callable[[], None] | None = None
        self.sending = False
        self._stats = stats

    def push(self, item: ChannelItem) -> bool:
        """Queue an item without waiting; a full buffer fails the connection (4408)."""
        if self.closed:
            return False
        if not self._queue(item):
            self._stats.buffer_overflows += 1
            self.fail(CLOSE_SLOW_CONSUMER, "slow consumer: send buffer full")
            return False
        return True

    def _queue(self, item: ChannelItem) -> bool:
        """Queue ``item`` and start the sender if none runs; False when full."""
        if not self.queue.put(item):
            return False
        if not self.sending and self.wake is not None:
            self.wake()
        return True

    def fail(self, code: int, reason: str) -> None:
        """Ask for this connection to close with ``code``; the first request wins."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            if code == CLOSE_SLOW_CONSUMER:
                self._stats.slow_consumer_closes += 1
        self.closed = True
        if self.cancel_scope is not None:
            self.cancel_scope.cancel()

    def close_when_flushed(self, code: int, reason: str) -> None:
        """Close with ``code`` after the frames already queued; at once if the queue is full."""
        if not self._queue(CloseAfter(code, reason)):
            self.fail(code, reason)

    @property
    def queue_depth(self) -> int:
        """Items waiting in this connection's queue."""
        return len(self.queue)


class ConnectionHub:
    """User → connections, fan-out of encoded events, and delivery confirmations."""

    def __init__(self, buffer: int, stats: OrchestratorStats, clock: Callable[[], float]) -> None:
        self._buffer = buffer
        self._stats = stats
        self._clock = clock
        self._by_user: dict[str, dict[str, Connection]] = {}
        self._detached_at: dict[str, float] = {}
        self._delivered: dict[str, int] = {}
        self._waiters: dict[str, list[tuple[int, trio.Event]]] = {}
        self._count = 0
        self._empty: trio.Event | None = None  # made while someone waits for no connection

    def attach(self, user_id: str) -> Connection:
        """Register a new connection for ``user_id`` (any number per user)."""
        conn = Connection(user_id, self._buffer, self._stats)
        self._by_user.setdefault(user_id, {})[conn.connection_id] = conn
        self._count += 1
        self._detached_at.pop(user_id, None)
        self._stats.connections_opened += 1
        return conn

    def detach(self, conn: Connection) -> None:
        """Forget a connection; remember when its user was left with none."""
        conns = self._by_user.get(conn.user_id, {})
        if conns.pop(conn.connection_id, None) is not None:
            self._count -= 1
        conn.closed = True
        if not self._count and self._empty is not None:
            self._empty.set()
            self._empty = None
        if not conns:
            self._by_user.pop(conn.user_id, None)
            self._detached_at[conn.user_id] = self._clock()

    async def wait_empty(self) -> None:
        """Wait until no connection is attached (shutdown: every session has ended)."""
        while self._count:
            self._empty = self._empty or trio.Event()
            await self._empty.wait()

    def publish(self, user_id: str, event: Event) -> int:
        """Queue ``event`` on each of the user's connections; return how many took it."""
        return self.publish_item(user_id, outgoing_event(event))

    def publish_item(self, user_id: str, item: Outgoing) -> int:
        """Queue an encoded event on each of the user's connections."""
        return sum(conn.push(item) for conn in list(self._by_user.get(user_id, {}).values()))

    def behind(self, user_id: str) -> bool:
        """Whether a connection of the user has queued items its sender has not taken."""
        return any(conn.queue_depth for conn in self._by_user.get(user_id, {}).values())

    def connections_of(self, user_id: str) -> list[Connection]:
        """The user's open connections."""
        return list(self._by_user.get(user_id, {}).values())

    def all_connections(self) -> Iterable[Connection]:
        """Every open connection (for shutdown and health, never per event)."""
        for conns in list(self._by_user.values()):
            yield from list(conns.values())

    def disconnected_since(self, user_id: str) -> float | None:
        """When the user was left with no connection; None while connected or unknown."""
        return None if user_id in self._by_user else self._detached_at.get(user_id)

    def is_connected(self, user_id: str) -> bool:
        """Whether the user holds at least one connection."""
        return user_id in self._by_user

    @property
    def connection_count(self) -> int:
        """Open connections across all users (kept as a count: checked per handshake)."""
        return self._count

    def count_of(self, user_id: str) -> int:
        """How many connections the user holds."""
        return len(self._by_user.get(user_id, ()))

    @property
    def user_count(self) -> int:
        """Users with at least one open connection."""
        return len(self._by_user)

    def mark_delivered(self, user_id: str, seq: int) -> None:
        """A connection wrote or a client acked every event up to ``seq``: wake waiters."""
        if seq <= self._delivered.get(user_id, 0):
            return
        self._delivered[user_id] = seq
        waiters = self._waiters.get(user_id)
        if waiters:
            for wanted, event in waiters:
                if wanted <= seq:
                    event.set()
            self._set_waiters(user_id, [(s, ev) for s, ev in waiters if s > seq])

    def _set_waiters(self, user_id: str, waiters: list[tuple[int, trio.Event]]) -> None:
        if waiters:
            self._waiters[user_id] = waiters
        else:
            self._waiters.pop(user_id, None)

    async def wait_delivered(self, user_id: str, seq: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until ``seq`` of the user is written or acked.

        True once any connection of the user wrote it to its socket or the user
        acked it (on any process); False at the timeout. Cancellation propagates; a
        timed-out or cancelled call leaves no waiter behind.
        """
        if self._delivered.get(user_id, 0) >= seq:
            return True
        event = trio.Event()
        self._waiters.setdefault(user_id, []).append((seq, event))
        try:
            with trio.move_on_after(timeout):
                await event.wait()
        finally:
            if not event.is_set():
                waiters = self._waiters.get(user_id, [])
                self._set_waiters(user_id, [(s, ev) for s, ev in waiters if ev is not event])
        return event.is_set()

    def forget_user(self, user_id: str) -> None:
        """Drop delivery bookkeeping of a user with no connection and no runs."""
        if user_id not in self._by_user and user_id not in self._waiters:
            self._delivered.pop(user_id, None)
            self._detached_at.pop(user_id, None)

    def known_detached(self) -> list[str]:
        """Users whose last connection closed (for the janitor)."""
        return list(self._detached_at)
