"""Small agents and tools used by the library tests (test fixtures, not shipped code)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from wsao_trio._runs.agents import AgentRegistry
from wsao_trio._runs.runcontext import RunContext
from wsao_trio._runs.tools import Tool


async def add(arguments: Mapping[str, Any]) -> Any:
    return arguments["a"] + arguments["b"]


async def slow(arguments: Mapping[str, Any]) -> Any:
    await trio.sleep(float(arguments.get("seconds", 3600)))
    return "slept"


async def boom(arguments: Mapping[str, Any]) -> Any:
    raise RuntimeError("tool exploded")


class StepAgent:
    """Thinks, adds, streams; `sleep=N` in the text makes it call the slow tool."""

    async def run(self, run: RunContext) -> Any:
        await run.thinking("adding")
        total = await run.call_tool("add", {"a": 2, "b": 3})
        if "sleep" in run.message:
            await run.call_tool("slow", {"seconds": run.message.split("=")[1]})
        if "boom" in run.message:
            await run.call_tool("boom", {})
        if "raise" in run.message:
            raise ValueError("agent gave up")
        await run.delta(f"total={total}")
        return {"answer": total}


class TickAgent:
    """Text "N D": N thinking events D seconds apart, with a tool call every 5."""

    async def run(self, run: RunContext) -> Any:
        count, delay = run.message.split()
        for i in range(int(count)):
            await run.thinking(f"tick {i}")
            if i % 5 == 4:
                await run.call_tool("add", {"a": i, "b": 1})
            await trio.sleep(float(delay))
        return {"ticks": int(count)}


def registry() -> AgentRegistry:
    reg = AgentRegistry(
        tools=[
            Tool("add", "a + b", add),
            Tool("slow", "sleeps", slow),
            Tool("boom", "raises", boom),
        ]
    )
    reg.register_agent("steps", StepAgent())
    reg.register_agent("ticks", TickAgent())
    return reg
