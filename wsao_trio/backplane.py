"""Where events are stored and fanned out. The in-memory backplane serves one process.

The backplane owns every user's :class:`~wsao_trio.eventlog.UserEventLog` and hands
each appended event to the :class:`~wsao_trio.connections.ConnectionHub`. Append and
fan-out happen in one synchronous step, so a connection that attaches and reads a
replay snapshot in the same step can never miss or double an event.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from wsao_trio.connections import ConnectionHub
from wsao_trio.eventlog import EventDraft, Replay, UserEventLog
from wsao_trio.protocol import Event


class MemoryBackplane:
    """Per-user event logs in this process's memory, fanned out through the hub."""

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

    def publish(self, user_id: str, draft: EventDraft) -> Event:
        """Assign the seq, store the event and queue it on the user's connections."""
        event = self.log(user_id).append(draft)
        self._hub.publish(user_id, event)
        return event

    def replay(self, user_id: str, after_seq: int, epoch: str | None) -> Replay:
        """The user's events after ``after_seq`` (with a gap if some are gone)."""
        return self.log(user_id).replay(after_seq, epoch)

    def ack(self, user_id: str, seq: int) -> int:
        """Record a cumulative ack for the user; returns the acked seq."""
        acked = self.log(user_id).ack(seq)
        self._hub.mark_delivered(user_id, acked)
        return acked

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

    @property
    def held_events(self) -> int:
        """Events held across all logs (O(users); for health, not per event)."""
        return sum(len(log) for log in self._logs.values())

    @property
    def user_count(self) -> int:
        """Users with a log."""
        return len(self._logs)
