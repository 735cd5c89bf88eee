"""The ``echo`` tool: returns its arguments unchanged (the scripted agent calls it)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from wsao_trio.tools import Tool


async def _echo(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return dict(arguments)


def echo_tool() -> Tool:
    """Build the ``echo`` tool: any arguments → the same arguments, as an object."""
    return Tool(
        name="echo",
        description="Return the arguments unchanged.",
        handler=_echo,
        parameters=MappingProxyType({"type": "object"}),
    )
