"""ExecutionContext: the orchestrator's record of one agent run.

Created only by :meth:`Orchestrator.create_execution_context`, registered there, and
unregistered when the run's scope exits. It owns the run's cancel scope (set once the
run starts) and the reason a cancellation was asked for, so the terminal event can say
why the run ended.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from wsao_trio._state.runstate import RunState, check_transition


@attrs.define(eq=False)
class ExecutionContext:
    """One run: identity, message, timestamps, state and cancellation handle.

    Timestamps are ``trio.current_time()`` values (monotonic seconds) except
    ``created_wall``, which is wall-clock time for display.
    """

    run_id: str
    thread_id: str
    user_id: str
    agent_type: str
    message: str
    message_id: str
    created_at: float
    created_wall: float
    started_at: float | None = None
    ended_at: float | None = None
    state: RunState = RunState.PENDING
    cancel_reason: str | None = None
    error: tuple[str, str] | None = None
    result: Any = None
    cancel_scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    done: trio.Event = attrs.field(factory=trio.Event)

    def transition(self, target: RunState, now: float) -> None:
        """Move to ``target`` or raise IllegalTransition; stamps start/end times."""
        self.state = check_transition(self.state, target)
        if target is RunState.RUNNING:
            self.started_at = now
        elif target.is_terminal:
            self.ended_at = now

    def request_cancel(self, reason: str) -> bool:
        """Ask the run to stop for ``reason``; the first reason wins. False if ended."""
        if self.state.is_terminal:
            return False
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel_scope.cancel()
        return True

    def duration_ms(self, now: float) -> float:
        """Milliseconds since the run started (or was created, if it never started)."""
        start = self.started_at if self.started_at is not None else self.created_at
        return round((now - start) * 1000, 3)

    def describe(self, now: float) -> dict[str, Any]:
        """A JSON-able summary for the health view of what runs."""
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "agent_type": self.agent_type,
            "state": self.state.value,
            "age_seconds": round(now - self.created_at, 3),
            "message": self.message[:120],
        }
