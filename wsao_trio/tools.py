"""Tools: named async callables that agents call through the ToolDispatcher.

A tool never emits events itself: the dispatcher announces ``tool_executing`` before
the call and ``tool_completed`` after it, whatever happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

ToolHandler = Callable[[Mapping[str, Any]], Awaitable[Any]]


@attrs.frozen
class Tool:
    """A named tool.

    Attributes:
        name: unique name agents call it by.
        description: one line for humans and for model prompts.
        handler: ``async (arguments) -> result``; the result must be JSON-serialisable.
            It runs inside the run's cancel scope, so stopping the run cancels it.
        parameters: a JSON-schema-like description of ``arguments`` (documentation only).
    """

    name: str
    description: str
    handler: ToolHandler
    parameters: Mapping[str, Any] = attrs.field(factory=dict)
