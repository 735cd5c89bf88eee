"""The Supervisor routes a run to the agent registered for its ``agent_type``."""

from __future__ import annotations

from typing import Any

from wsao_trio._runs.agents import AgentRegistry
from wsao_trio._runs.context import ExecutionContext
from wsao_trio._runs.dispatcher import ToolDispatcher
from wsao_trio._runs.notifier import Notifier
from wsao_trio._runs.runcontext import RunContext


class Supervisor:
    """Chooses the agent for each run and hands it a :class:`RunContext`."""

    def __init__(self, registry: AgentRegistry, dispatcher: ToolDispatcher | None = None) -> None:
        self.registry = registry
        self.dispatcher = dispatcher or ToolDispatcher(registry)

    def resolve_agent_type(self, requested: str | None, default: str) -> str | None:
        """The agent type a message goes to, or None if no such agent is registered."""
        agent_type = requested or default
        return agent_type if self.registry.has_agent(agent_type) else None

    async def run(self, context: ExecutionContext, notifier: Notifier) -> Any:
        """Run the agent for ``context`` and return its result.

        The agent's exceptions and trio.Cancelled propagate unchanged: the runner
        turns them into the run's one terminal event.
        """
        agent = self.registry.agent(context.agent_type)
        return await agent.run(RunContext(context, notifier, self.dispatcher))
