"""The seam where events are stored and fanned out: what every engine provides.

A backplane owns every user's event log (seq assignment, retention, replay) and hands
each published event to the :class:`~wsao_trio._delivery.connections.ConnectionHub` of
every process that holds a connection of that user. :class:`Backplane` is the seam;
:mod:`wsao_trio._backplane.memory` serves one process, :mod:`wsao_trio._backplane.redis`
several. This module imports no engine: the composition root
(:mod:`wsao_trio._service.assembly`) picks one.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import attrs
import trio

from wsao_trio._state.eventlog import EventDraft, Replay
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


class RunHost(Protocol):
    """What a backplane needs from its orchestrator: the runs of this process.

    Given to an engine by the composition root; the in-memory engine needs nothing
    of it, the Redis one honours other processes' stop requests and learns which
    users have runs here.
    """

    def stop_requested(self, user_id: str, run_id: str, reason: str) -> bool:
        """Stop a run of this process for another process; False if it is not here."""
        ...

    def run_users(self) -> Iterable[str]:
        """Users with a run in this process."""
        ...


class Backplane(Protocol):
    """The event store and fan-out every orchestrator talks to (memory or Redis).

    What an engine promises: a user's events get consecutive seqs in the order they
    were published; each stored event reaches every connection of the user, on every
    process, once, in seq order; and a connection attaching inside :meth:`view`
    neither misses nor doubles one. The async calls may raise
    :class:`~wsao_trio.errors.Unavailable` while the store cannot be reached (an
    engine retries first, within its own bound); cancellation propagates as usual.
    """

    kind: str

    def publish(self, user_id: str, draft: EventDraft) -> Stored:
        """Hand the user's next event to the store (in order); it assigns the seq,
        stores and fans out. Never waits: :meth:`Stored.wait` does, and raises
        RunFinished if the store refused the event (its run is no longer this
        process's) or Unavailable if the store could not be reached."""
        ...

    def view(
        self, user_id: str, after_seq: int | None, epoch: str | None
    ) -> AbstractAsyncContextManager[View]:
        """Hold the user's fan-out still while a connection attaches and greets.

        A connection attached inside the block gets the View's replay (events after
        ``after_seq``, or a gap) and then the live stream, meeting exactly: the
        Redis engine holds the user's feed meanwhile; the in-memory one needs the
        caller not to yield between entering the block and attaching.
        """
        ...

    async def ack(self, user_id: str, seq: int) -> int:
        """Record a cumulative ack; return the acked seq."""
        ...

    async def claim_run(
        self, user_id: str, message_id: str, ids: tuple[str, str], limit: int, agent_type: str
    ) -> Claim:
        """Claim ``message_id`` for a new run cluster-wide (dedup and runs limit).

        ``existing`` names the run another process started for it; ``limited`` says
        the user is at ``limit`` runs. The claim and the check are one step, so two
        processes racing with one message id make one run.
        """
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

    def behind(self, user_id: str) -> bool:
        """Whether events published for the user are still queued for one of its
        connections on this process (the notifier then merges answer deltas)."""
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
        """Background upkeep for the orchestrator's lifetime (subscriptions, leases).

        Reports started through ``task_status`` once the engine can serve; runs
        until cancelled (the orchestrator's root nursery closes). The Redis engine
        marks the store unavailable when an upkeep step fails and tries again at
        the next tick; a failure there never ends the task.
        """
        ...
