"""Tools: named async callables that agents call through the ToolDispatcher.

A tool never emits events itself: the dispatcher announces ``tool_executing`` before
the call and ``tool_completed`` after it, whatever happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import attrs

ToolHandler = Callable[[Mapping[str, Any]], Awaitable[Any]]
BlockingHandler = Callable[[Mapping[str, Any]], Any]


@attrs.frozen
class Tool:
    """A named tool.

    Attributes:
        name: unique name agents call it by.
        description: one line for humans and for model prompts.
        handler: ``async (arguments) -> result``; the result must be JSON-serialisable.
            It runs inside the run's cancel scope, so stopping the run cancels it.
        parameters: a JSON schema of ``arguments`` (an object schema). Language-model
            agents offer it to the model as the function's parameters; empty means
            "any object" (see :func:`parameters_schema`). The dispatcher does not
            validate arguments against it.
        blocking: a plain function doing CPU-heavy or blocking work. When set, the
            dispatcher runs it in a worker thread (bounded by its limiter, abandoned if
            the run is cancelled) instead of ``handler``, so it never stalls the loop.
    """

    name: str
    description: str
    handler: ToolHandler
    parameters: Mapping[str, Any] = attrs.field(factory=dict)
    blocking: BlockingHandler | None = None


def blocking_tool(
    name: str,
    description: str,
    function: BlockingHandler,
    parameters: Mapping[str, Any] | None = None,
) -> Tool:
    """A :class:`Tool` whose work is the plain ``function``, run off the event loop."""

    async def on_the_loop(arguments: Mapping[str, Any]) -> Any:
        return function(arguments)

    return Tool(name, description, on_the_loop, dict(parameters or {}), function)


PERMISSIVE_SCHEMA: Mapping[str, Any] = MappingProxyType({"type": "object"})


def parameters_schema(tool: Tool) -> dict[str, Any]:
    """``tool.parameters`` as a plain JSON-schema dict, or "any object" when empty.

    Read-only mappings (``MappingProxyType``) anywhere inside become plain dicts so
    the schema serialises as JSON.
    """
    schema = _plain(tool.parameters) if tool.parameters else dict(PERMISSIVE_SCHEMA)
    schema.setdefault("type", "object")
    return schema


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class ToolLookup(Protocol):
    """What the tool dispatcher needs of a registry: find a tool, list them all.

    :class:`~wsao_trio.AgentRegistry` is one; the dispatcher sees only this, so it
    does not depend on agents (which depend on the run context, which holds the
    dispatcher).
    """

    def tool(self, name: str) -> Tool | None:
        """The tool registered under ``name``, or None."""
        ...

    @property
    def tools(self) -> list[Tool]:
        """Every registered tool, sorted by name."""
        ...
