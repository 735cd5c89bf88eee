"""Counters shared by every client of one load run (one trio thread, no locks)."""

from __future__ import annotations

import time
from collections import Counter

import attrs
import trio

from stress.stats import Samples


class Pulse:
    """A level-free wake-up: waiters sleep until the next :meth:`pulse`."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def pulse(self) -> None:
        """Wake every current waiter."""
        self._event.set()
        self._event = trio.Event()

    async def wait(self) -> None:
        """Sleep until the next pulse."""
        await self._event.wait()


@attrs.define
class Recorder:
    """What every client adds to: samples, connections, closes and errors.

    Latencies are milliseconds from the server's event ``timestamp`` to the moment the
    client read the frame (both ``time.time()`` on this machine). Replayed events
    (sent again after a resume) are counted but not sampled: their age measures the
    disconnect, not delivery.
    """

    origin: float = attrs.field(factory=time.time)
    fast: Samples = attrs.field(init=False)
    slow: Samples = attrs.field(init=False)
    replayed: Samples = attrs.field(init=False)
    connected: int = 0
    connections_open: int = 0
    peak_connections: int = 0
    connect_failures: int = 0
    sessions: int = 0
    drops: int = 0
    closes: Counter[str] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    messages_sent: int = 0
    frames_received: int = 0
    acks_sent: int = 0
    first_send: float | None = None
    last_event: float | None = None

    def __attrs_post_init__(self) -> None:
        self.fast = Samples(self.origin)
        self.slow = Samples(self.origin)
        self.replayed = Samples(self.origin)

    def opened(self) -> None:
        """A WebSocket session is open."""
        self.sessions += 1
        self.connections_open += 1
        self.peak_connections = max(self.peak_connections, self.connections_open)

    def closed(self, code: int | None) -> None:
        """A WebSocket session ended with close ``code`` (None: we ended it)."""
        self.connections_open -= 1
        if code is not None:
            self.closes[str(code)] += 1

    def sent(self, now: float) -> None:
        """A ``user_message`` frame was sent."""
        self.messages_sent += 1
        if self.first_send is None:
            self.first_send = now

    def event(self, now: float, latency_ms: float | None, *, slow: bool) -> None:
        """A new event arrived; ``latency_ms`` is None for a replayed one."""
        self.last_event = now
        if latency_ms is None:
            self.replayed.count_only(now)
        elif slow:
            self.slow.add(latency_ms, now)
        else:
            self.fast.add(latency_ms, now)
