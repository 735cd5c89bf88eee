"""The notifier: the only way events of a run are created.

One :class:`Notifier` per run. It stamps the run's identity on every event, hands it
to the backplane (which assigns the per-user seq and fans it out), and guarantees the
run's contract: the terminal event is emitted once, by the orchestrator, and nothing of
the run follows it — a late emit raises :class:`~wsao_trio.errors.RunFinished`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsao_trio.backplane import Backplane
from wsao_trio.context import ExecutionContext
from wsao_trio.errors import RunFinished
from wsao_trio.eventlog import EventDraft
from wsao_trio.protocol import TERMINAL_EVENTS, Event
from wsao_trio.stats import OrchestratorStats


class Notifier:
    """Emits the events of one run, in order, and refuses anything after its end."""

    def __init__(
        self, context: ExecutionContext, backplane: Backplane, stats: OrchestratorStats
    ) -> None:
        self.context = context
        self._backplane = backplane
        self._stats = stats
        self.finished = False
        self.terminating = False
        self.started = False
        self.last_event: Event | None = None

    async def emit(self, event_type: str, payload: Mapping[str, Any]) -> Event:
        """Emit a non-terminal event of this run; RunFinished once the run has ended.

        Never waits for a socket: the event is stored and queued, then returned.
        """
        if event_type in TERMINAL_EVENTS or event_type == "agent_started":
            raise ValueError(f"{event_type} is emitted only by the orchestrator")
        return await self._publish(event_type, payload)

    async def emit_started(self) -> Event:
        """Emit ``agent_started``, the first event of every run (orchestrator only)."""
        ctx = self.context
        self.started = True
        return await self._publish(
            "agent_started", {"message_id": ctx.message_id, "message": ctx.message}
        )

    async def emit_terminal(self, event_type: str, payload: Mapping[str, Any]) -> Event:
        """Emit the run's one terminal event (orchestrator only).

        The run counts as finished from this call on: nothing of it may follow, even
        while the store is still taking the terminal event.
        """
        if event_type not in TERMINAL_EVENTS:
            raise ValueError(f"{event_type} is not a terminal event")
        self._check_open(event_type)
        self.terminating = True
        event = await self._publish(event_type, payload, terminal=True)
        self.finished = True
        return event

    def _check_open(self, event_type: str) -> None:
        if self.finished or self.terminating:
            self._stats.after_terminal_drops += 1
            raise RunFinished(f"run {self.context.run_id} has ended; {event_type} refused")

    async def _publish(
        self, event_type: str, payload: Mapping[str, Any], terminal: bool = False
    ) -> Event:
        if not terminal:
            self._check_open(event_type)
        ctx = self.context
        draft = EventDraft(
            type=event_type,
            run_id=ctx.run_id,
            thread_id=ctx.thread_id,
            agent_type=ctx.agent_type,
            payload=payload,
        )
        event = await self._backplane.publish(ctx.user_id, draft)
        self._stats.events_emitted[event_type] += 1
        self.last_event = event
        return event
