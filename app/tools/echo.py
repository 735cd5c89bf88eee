"""The ``echo`` tool: returns its arguments unchanged (the scripted agent calls it).

A numeric ``sleep_ms`` argument (at most a minute) makes the call take that long, so
tests and the stress harness can catch a run with a tool call open.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import trio

from wsao_trio import Tool

MAX_SLEEP_MS = 60_000


async def _echo(arguments: Mapping[str, Any]) -> dict[str, Any]:
    sleep_ms = arguments.get("sleep_ms")
    if isinstance(sleep_ms, int | float) and sleep_ms > 0:
        await trio.sleep(min(float(sleep_ms), MAX_SLEEP_MS) / 1000)
    return dict(arguments)


def echo_tool() -> Tool:
    """Build the ``echo`` tool: any arguments → the same arguments, as an object."""
    return Tool(
        name="echo",
        description="Return the arguments unchanged.",
        handler=_echo,
        parameters=MappingProxyType({"type": "object"}),
    )
