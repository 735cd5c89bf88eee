"""Where events are stored and fanned out: the seam, and the in-memory backplane.

A backplane owns every user's event log (seq assignment, retention, replay) and hands
each published event to the :class:`~wsao_trio.connections.ConnectionHub` of every
process that holds a connection of that user. :class:`Backplane` is the seam; the
in-memory one here serves one process, :mod:`wsao_trio.redisplane` several.

The in-memory backplane never yields inside a call: append and fan-out happen in one
step, so a connection that attaches inside :meth:`MemoryBackplane.view` can never miss
or double an event.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import attrs
import trio

from wsao_trio.config import Settings
from wsao_trio.connections import ConnectionHub
from wsao_trio.eventlog import EventDraft, Replay, UserEventLog
from wsao_trio.protocol import Event


@attrs.frozen
class View:
    """What a connection greets with: the log's epoch and last seq, and a replay if asked."""

    epoch: str
    last_seq: int
    replay: Replay | None


class Stored:
    """An event handed to a backplane, and what became of it.

    The in-memory backplane stores at once; the Redis one answers a round trip later,
    so that a run's events that are ready together share one (the notifier waits only
    when too many of a run's events are unanswered, and for the terminal event).
    """

    __slots__ = ("_done", "error", "event")

    def __init__(self, event: Event | None = None) -> None:
        self.event = event
        self.error: Exception | None = None
        self._done: trio.Event | None = None

    @property
    def settled(self) -> bool:
        """Whether the store has answered (stored, refused or unreachable)."""
        return self.event is not None or self.error is not None

    def settle(self, event: Event | None, error: Exception | None = None) -> None:
        """Record the store's answer and wake whoever waits for it."""
        self.event, self.error = event, error
        if self._done is not None:
            self._done.set()

    async def wait(self) -> Event:
        """The stored event; raises why it was not stored (RunFinished, Unavailable)."""
        if not self.settled:
            self._done = self._done or trio.Event()
            await self._done.wait()
        if self.error is not None:
            raise self.error
        assert self.event is not None
        return self.event


@attrs.frozen
class Claim:
    """The cluster's answer to "may this message start a run?".

    ``existing`` names the original run (run id, thread id) of a duplicate message;
    ``limited`` says the user is at the runs-per-user limit across all processes.
    """

    existing: tuple[str, str] | None = None
    limited: bool = False


class Backplane(Protocol):
    """The event store and fan-out every orchestrator talks to (memory or Redis)."""

    kind: str

    def publish(self, user_id: str, draft: EventDraft) -> Stored:
        """Hand the user's next event to the store (in order); it assigns the seq,
        stores and fans out. Never waits: :meth:`Stored.wait` does."""
        ...

    def view(
        self, user_id: str, after_seq: int | None, epoch: str | None
    ) -> AbstractAsyncContextManager[View]:
        """Hold the user's fan-out still while a connection attaches and greets."""
        ...

    async def ack(self, user_id: str, seq: int) -> int:
        """Record a cumulative ack; return the acked seq."""
        ...

    async def claim_run(
        self, user_id: str, message_id: str, ids: tuple[str, str], limit: int, agent_type: str
    ) -> Claim:
        """Claim ``message_id`` for a new run cluster-wide (dedup and runs limit)."""
        ...

    async def stop_elsewhere(self, user_id: str, run_id: str, reason: str) -> bool:
        """Ask the process that owns ``run_id`` of ``user_id`` to stop it."""
        ...

    async def find_claim(self, user_id: str, message_id: str) -> tuple[str, str] | None:
        """The (run id, thread id) ``message_id`` claimed cluster-wide, within the window."""
        ...

    async def running_elsewhere(self, user_id: str, run_id: str) -> bool:
        """Whether another process runs ``run_id`` of ``user_id`` now."""
        ...

    def present_elsewhere(self, user_id: str) -> bool:
        """Whether another process holds a connection of the user (orphan timeout)."""
        ...

    @property
    def available(self) -> bool:
        """False while the store cannot be reached (new runs get ``unavailable``)."""
        ...

    def forget_idle(self, keep: Iterable[str]) -> int:
        """Drop local state of users not in ``keep`` that hold nothing; return how many."""
        ...

    def health(self) -> dict[str, Any]:
        """The store's part of ``/health``."""
        ...

    @property
    def held_events(self) -> int:
        """Events this process can see held in the store (for health)."""
        ...

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Background upkeep for the orchestrator's lifetime (subscriptions, leases)."""
        ...


