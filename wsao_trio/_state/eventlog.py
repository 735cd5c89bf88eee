"""Per-user event log, sans-IO: seq assignment, retention, replay and acks.

Each user has one log whose ``seq`` grows by exactly 1 across all of that user's
runs, starting at 1. The log keeps the newest events within both bounds of its
retention (``max_events`` and ``max_age`` seconds, by an injected clock) and answers
"replay everything after seq N" with exactly the missing events in order, or with a
:class:`Gap` saying why some are gone. ``epoch`` names this log's lifetime: a resume
that names another epoch gets a gap, never events from a different log.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import attrs

from wsao_trio.protocol import Event, encode_event


@attrs.frozen
class Gap:
    """Why a replay could not return everything after ``requested_after``."""

    requested_after: int
    oldest_available: int
    reason: str  # "retention" | "epoch"


class LoggedEvent(NamedTuple):
    """A held event as replay needs it: its seq, creation time and encoded text."""

    seq: int
    timestamp: float
    text: str


@attrs.frozen
class Replay:
    """The answer to a resume: an optional gap, then the events held after it, in order."""

    gap: Gap | None
    events: tuple[LoggedEvent, ...]


def gap_for(
    after_seq: int, epoch: str | None, log_epoch: str, last_seq: int, oldest: int
) -> Gap | None:
    """Why a resume after ``after_seq`` cannot be served in full from a log, or None.

    ``oldest`` is the oldest seq the log still holds (``last_seq + 1`` when empty). A
    resume naming another epoch, or a seq the log never gave out, is an ``epoch`` gap;
    one whose next event was dropped by retention is a ``retention`` gap.
    """
    if (epoch is not None and epoch != log_epoch) or after_seq > last_seq:
        return Gap(after_seq, oldest, "epoch")
    if after_seq < oldest - 1:
        return Gap(after_seq, oldest, "retention")
    return None


@attrs.frozen
class EventDraft:
    """Everything about an event except what the log assigns (seq, id, timestamp)."""

    type: str
    run_id: str
    thread_id: str
    agent_type: str
    payload: Mapping[str, Any]


def event_of(
    draft: EventDraft, user_id: str, epoch: str, seq: int, timestamp: float, text: str
) -> Event:
    """The :class:`Event` a log gave ``seq`` in ``epoch`` (its id is ``<epoch>-<seq>``)."""
    return Event(
        seq,
        f"{epoch}-{seq}",
        draft.type,
        draft.run_id,
        draft.thread_id,
        draft.agent_type,
        user_id,
        timestamp,
        draft.payload,
        text,
    )


class UserEventLog:
    """One user's events: seq assignment, bounded retention, replay, cumulative acks.

    Held events are stored as plain ``(seq, timestamp, text)`` tuples of atoms, which
    CPython's cyclic collector stops tracking: a server holding a million events does
    not make every full collection walk a million objects.
    """

    def __init__(
        self,
        user_id: str,
        epoch: str,
        *,
        max_events: int,
        max_age: float,
        clock: Callable[[], float],
    ) -> None:
        self.user_id = user_id
        self.epoch = epoch
        self._max_events = max_events
        self._max_age = max_age
        self._clock = clock
        self._events: deque[tuple[int, float, str]] = deque()
        self.last_seq = 0
        self.acked_seq = 0

    def append(self, draft: EventDraft) -> Event:
        """Assign seq, event id and timestamp, encode once, store and return the event.

        The event id is ``<epoch>-<seq>``: unique because epochs are random per log,
        and free of the entropy syscall a random id would cost on every event.
        """
        now = self._clock()
        self.last_seq += 1
        event = self._build(draft, self.last_seq, now)
        self._events.append((event.seq, now, event.text))
        self.prune(now)
        return event

    def _build(self, draft: EventDraft, seq: int, now: float) -> Event:
        wire = {
            "type": draft.type,
            "seq": seq,
            "event_id": f"{self.epoch}-{seq}",
            "run_id": draft.run_id,
            "thread_id": draft.thread_id,
            "agent_type": draft.agent_type,
            "timestamp": now,
            "payload": draft.payload,
        }
        return event_of(draft, self.user_id, self.epoch, seq, now, encode_event(wire))

    def prune(self, now: float) -> int:
        """Drop events beyond the count bound or older than the age bound."""
        dropped = 0
        while self._events and (
            len(self._events) > self._max_events or now - self._events[0][1] > self._max_age
        ):
            self._events.popleft()
            dropped += 1
        return dropped

    @property
    def oldest_seq(self) -> int:
        """The oldest seq still held; ``last_seq + 1`` when nothing is held."""
        return self._events[0][0] if self._events else self.last_seq + 1

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[LoggedEvent]:
        return (LoggedEvent(*held) for held in self._events)

    def replay(self, after_seq: int, epoch: str | None = None) -> Replay:
        """Every held event with ``seq > after_seq``, with a gap if any are missing."""
        self.prune(self._clock())
        oldest = self.oldest_seq
        gap = gap_for(after_seq, epoch, self.epoch, self.last_seq, oldest)
        if gap is not None:
            return Replay(gap, tuple(self))
        held = itertools.islice(self._events, after_seq - oldest + 1, None)
        return Replay(None, tuple(LoggedEvent(*entry) for entry in held))

    def ack(self, seq: int) -> int:
        """Record a cumulative ack; acks never go backwards or past ``last_seq``."""
        self.acked_seq = max(self.acked_seq, min(seq, self.last_seq))
        return self.acked_seq

    @property
    def idle(self) -> bool:
        """True when the log holds no events (it may be forgotten safely only then)."""
        return not self._events
