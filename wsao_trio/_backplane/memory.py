"""The in-memory backplane: per-user event logs of one process, fanned out by its hub.

It never yields inside a call: append and fan-out happen in one step, so a connection
that attaches inside :meth:`MemoryBackplane.view` can never miss or double an event.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import trio

from wsao_trio._backplane.base import Claim, Stored, View
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._state.eventlog import EventDraft, UserEventLog


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

    def behind(self, user_id: str) -> bool:
        """A connection of the user has events its sender has not taken yet."""
        return self._hub.behind(user_id)

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
