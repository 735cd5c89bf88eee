"""wsao_trio: a Trio-native WebSocket Agent Orchestrator.

One orchestrator owns every agent run of a chat service and guarantees the run's
events reach the user's browser: in order, once, across reconnects, slow clients,
cancellation, crashes and shutdown. Applications register agents and tools and hand
each authenticated WebSocket to :meth:`Orchestrator.serve_connection`.
"""

from wsao_trio.agents import Agent as Agent
from wsao_trio.agents import AgentRegistry as AgentRegistry
from wsao_trio.config import Settings as Settings
from wsao_trio.config import load_settings as load_settings
from wsao_trio.context import ExecutionContext as ExecutionContext
from wsao_trio.dispatcher import ToolDispatcher as ToolDispatcher
from wsao_trio.errors import AgentFailure as AgentFailure
from wsao_trio.errors import ToolFailed as ToolFailed
from wsao_trio.errors import WsaoError as WsaoError
from wsao_trio.notifier import Notifier as Notifier
from wsao_trio.orchestrator import Orchestrator as Orchestrator
from wsao_trio.orchestrator import RunTicket as RunTicket
from wsao_trio.orchestrator import open_orchestrator as open_orchestrator
from wsao_trio.runcontext import RunContext as RunContext
from wsao_trio.runstate import RunState as RunState
from wsao_trio.supervisor import Supervisor as Supervisor
from wsao_trio.tools import Tool as Tool
from wsao_trio.transport import Transport as Transport
from wsao_trio.transport import TransportClosed as TransportClosed

__all__ = [
    "Agent",
    "AgentFailure",
    "AgentRegistry",
    "ExecutionContext",
    "Notifier",
    "Orchestrator",
    "RunContext",
    "RunState",
    "RunTicket",
    "Settings",
    "Supervisor",
    "Tool",
    "ToolDispatcher",
    "ToolFailed",
    "Transport",
    "TransportClosed",
    "WsaoError",
    "load_settings",
    "open_orchestrator",
]
