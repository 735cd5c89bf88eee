"""The notifier: the only way events of a run are created.

One :class:`Notifier` per run. It stamps the run's identity on every event, hands it
to the backplane (which assigns the per-user seq and fans it out), and guarantees the
run's contract: the terminal event is emitted once, by the orchestrator, and nothing of
the run follows it — a late emit raises :class:`~wsao_trio.errors.RunFinished`.

Events are handed over in order without waiting for the store's answer, so a run's
events that are ready together share a store round trip; at most ``IN_FLIGHT`` may be
unanswered, and the terminal event waits for its answer (and so for all before it).
An event the store refused (the run is no longer this process's) or could not take
ends the run: the next emit raises why.

Answer deltas may merge under load (:mod:`wsao_trio._state.deltas`): a delta that
follows a delta while the user's earlier events are still on their way is held and
joined by the next ones, then published as one ``agent_message_delta`` — when the way
is clear, at the size cap, at the latest ``WSAO_DELTA_MAX_DELAY_MS`` after the hold
began (:meth:`Notifier.hold_deltas`, a task beside the agent), and always before any
other event of the run, the terminal one included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import trio

from wsao_trio._backplane.base import Backplane, Stored
from wsao_trio._runs.context import ExecutionContext
from wsao_trio._state.deltas import DeltaMerger
from wsao_trio._state.eventlog import EventDraft
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.errors import RunFinished
from wsao_trio.protocol import TERMINAL_EVENTS

IN_FLIGHT: Final = 8
"""Events of one run the store may not yet have answered before an emit waits."""
DELTA: Final = "agent_message_delta"


class Notifier:
    """Emits the events of one run, in order, and refuses anything after its end."""

    def __init__(
        self,
        context: ExecutionContext,
        backplane: Backplane,
        stats: OrchestratorStats,
        merger: DeltaMerger | None = None,
    ) -> None:
        self.context = context
        self.merger = merger or DeltaMerger(max_delay=0, max_bytes=0)
        self._held = trio.Event()  # set while the merger holds text (wakes the timer)
        self._backplane = backplane
        self._stats = stats
        self.finished = False
        self.terminating = False
        self.started = False
        self._unanswered: deque[Stored] = deque()
        self._calls: dict[str, Stored] = {}  # tool_executing of calls not yet completed

    async def emit(self, event_type: str, payload: Mapping[str, Any]) -> Stored:
        """Emit a non-terminal event of this run; RunFinished once the run has ended.

        Never waits for a socket, and for the store only when ``IN_FLIGHT`` of the
        run's events are unanswered; ``await (await emit(...)).wait()`` gives the event.
        """
        if event_type in TERMINAL_EVENTS or event_type == "agent_started":
            raise ValueError(f"{event_type} is emitted only by the orchestrator")
        self._flush_held()
        return await self._publish(event_type, payload)

    async def emit_delta(self, text: str) -> None:
        """Emit a piece of the answer: now, or held to merge with the next pieces (see
        the module docstring); RunFinished once the run has ended. Like :meth:`emit`, it
        waits only when ``IN_FLIGHT`` of the run's events are unanswered."""
        self._check_open(DELTA)
        merged = self.merger.merged
        behind = self.merger.max_delay > 0 and self._behind()  # off: nothing to ask
        texts = self.merger.offer(text, trio.current_time(), behind)
        self._stats.deltas_merged += self.merger.merged - merged
        if self.merger.since is not None:
            self._held.set()
        for piece in texts:
            await self._publish(DELTA, {"delta": piece})

    def _behind(self) -> bool:
        """Whether the user's earlier events are still on their way: an event of this
        run the store has not answered, or a connection's sender not yet caught up."""
        unsettled = bool(self._unanswered) and not self._unanswered[-1].settled
        return unsettled or self._backplane.behind(self.context.user_id)

    def _flush_held(self) -> None:
        """Publish what the merger holds, before the run's next other event."""
        text = self.merger.interrupt()
        if text is not None:
            self._publish_now(DELTA, {"delta": text})

    def _publish_now(self, event_type: str, payload: Mapping[str, Any]) -> None:
        """Hand an event over without waiting (held text; any task may call it). Dropped
        if an earlier event of the run was not stored: the run's history keeps no hole,
        and the agent's next emit raises why."""
        if any(s.error is not None for s in self._unanswered if s.settled):
            return
        self._unanswered.append(self._hand_over(event_type, payload))

    async def hold_deltas(self) -> None:
        """The timer beside the agent: publish held text at its deadline (runs until
        cancelled; the terminal event flushes whatever is still held)."""
        while True:
            await self._held.wait()
            self._held = trio.Event()
            deadline = self.merger.deadline
            if deadline is not None:
                await trio.sleep_until(deadline)
                text = self.merger.due(trio.current_time())
                if text is not None and not (self.finished or self.terminating):
                    self._publish_now(DELTA, {"delta": text})

    async def emit_started(self) -> Stored:
        """Emit ``agent_started``, the first event of every run (orchestrator only)."""
        ctx = self.context
        self.started = True
        return await self._publish(
            "agent_started", {"message_id": ctx.message_id, "message": ctx.message}
        )

    async def emit_terminal(self, event_type: str, payload: Mapping[str, Any]) -> Stored:
        """Emit the run's one terminal event (orchestrator only) and wait until stored.

        The run counts as finished from this call on: nothing of it may follow, even
        while the store is still taking the terminal event.
        """
        if event_type not in TERMINAL_EVENTS:
            raise ValueError(f"{event_type} is not a terminal event")
        self._check_open(event_type)
        self._flush_held()  # a held delta goes out before the terminal event
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
    ) -> Stored:
        if not terminal:
            self._check_open(event_type)
            if not self._closes_a_stored_call(event_type, payload):
                self._raise_refusal()
        stored = self._hand_over(event_type, payload)
        if terminal:  # answered after everything before it: only its own answer counts
            self._unanswered.clear()
            await stored.wait()
            return stored
        self._unanswered.append(stored)
        await self._settle(IN_FLIGHT)
        return stored

    def _hand_over(self, event_type: str, payload: Mapping[str, Any]) -> Stored:
        stored = self._backplane.publish(self.context.user_id, self._draft(event_type, payload))
        self._stats.events_emitted[event_type] += 1
        if event_type == "tool_executing":
            self._calls[str(payload.get("tool_call_id"))] = stored
        return stored

    def _draft(self, event_type: str, payload: Mapping[str, Any]) -> EventDraft:
        ctx = self.context
        return EventDraft(event_type, ctx.run_id, ctx.thread_id, ctx.agent_type, payload)

    def _closes_a_stored_call(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        """A ``tool_completed`` whose ``tool_executing`` was stored goes out even after
        a later event of the run failed: the run's history never keeps a call open."""
        if event_type != "tool_completed":
            return False
        opened = self._calls.pop(str(payload.get("tool_call_id")), None)
        return opened is not None and opened.event is not None

    def _raise_refusal(self) -> None:
        """Raise why an earlier event of the run was not stored, if one was not."""
        while self._unanswered and self._unanswered[0].settled:
            head = self._unanswered.popleft()
            if head.error is not None:
                self._unanswered.appendleft(head)
                raise head.error

    async def _settle(self, keep: int) -> None:
        """Wait, oldest first, until at most ``keep`` events are unanswered."""
        self._raise_refusal()
        while len(self._unanswered) > keep:
            await self._unanswered[0].wait()
            self._unanswered.popleft()
