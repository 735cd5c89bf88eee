"""A run's life through the real orchestrator: its events, failures and tools' cancellation."""

from __future__ import annotations

import trio
import trio.testing

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run
from wsao_trio._state.runstate import RunState
from wsao_trio.testing import open_test_orchestrator


async def test_success_emits_started_steps_and_one_completion() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        events = await harness.run_message("alice", "hello")
    check_run(events)
    assert [e["type"] for e in events] == [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_message_delta",
        "agent_completed",
    ]
    assert events[0]["payload"]["message"] == "hello"
    assert events[-1]["payload"]["result"] == {"answer": 5}
    assert events[3]["payload"]["ok"] is True and events[3]["payload"]["result"] == 5


async def test_agent_exception_ends_with_agent_error() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        events = await harness.run_message("alice", "raise")
    check_run(events)
    assert events[-1]["type"] == "agent_error"
    assert events[-1]["payload"]["code"] == "agent_failed"
    assert "agent gave up" in events[-1]["payload"]["message"]


async def test_failing_tool_completes_not_ok_and_fails_the_run() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        events = await harness.run_message("alice", "boom")
    check_run(events)
    completed = [e for e in events if e["type"] == "tool_completed"]
    assert completed[-1]["payload"]["ok"] is False
    assert "tool exploded" in completed[-1]["payload"]["error"]
    assert events[-1]["type"] == "agent_error"


async def test_run_timeout_cancels_the_tool_and_reports_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", run_timeout=5, orphan_timeout=3600
    ) as harness:
        events = await harness.run_message("alice", "sleep=100")
    check_run(events)
    assert events[-1]["type"] == "agent_error"
    assert events[-1]["payload"]["code"] == "run_timeout"
    slow = [e for e in events if e["type"] == "tool_completed"][-1]
    assert slow["payload"] == {**slow["payload"], "ok": False, "error": "cancelled"}


async def test_stop_run_cancels_with_reason_user_and_completes_the_tool() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        client = await harness.connect("alice")
        client.send_message("sleep=100")
        accepted = await client.receive_type("run_accepted")
        await client.receive_type("tool_executing")
        await client.receive_type("tool_executing")
        client.send({"type": "stop_agent", "run_id": accepted["run_id"]})
        events = await client.collect_run(accepted["run_id"])
    check_run(events)
    assert events[-1]["type"] == "agent_cancelled"
    assert events[-1]["payload"]["reason"] == "user"


async def test_complete_execution_of_a_caller_driven_context() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        orch = harness.orchestrator
        client = await harness.connect("alice")
        ticket = await orch.create_execution_context("steps", "alice", "manual", "m1")
        assert ticket.context is not None and ticket.context.state is RunState.PENDING
        await orch.complete_execution(ticket.context, {"answer": "done by hand"})
        events = await client.collect_run(ticket.run_id)
    check_run(events)
    assert events[-1]["payload"]["result"] == {"answer": "done by hand"}
    assert orch.get_run(ticket.run_id) is None
