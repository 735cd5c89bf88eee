"""The per-connection sender task: channel → socket, batched, under a deadline.

It reads the connection's memory channel, drains whatever else is already queued (up
to ``batch_max`` frames) into one newline-delimited WebSocket frame, drops events the
connection already sent (by seq), and writes under ``send_deadline``. A write that
misses its deadline fails the connection with 4408; like h11's ``send_failed()``, the
core is told, it does not guess. Cancellation simply stops the loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import trio

from wsao_trio._delivery.connections import (
    ChannelItem,
    CloseAfter,
    Connection,
    ConnectionHub,
    Outgoing,
    Preamble,
)
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.protocol import CLOSE_SLOW_CONSUMER, join_frames

SendText = Callable[[str], Awaitable[None]]
LINGER = 2.0
"""Seconds a sender waits for the next item before its task ends (an idle connection
holds no sender task; the next item starts one)."""


def _expand(conn: Connection, item: ChannelItem, out: list[Outgoing]) -> None:
    if isinstance(item, CloseAfter):
        conn.close_after = item
    elif isinstance(item, Preamble):
        if item.rewind_to is not None:
            conn.last_sent_seq = min(conn.last_sent_seq, item.rewind_to)
        for sub in item.items:
            _keep(conn, sub, out)
    else:
        _keep(conn, item, out)


def _keep(conn: Connection, item: Outgoing, out: list[Outgoing]) -> None:
    if item.seq == 0:
        out.append(item)
    elif item.seq > conn.last_sent_seq:
        conn.last_sent_seq = item.seq
        out.append(item)


def _next_batch(conn: Connection, first: ChannelItem, batch_max: int) -> list[Outgoing]:
    batch: list[Outgoing] = []
    _expand(conn, first, batch)
    while len(batch) < batch_max and conn.close_after is None:
        item = conn.queue.take_nowait()
        if item is None:
            break
        _expand(conn, item, batch)
    return batch


class _Progress:
    """Where a sender stands, for telling a linger expiry from a missed send deadline."""

    __slots__ = ("holding", "writing")

    def __init__(self) -> None:
        self.holding: ChannelItem | None = None  # taken from the queue, not yet batched
        self.writing = False


class Sender:
    """Delivers one connection's queued frames to its socket."""

    def __init__(
        self,
        hub: ConnectionHub,
        stats: OrchestratorStats,
        *,
        send_deadline: float,
        batch_max: int,
        linger: float = LINGER,
    ) -> None:
        self._hub = hub
        self._stats = stats
        self._deadline = send_deadline
        self._batch_max = batch_max
        self._linger = linger

    async def run(self, conn: Connection, send: SendText) -> bool:
        """Send until the connection is failed, the task is cancelled, or nothing came
        for ``linger`` seconds; True in that last case (the connection is idle: the
        caller starts a sender again when an item comes, see ``Connection.wake``).

        One cancel scope serves every wait and every write, which costs less per frame
        than a fresh ``move_on_after`` each: its deadline is the linger while the
        queue is empty and the send deadline from the start of each write. Only an
        expiry during a write is a missed send deadline (4408); one before it (the
        linger ran out as an item came) puts the item back and reports idle, so the
        caller starts a fresh sender for it.
        """
        progress = _Progress()
        with trio.CancelScope() as scope:
            while True:
                first = conn.queue.take_nowait()
                if first is None:
                    scope.deadline = trio.current_time() + self._linger
                    first = await conn.queue.take()
                progress.holding = first
                if not await self._deliver(conn, first, scope, send, progress):
                    return False
        if progress.writing:
            self._stats.deadline_misses += 1
            conn.fail(CLOSE_SLOW_CONSUMER, "slow consumer: send deadline missed")
            return False
        if progress.holding is not None:
            conn.queue.unget(progress.holding)
        return True

    async def _deliver(
        self,
        conn: Connection,
        first: ChannelItem,
        scope: trio.CancelScope,
        send: SendText,
        progress: _Progress,
    ) -> bool:
        """Write ``first`` and what else is queued as one frame; False once closing."""
        # One scheduler pass lets events emitted in the same pass (a tool's executing
        # + completed, run_accepted + agent_started) join this frame.
        await trio.lowlevel.checkpoint()
        progress.holding = None
        batch = _next_batch(conn, first, self._batch_max)
        if batch:
            scope.deadline = trio.current_time() + self._deadline
            progress.writing = True
            await send(join_frames(item.text for item in batch))
            progress.writing = False
            self._record(conn, batch)
        if conn.close_after is not None:
            conn.fail(conn.close_after.code, conn.close_after.reason)
            return False
        return True

    def _record(self, conn: Connection, batch: list[Outgoing]) -> None:
        now = time.time()
        self._stats.frames_sent += 1
        top = 0
        for item in batch:
            if item.seq:
                self._stats.events_delivered += 1
                self._stats.delivery_latency.add(now - item.created)
                top = item.seq
        if top:
            self._hub.mark_delivered(conn.user_id, top)
