"""The demo agents: script parsing, the assistant's planning, and both agents end to end.

End-to-end tests run through :func:`wsao_trio.testing.open_test_orchestrator`: a real
orchestrator with an in-memory transport, so every event below went through the real
notifier, dispatcher, log and sender.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from app.agents import build_registry
from app.agents.assistant import AssistantAgent, chunks, plan
from app.agents.scripted import MAX_COUNT, MAX_DELAY_MS, Script, parse_script
from wsao_trio.agents import AgentRegistry
from wsao_trio.testing import OrchestratorHarness, open_test_orchestrator

DOCS = (
    "# Reconnecting\n\nA client that reconnects sends last_seq and epoch; the server "
    "replays every event after that seq.\n"
)


@pytest.fixture
def registry(tmp_path: Path) -> AgentRegistry:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "resume.md").write_text(DOCS, encoding="utf-8")
    return build_registry(docs)


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def _answer(events: list[dict[str, Any]]) -> str:
    assert events[-1]["type"] == "agent_completed", events[-1]
    answer: str = events[-1]["payload"]["result"]["answer"]
    streamed = "".join(e["payload"]["delta"] for e in events if e["type"] == "agent_message_delta")
    assert streamed == answer
    return answer


# --- parse_script -----------------------------------------------------------------


def test_parse_script_defaults_and_values() -> None:
    assert parse_script("") == Script(thoughts=1, tools=1, deltas=0, delay_ms=0, fail=False)
    assert parse_script("thoughts=2 tools=3 delay_ms=10") == Script(2, 3, 0, 10, False)
    assert parse_script("  fail=1\tdeltas=4 tools=0 ") == Script(1, 0, 4, 0, True)


@pytest.mark.parametrize(
    "text",
    [
        "thoughts",
        "thoughts=",
        "thoughts=-1",
        "thoughts=1.5",
        "thoughts=x",
        "thoughts=٣",
        "colour=3",
        "tools=1 tools=2",
        f"tools={MAX_COUNT + 1}",
        f"delay_ms={MAX_DELAY_MS + 1}",
        "delay_ms=99999999999999999999",
        "fail=2",
        "What is 2 + 2?",
    ],
)
def test_parse_script_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_script(text)


_SCRIPTS = st.builds(
    Script,
    thoughts=st.integers(0, MAX_COUNT),
    tools=st.integers(0, MAX_COUNT),
    deltas=st.integers(0, MAX_COUNT),
    delay_ms=st.integers(0, MAX_DELAY_MS),
    fail=st.booleans(),
)


@given(_SCRIPTS)
def test_parse_script_round_trips(script: Script) -> None:
    text = (
        f"thoughts={script.thoughts} tools={script.tools} deltas={script.deltas} "
        f"delay_ms={script.delay_ms} fail={int(script.fail)}"
    )
    assert parse_script(text) == script


@given(st.text(max_size=100))
def test_parse_script_raises_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_script(text)


# --- the assistant's plan -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("What is 17 * 23 + 4?", ["calculator"]),
        ("what's sqrt(2) * 3", ["calculator"]),
        ("convert 5 km to miles", ["convert_units"]),
        ("How many feet in 3 meters?", ["convert_units"]),
        ("What time is it in Europe/Paris?", ["datetime"]),
        ("What is 2^10, and what day is it?", ["calculator", "datetime"]),
        ("How do I resume after a reconnect?", ["search_docs"]),
        ("what is wsao_trio", ["search_docs"]),
        ("hello", ["search_docs"]),
    ],
)
def test_plan_picks_tools(text: str, tools: list[str]) -> None:
    assert [step.tool for step in plan(text)] == tools


def test_plan_arguments() -> None:
    (calc,) = plan("What is 17 * 23 + 4?")
    assert calc.arguments == {"expression": "17 * 23 + 4"}
    (units,) = plan("10 km in miles")
    assert units.arguments == {"value": 10, "from": "km", "to": "mi"}
    (clock,) = plan("What time is it in Asia/Tokyo?")
    assert clock.arguments == {"timezone": "Asia/Tokyo"}


@given(st.text(max_size=200), st.integers(1, 8))
def test_chunks_join_back(text: str, parts: int) -> None:
    pieces = chunks(text, parts)
    assert "".join(pieces) == text
    assert len(pieces) <= parts


def test_registry_contents(registry: AgentRegistry) -> None:
    assert registry.agent_types == ["assistant", "scripted"]
    names = [tool.name for tool in registry.tools]
    assert names == ["calculator", "convert_units", "datetime", "echo", "search_docs"]


# --- end to end: assistant ----------------------------------------------------------


async def test_assistant_answers_arithmetic(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        events = await harness.run_message("alice", "What is 17 * 23 + 4?", timeout=10)
    types = _types(events)
    assert types[0] == "agent_started" and "agent_thinking" in types
    executing = [e for e in events if e["type"] == "tool_executing"]
    completed = [e for e in events if e["type"] == "tool_completed"]
    assert [e["payload"]["tool_name"] for e in executing] == ["calculator"]
    assert executing[0]["payload"]["arguments"] == {"expression": "17 * 23 + 4"}
    assert completed[0]["payload"]["ok"] is True
    assert completed[0]["payload"]["result"] == 395
    assert types.index("tool_completed") < types.index("agent_message_delta")
    assert "395" in _answer(events)


async def test_assistant_other_tools(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        units = await harness.run_message("alice", "convert 10 km to miles", timeout=10)
        clock = await harness.run_message("alice", "What day is it in UTC?", timeout=10)
        docs = await harness.run_message("alice", "How do I reconnect?", timeout=10)
    assert "6.213712 mi" in _answer(units)
    assert "UTC" in _answer(clock)
    assert "resume.md" in _answer(docs) and "last_seq" in _answer(docs)


async def test_assistant_explains_a_failed_tool(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        events = await harness.run_message("alice", "What is 1 / 0?", timeout=10)
    (completed,) = [e for e in events if e["type"] == "tool_completed"]
    assert completed["payload"]["ok"] is False
    assert "division by zero" in _answer(events)


async def test_assistant_slow_mode_thinks_in_steps(registry: AgentRegistry) -> None:
    registry.register_agent("assistant", AssistantAgent(slow_steps=3, slow_step_seconds=0))
    async with open_test_orchestrator(registry) as harness:
        events = await harness.run_message("alice", "Slowly: what is 6 * 7?", timeout=10)
    thoughts = [e["payload"]["thought"] for e in events if e["type"] == "agent_thinking"]
    assert sum("Still thinking" in thought for thought in thoughts) == 3
    assert "42" in _answer(events)


async def _stop_after_first_thought(harness: OrchestratorHarness, text: str, agent: str) -> str:
    client = await harness.connect("bob")
    client.send_message(text, agent_type=agent)
    run_id: str = (await client.receive_type("run_accepted"))["run_id"]
    await client.receive_type("agent_thinking")
    client.send({"type": "stop_agent", "run_id": run_id})
    events = await client.collect_run(run_id)
    terminal: str = events[-1]["type"]
    return terminal


async def test_slow_runs_can_be_stopped(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        with trio.fail_after(10):
            slow = await _stop_after_first_thought(harness, "think long about 2+2", "assistant")
            script = "thoughts=1 tools=0 delay_ms=60000"
            scripted = await _stop_after_first_thought(harness, script, "scripted")
    assert slow == scripted == "agent_cancelled"


# --- end to end: scripted -----------------------------------------------------------


async def test_scripted_emits_exactly_its_script(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        text = "thoughts=2 tools=3 delay_ms=1"
        events = await harness.run_message("carol", text, agent_type="scripted", timeout=10)
    tool_pair = ["tool_executing", "tool_completed"]
    expected = ["agent_started", "agent_thinking", "agent_thinking", *tool_pair * 3]
    assert _types(events) == [*expected, "agent_completed"]
    calls = [e for e in events if e["type"].startswith("tool_")]
    for executing, completed in zip(calls[::2], calls[1::2], strict=True):
        assert executing["payload"]["tool_name"] == "echo"
        assert completed["payload"]["tool_call_id"] == executing["payload"]["tool_call_id"]
        assert completed["payload"]["ok"] is True
        assert completed["payload"]["result"] == executing["payload"]["arguments"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_scripted_deltas_and_failure(registry: AgentRegistry) -> None:
    async with open_test_orchestrator(registry) as harness:
        text = "thoughts=0 tools=1 deltas=2 fail=1"
        events = await harness.run_message("carol", text, agent_type="scripted", timeout=10)
        bad = await harness.run_message("carol", "bogus=1", agent_type="scripted", timeout=10)
    middle = ["tool_executing", "tool_completed", "agent_message_delta", "agent_message_delta"]
    assert _types(events) == ["agent_started", *middle, "agent_error"]
    assert events[-1]["payload"]["code"] == "agent_failed"
    assert _types(bad) == ["agent_started", "agent_error"]
    assert bad[-1]["payload"]["code"] == "agent_failed"


@pytest.mark.parametrize(
    "text", ["1" * 60_000, "1 " * 30_000, "1." * 30_000, "5 km" * 15_000, "(1+" * 20_000]
)
async def test_pathological_text_is_planned_in_linear_time(text: str) -> None:
    # "1" * 60000 took 126 s before the number pattern got a lookbehind and possessive
    # quantifiers; 20,000 characters alone took ~12 s. A generous bound, not a benchmark.
    with trio.fail_after(5):
        await trio.to_thread.run_sync(plan, text[:20_000], abandon_on_cancel=True)
