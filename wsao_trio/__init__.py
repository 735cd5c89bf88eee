"""wsao_trio: a Trio-native WebSocket Agent Orchestrator.

One orchestrator owns every agent run of a chat service and guarantees the run's
events reach the user's browser: in order, once, across reconnects, slow clients,
cancellation, crashes and shutdown. Applications register agents and tools and hand
each authenticated WebSocket to :meth:`Orchestrator.serve_connection`.

This module is the face: every name a host needs from the private layers is
re-exported here (``from wsao_trio import Orchestrator``), and nothing outside the
package imports a ``wsao_trio._*`` module. The layers, each importing only those
below it (checked by the import-linter contracts in ``pyproject.toml``)::

    auth metrics websocket testing client/      public extras (optional deps: import
    agui/ llm/                                  them from their own modules)
    _service/    orchestrator, session, janitor, health, loop lag; host.py (the
                 ServiceHost Protocol the helpers see), assembly.py (picks the engine)
    _runs/       context, notifier, dispatcher, run context, supervisor, runner,
                 tools, agents
    _backplane/  base.py (the seam: Backplane, RunHost, View, Stored, Claim);
                 engines memory.py and redis/ (only assembly.py imports them)
    _delivery/   transport, connections and their hub, senders
    _state/      sans-IO (no trio): event log, dedup, run state, delta merging, ids,
                 latency, rate limit, counters, credentials
    protocol config logsafety                   kernel: public modules that import
    errors extras                               nothing above them
"""

from wsao_trio._backplane.base import Backplane as Backplane
from wsao_trio._backplane.base import Claim as Claim
from wsao_trio._backplane.base import RunHost as RunHost
from wsao_trio._backplane.base import Stored as Stored
from wsao_trio._backplane.base import View as View
from wsao_trio._delivery.transport import Transport as Transport
from wsao_trio._delivery.transport import TransportClosed as TransportClosed
from wsao_trio._runs.agents import Agent as Agent
from wsao_trio._runs.agents import AgentRegistry as AgentRegistry
from wsao_trio._runs.context import ExecutionContext as ExecutionContext
from wsao_trio._runs.dispatcher import ToolDispatcher as ToolDispatcher
from wsao_trio._runs.notifier import Notifier as Notifier
from wsao_trio._runs.runcontext import RunContext as RunContext
from wsao_trio._runs.supervisor import Supervisor as Supervisor
from wsao_trio._runs.tools import Tool as Tool
from wsao_trio._runs.tools import ToolLookup as ToolLookup
from wsao_trio._runs.tools import blocking_tool as blocking_tool
from wsao_trio._service.host import RunTicket as RunTicket
from wsao_trio._service.host import ServiceHost as ServiceHost
from wsao_trio._service.orchestrator import Orchestrator as Orchestrator
from wsao_trio._service.orchestrator import open_orchestrator as open_orchestrator
from wsao_trio._state.credentials import Credentials as Credentials
from wsao_trio._state.runstate import RunState as RunState
from wsao_trio._state.stats import OrchestratorStats as OrchestratorStats
from wsao_trio.config import Settings as Settings
from wsao_trio.config import load_settings as load_settings
from wsao_trio.errors import AgentFailure as AgentFailure
from wsao_trio.errors import AuthError as AuthError
from wsao_trio.errors import ClientError as ClientError
from wsao_trio.errors import ConfigError as ConfigError
from wsao_trio.errors import IllegalTransition as IllegalTransition
from wsao_trio.errors import InvalidJson as InvalidJson
from wsao_trio.errors import InvalidMessage as InvalidMessage
from wsao_trio.errors import Overloaded as Overloaded
from wsao_trio.errors import RateLimited as RateLimited
from wsao_trio.errors import RunFinished as RunFinished
from wsao_trio.errors import RunNotFound as RunNotFound
from wsao_trio.errors import ServerError as ServerError
from wsao_trio.errors import ShuttingDown as ShuttingDown
from wsao_trio.errors import ToolFailed as ToolFailed
from wsao_trio.errors import Unauthorized as Unauthorized
from wsao_trio.errors import Unavailable as Unavailable
from wsao_trio.errors import UnknownAgent as UnknownAgent
from wsao_trio.errors import UnknownType as UnknownType
from wsao_trio.errors import WsaoError as WsaoError

__all__ = [
    "Agent",
    "AgentFailure",
    "AgentRegistry",
    "AuthError",
    "Backplane",
    "Claim",
    "ClientError",
    "ConfigError",
    "Credentials",
    "ExecutionContext",
    "IllegalTransition",
    "InvalidJson",
    "InvalidMessage",
    "Notifier",
    "Orchestrator",
    "OrchestratorStats",
    "Overloaded",
    "RateLimited",
    "RunContext",
    "RunFinished",
    "RunHost",
    "RunNotFound",
    "RunState",
    "RunTicket",
    "ServerError",
    "ServiceHost",
    "Settings",
    "ShuttingDown",
    "Stored",
    "Supervisor",
    "Tool",
    "ToolDispatcher",
    "ToolFailed",
    "ToolLookup",
    "Transport",
    "TransportClosed",
    "Unauthorized",
    "Unavailable",
    "UnknownAgent",
    "UnknownType",
    "View",
    "WsaoError",
    "blocking_tool",
    "load_settings",
    "open_orchestrator",
]
