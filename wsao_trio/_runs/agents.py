"""The agent side of the orchestrator: the Agent protocol and the registry.

An agent is any object with ``async def run(self, run: RunContext) -> Any``. It sees
only its :class:`~wsao_trio._runs.runcontext.RunContext` (``thinking``, ``delta``,
``call_tool``), never a socket, the hub or the log. Its return value becomes the
``result`` of ``agent_completed``; an exception becomes ``agent_error``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from wsao_trio._runs.tools import Tool
from wsao_trio.errors import UnknownAgent

if TYPE_CHECKING:
    from wsao_trio._runs.runcontext import RunContext


@runtime_checkable
class Agent(Protocol):
    """What the supervisor calls for one run.

    ``run`` executes inside the run's nursery: cancellation (stop, timeout, shutdown,
    stale cleanup) arrives as ``trio.Cancelled`` at any checkpoint and must be let
    through. The orchestrator emits ``agent_started`` before and the one terminal
    event after; the agent never emits those itself.
    """

    async def run(self, run: RunContext) -> Any:
        """Do the work of one run and return its JSON-serialisable result."""
        ...


class AgentRegistry:
    """Agents by ``agent_type`` and tools by name, owned by one orchestrator."""

    def __init__(self, agents: dict[str, Agent] | None = None, tools: Iterable[Tool] = ()) -> None:
        self._agents: dict[str, Agent] = dict(agents or {})
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register_tool(tool)

    def register_agent(self, agent_type: str, agent: Agent) -> None:
        """Register ``agent`` for ``agent_type``; a second registration replaces it."""
        if not agent_type:
            raise ValueError("agent_type must not be empty")
        self._agents[agent_type] = agent

    def register_tool(self, tool: Tool) -> None:
        """Register a tool under its name; names are unique."""
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def agent(self, agent_type: str) -> Agent:
        """The agent for ``agent_type``, or :class:`UnknownAgent`."""
        try:
            return self._agents[agent_type]
        except KeyError:
            raise UnknownAgent(f"no agent registered for agent_type {agent_type!r}") from None

    def has_agent(self, agent_type: str) -> bool:
        """Whether an agent is registered for ``agent_type``."""
        return agent_type in self._agents

    def tool(self, name: str) -> Tool | None:
        """The tool registered under ``name``, or None."""
        return self._tools.get(name)

    @property
    def agent_types(self) -> list[str]:
        """The registered agent types, sorted."""
        return sorted(self._agents)

    @property
    def tools(self) -> list[Tool]:
        """The registered tools, sorted by name."""
        return [self._tools[name] for name in sorted(self._tools)]