def make_backplane(hub: ConnectionHub, settings: Settings, host: Any) -> Backplane:
    """The Redis backplane when ``redis_url`` is set (``host``: the orchestrator), else memory."""
    if settings.redis_url:
        from wsao_trio.redisplane.backplane import RedisBackplane  # needs the redis extra

        plane = RedisBackplane(hub, settings, time.time)
        plane.host = host
        return plane
    return MemoryBackplane(
        hub,
        max_events=settings.retention_events,
        max_age=settings.retention_seconds,
        clock=time.time,
    )


class MemoryBackplane:
    """Per-user event logs in this process's memory, fanned out through the hub."""

    kind = "memory"
    available = True

    def __init__(
        self,
        hub: ConnectionHub,
        *,
        max_events: int,
        max_age: float,
        clock: Callable[[], float],
    ) -> None:
        self._hub = hub
        self._max_events = max_events
        self._max_age = max_age
        self._clock = clock
        self._logs: dict[str, UserEventLog] = {}

    def log(self, user_id: str) -> UserEventLog:
        """The user's log, created (with a fresh epoch) on first use."""
        log = self._logs.get(user_id)
        if log is None:
            log = UserEventLog(
                user_id,
                secrets.token_hex(8),
                max_events=self._max_events,
                max_age=self._max_age,
                clock=self._clock,
            )
            self._logs[user_id] = log
        return log

    def publish(self, user_id: str, draft: EventDraft) -> Stored:
        """Assign the seq, store the event and queue it on the user's connections."""
        event = self.log(user_id).append(draft)
        self._hub.publish(user_id, event)
        return Stored(event)

    @asynccontextmanager
    async def view(
        self, user_id: str, after_seq: int | None, epoch: str | None
    ) -> AsyncIterator[View]:
        """The user's epoch, last seq and replay; nothing is published meanwhile."""
        log = self.log(user_id)
        replay = None if after_seq is None else log.replay(after_seq, epoch)
        yield View(log.epoch, log.last_seq, replay)

    async def ack(self, user_id: str, seq: int) -> int:
        """Record a cumulative ack for the user; returns the acked seq."""
        acked = self.log(user_id).ack(seq)
        self._hub.mark_delivered(user_id, acked)
        return acked

    async def claim_run(
        self, user_id: str, message_id: str, ids: tuple[str, str], limit: int, agent_type: str
    ) -> Claim:
        """One process: the orchestrator's own dedup table and counts are the cluster."""
        return Claim()

    async def stop_elsewhere(self, user_id: str, run_id: str, reason: str) -> bool:
        """There is no elsewhere."""
        return False

    async def find_claim(self, user_id: str, message_id: str) -> tuple[str, str] | None:
        """One process: the orchestrator's own dedup table is the whole truth."""
        await trio.lowlevel.checkpoint()
        return None

    async def running_elsewhere(self, user_id: str, run_id: str) -> bool:
        """One process: no other process runs anything."""
        await trio.lowlevel.checkpoint()
        return False

    def present_elsewhere(self, user_id: str) -> bool:
        """There is no elsewhere."""
        return False

    def forget_idle(self, keep: Iterable[str]) -> int:
        """Drop logs that hold no events of users not in ``keep``; return how many."""
        keep_set = set(keep)
        now = self._clock()
        forgotten = 0
        for uid, log in list(self._logs.items()):
            if uid in keep_set:
                continue
            log.prune(now)
            if log.idle:
                del self._logs[uid]
                forgotten += 1
        return forgotten

    def health(self) -> dict[str, Any]:
        """The store's part of ``/health``: its kind and what it holds."""
        return {"kind": self.kind, "users": len(self._logs), "held_events": self.held_events}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Nothing to keep up in memory."""
        task_status.started()

    @property
    def held_events(self) -> int:
        """Events held across all logs (O(users); for health, not per event)."""
        return sum(len(log) for log in self._logs.values())

    @property
    def user_count(self) -> int:
        """Users with a log."""
        return len(self._logs)
