"""RunContext: everything an agent may do during its run, and nothing more.

An agent thinks, streams answer text and calls tools; it never sees a socket, the hub
or the log. Every method is a trio checkpoint, so a stopped run is cancelled promptly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from wsao_trio._runs.context import ExecutionContext
from wsao_trio._runs.dispatcher import ToolDispatcher
from wsao_trio._runs.notifier import Notifier
from wsao_trio._runs.tools import Tool


class RunContext:
    """The agent's view of its run: identity, message, and three actions."""

    def __init__(
        self, context: ExecutionContext, notifier: Notifier, dispatcher: ToolDispatcher
    ) -> None:
        self._context = context
        self._notifier = notifier
        self._dispatcher = dispatcher
        self.run_id = context.run_id
        self.thread_id = context.thread_id
        self.user_id = context.user_id
        self.agent_type = context.agent_type
        self.message_id = context.message_id
        self.message = context.message

    @property
    def tools(self) -> list[Tool]:
        """The tools this run may call (name, description, parameter schema), by name."""
        return self._dispatcher.tools

    async def thinking(self, thought: str) -> None:
        """Show a reasoning step to the user (``agent_thinking``).

        Never waits for a socket (the log is the buffer). Raises RunFinished once the
        run has ended, e.g. after a stop raced this call; a cancelled run gets
        trio.Cancelled at the next checkpoint like any other await.
        """
        await self._notifier.emit("agent_thinking", {"thought": str(thought)})
        await trio.lowlevel.checkpoint()

    async def delta(self, text: str) -> None:
        """Stream a piece of the answer (``agent_message_delta``).

        One event per call, except under load: a piece that comes while the user's
        earlier events are still on their way is merged with the next ones into one
        event (same text, in order, at most ``WSAO_DELTA_MAX_DELAY_MS`` later; never
        the first piece, never across another event). Never waits for a socket (a
        slow connection is closed and resumes from the log). RunFinished once the
        run has ended.
        """
        await self._notifier.emit_delta(str(text))
        await trio.lowlevel.checkpoint()

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call a registered tool; the dispatcher announces and completes it.

        The tool runs inside the run's cancel scope: stopping the run cancels it (a
        blocking tool's thread is abandoned, its result dropped), and its
        ``tool_completed`` ``ok: false`` ``error: "cancelled"`` is still emitted,
        under a shield, before the cancellation goes on.

        Raises :class:`~wsao_trio.errors.ToolFailed` if the tool fails or is unknown.
        """
        return await self._dispatcher.call(self._notifier, name, arguments or {})
