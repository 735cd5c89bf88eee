"""The loop-lag monitor, blocking tools off the loop, and a bystander's latency bound."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import trio

from tests.support.invariants import check_run
from tests.support.live import LiveServer
from wsao_trio import AgentRegistry, RunContext, Tool
from wsao_trio._runs.tools import blocking_tool
from wsao_trio._service.looplag import LoopLagMonitor
from wsao_trio.testing import open_test_orchestrator

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def test_stalls_are_counted_and_warnings_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(interval=0.5, warning=0.25)
    with caplog.at_level(logging.WARNING, logger="wsao_trio.looplag"):
        for second, lag in enumerate([0.01, 0.3, 0.9, 0.4, 0.02]):
            monitor.record(lag, now=float(second))
        monitor.record(0.5, now=20.0)
    stats = monitor.statistics()
    assert stats.stalls == 4 and stats.samples == 6
    assert stats.last == 0.5 and stats.recent_max == 0.9
    assert len(caplog.records) == 2  # one at t=1, the next only after 10 s
    assert "3 stall(s)" in caplog.records[1].getMessage()


def _sleepy(seconds: float) -> Any:
    def work(arguments: Mapping[str, Any]) -> str:
        time.sleep(seconds)  # stands for CPU-bound work
        return "done"

    return work


class CallsTool:
    """An agent that calls one tool and returns its result."""

    def __init__(self, tool: str) -> None:
        self.tool = tool

    async def run(self, run: RunContext) -> Any:
        return await run.call_tool(self.tool, {})


def _registry() -> AgentRegistry:
    registry = AgentRegistry()
    blocking = _sleepy(0.6)

    async def on_the_loop(arguments: Mapping[str, Any]) -> Any:
        return blocking(arguments)

    registry.register_tool(Tool("stall", "blocks the loop", on_the_loop))
    registry.register_tool(blocking_tool("offloaded", "blocks a worker thread", blocking))
    registry.register_agent("stall", CallsTool("stall"))
    registry.register_agent("offloaded", CallsTool("offloaded"))
    return registry


@pytest.mark.parametrize("agent,stalls", [("stall", True), ("offloaded", False)])
async def test_the_monitor_sees_a_blocked_loop_and_blocking_tools_do_not_block_it(
    agent: str, stalls: bool
) -> None:
    settings = {"loop_lag_interval": 0.05, "loop_lag_warning": 0.3, "default_agent": agent}
    async with open_test_orchestrator(_registry(), **settings) as harness:
        await trio.sleep(0.2)
        events = await harness.run_message("alice", "go", agent_type=agent)
        await trio.sleep(0.2)
        lag = harness.orchestrator.health()["loop_lag_ms"]
    assert events[-1]["type"] == "agent_completed"
    assert (lag["recent_max"] > 400) is stalls and (lag["stalls"] > 0) is stalls


async def test_blocking_tool_is_abandoned_when_the_run_is_stopped() -> None:
    registry = AgentRegistry()
    registry.register_tool(blocking_tool("long", "sleeps 3 s", _sleepy(3.0)))
    registry.register_agent("long", CallsTool("long"))
    async with open_test_orchestrator(registry, default_agent="long") as harness:
        client = await harness.connect("alice")
        client.send_message("go", agent_type="long")
        run_id = (await client.receive_type("run_accepted"))["run_id"]
        await client.receive_type("tool_executing")
        with trio.fail_after(1.5):
            client.send({"type": "stop_agent", "run_id": run_id})
            events = await client.collect_run(run_id)
    assert events[-1]["type"] == "agent_cancelled"
    completed = [e for e in events if e["type"] == "tool_completed"]
    assert completed[0]["payload"]["ok"] is False


async def test_oversized_tool_arguments_fail_the_call_not_the_loop() -> None:
    registry = AgentRegistry()
    registry.register_tool(blocking_tool("echo", "echoes", lambda arguments: arguments))

    class BigArguments:
        async def run(self, run: RunContext) -> Any:
            return await run.call_tool("echo", {"blob": "x" * 20_000})

    registry.register_agent("big", BigArguments())
    async with open_test_orchestrator(registry, default_agent="big") as harness:
        events = await harness.run_message("alice", "go", agent_type="big")
    completed = next(e for e in events if e["type"] == "tool_completed")
    assert completed["payload"]["ok"] is False
    assert "byte limit" in completed["payload"]["error"]


PATHOLOGICAL = [
    ("1" * 60_000, "assistant"),
    ("What is (2**3999) * (3**2500) // 7 + (2**3998) % 12345?", "assistant"),
    ("5 km" * 15_000, "assistant"),
]


async def test_a_pathological_message_does_not_delay_another_users_events(
    server: LiveServer,
) -> None:
    """Bob's events keep flowing (no gap over 1 s) while alice sends the worst we know."""
    with trio.fail_after(30):
        async with server.connect("alice") as alice, server.connect("bob") as bob:
            for text, agent in PATHOLOGICAL:
                await alice.send_message(text, agent_type=agent)
            _, events = await bob.run("thoughts=20 tools=2 delay_ms=25", agent_type="scripted")
            arrival_gaps = bob.arrival_gaps()
            for _ in PATHOLOGICAL:
                await alice.receive_type("agent_completed")
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            headers = {"Authorization": f"Bearer {server.token('ops')}"}
            health = (await http.get("/health/details", headers=headers)).json()
    check_run(events)
    assert max(arrival_gaps) < 1.0, arrival_gaps
    assert health["loop_lag_ms"]["recent_max"] < 1000
