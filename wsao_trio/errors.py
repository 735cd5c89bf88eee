"""One error tree for wsao_trio, drawn once.

::

    WsaoError                      root of everything we raise on purpose
    ├── ConfigError                a setting is unknown, unparsable or out of range, or
    │                              the default agent is not registered (also a ValueError)
    ├── ClientError                the client's frame is at fault; carries a protocol `code`
    │   ├── InvalidJson            code "invalid_json"
    │   ├── UnknownType            code "unknown_type"
    │   ├── InvalidMessage         code "invalid_message" (names the field)
    │   ├── RateLimited            code "rate_limited"
    │   ├── RunNotFound            code "run_not_found"
    │   ├── ShuttingDown           code "shutting_down" (extension: the server is stopping)
    │   ├── Overloaded             code "overloaded" (extension: the server-wide run cap)
    │   └── Unauthorized           code "unauthorized" (extension: a refused ``auth`` frame)
    ├── AuthError                  token missing, malformed, wrongly signed or expired
    ├── AgentFailure               an agent ends its run with its own ``agent_error`` code
    └── ServerError                our side is at fault
        ├── IllegalTransition      a run state change the state machine forbids
        ├── RunFinished            an event was emitted after the run's terminal event
        ├── UnknownAgent           no agent registered for an agent_type
        └── ToolFailed             a tool raised, was cancelled or is unknown; the agent sees it

Client errors become ``error`` frames with their ``code``; they never close the
connection and never touch another user's state.
"""

from __future__ import annotations


class WsaoError(Exception):
    """Root of every error wsao_trio raises on purpose."""


class ConfigError(WsaoError, ValueError):
    """A ``WSAO_*`` setting is unknown, unparsable or out of range, or names no agent.

    It is also a :class:`ValueError`: a bad setting is a bad value.
    """


class AuthError(WsaoError):
    """A token is missing, malformed, wrongly signed or expired."""


class AgentFailure(WsaoError):
    """An agent ends its run with ``agent_error`` carrying its own ``code`` and ``message``.

    Any other exception from an agent becomes ``agent_error`` with code
    ``agent_failed``; this one lets an agent say *what* failed (the ``llm`` agent uses
    ``llm_rate_limited``, ``llm_timeout``, …) in words its user understands.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ClientError(WsaoError):
    """A client frame is at fault. ``code`` is the protocol error code it maps to."""

    code = "invalid_message"

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


class InvalidJson(ClientError):
    """The frame is not JSON, not a JSON object, or binary."""

    code = "invalid_json"


class UnknownType(ClientError):
    """The frame's ``type`` is not one the protocol knows."""

    code = "unknown_type"


class InvalidMessage(ClientError):
    """A required field is missing or has the wrong type; the message names the field."""

    code = "invalid_message"


class RateLimited(ClientError):
    """Too many runs at once for one user, or too many frames per second."""

    code = "rate_limited"


class RunNotFound(ClientError):
    """The run is unknown, already ended, or another user's: no difference is visible."""

    code = "run_not_found"


class ShuttingDown(ClientError):
    """The orchestrator is closing and accepts no new runs (protocol extension)."""

    code = "shutting_down"


class Overloaded(ClientError):
    """The server runs as many runs as it may (``max_running_runs``); try again later."""

    code = "overloaded"


class Unavailable(ClientError):
    """The shared event store (Redis) cannot be reached; no new runs until it is back."""

    code = "unavailable"


class Unauthorized(ClientError):
    """An ``auth`` frame's token is invalid, expired or names another user."""

    code = "unauthorized"


class ServerError(WsaoError):
    """Our side is at fault."""


class IllegalTransition(ServerError):
    """A run state change that the run state machine forbids."""


class RunFinished(ServerError):
    """An event was emitted for a run after its terminal event."""


class UnknownAgent(ServerError):
    """No agent is registered for the requested ``agent_type``."""


class ToolFailed(ServerError):
    """A tool call failed: the tool raised, was cancelled, or does not exist.

    The dispatcher has already emitted ``tool_completed`` with ``ok: false``; the
    agent may catch this and carry on, or let it end the run with ``agent_error``.
    """

    def __init__(self, tool_name: str, error: str) -> None:
        super().__init__(f"tool {tool_name!r} failed: {error}")
        self.tool_name = tool_name
        self.error = error
