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
from app.agents.smalltalk import CAN_DO, DONT_KNOW, GREETING, JOKES
from app.tools import calculator_tool, datetime_tool, docs_search_tool, units_tool
from wsao_trio._runs.agents import AgentRegistry
from wsao_trio.testing import OrchestratorHarness, open_test_orchestrator

DOCS = (
    "# Reconnecting\n\nA client that reconnects sends last_seq and epoch; the server "
    "replays every event after that seq.\n"
)
SETTINGS_DOC = (
    "# Settings\n\n- [Variables](#variables)\n- [Close codes](#close-codes)\n\n"
    "## Variables\n\n| Variable | Type | Meaning |\n|---|---|---|\n"
    "| `WSAO_SEND_DEADLINE` | float | How long one **send** may take before the "
    "connection is closed. |\n| `WSAO_BIND` | string | Where to listen. |\n\n"
    "```bash\nWSAO_SEND_DEADLINE=5 python -m app\n```\n"
)
MONDAY_NOON = 1736164800.0  # 2025-01-06 12:00 UTC


@pytest.fixture
def registry(tmp_path: Path) -> AgentRegistry:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "resume.md").write_text(DOCS, encoding="utf-8")
    return build_registry(docs)


@pytest.fixture
def pinned(tmp_path: Path) -> AgentRegistry:
    """The assistant with its clock pinned to Monday noon UTC and two docs files."""
    docs = tmp_path / "pinned-docs"
    docs.mkdir()
    (docs / "resume.md").write_text(DOCS, encoding="utf-8")
    (docs / "settings.md").write_text(SETTINGS_DOC, encoding="utf-8")
    registry = AgentRegistry()
    registry.register_agent("assistant", AssistantAgent())
    for tool in (calculator_tool(), units_tool(), docs_search_tool(docs)):
        registry.register_tool(tool)
    registry.register_tool(datetime_tool(now=lambda: MONDAY_NOON))
    return registry


def _tool_calls(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    calls = [e["payload"] for e in events if e["type"] == "tool_executing"]
    return [(call["tool_name"], call["arguments"]) for call in calls]


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
    assert parse_script("thoughts=2 tools=3 delay_ms=10") == Script(2, 3, 0, delay_ms=10)
    assert parse_script("  fail=1\tdeltas=4 tools=0 ") == Script(1, 0, 4, fail=True)


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
        ("what is WSAO_DEFAULT_AGENT?", ["search_docs"]),
        ("what is the capital of France?", ["search_docs"]),
        ("square root of 2", ["calculator"]),
        ("what is 2 to the power of 10?", ["calculator"]),
        ("15% of 80", ["calculator"]),
        ("what's 7 times 6", ["calculator"]),
        ("how many miles is a marathon?", ["convert_units"]),
        ("what time is it in Tokyo?", ["datetime"]),
        ("weather in Paris", ["datetime"]),
        ("what is wsao_trio", []),
        ("hello", []),
        ("what can you do?", []),
        ("tell me a joke", []),
        ("what's the weather like?", []),
        ("thanks!", []),
    ],
)
def test_plan_picks_tools(text: str, tools: list[str]) -> None:
    assert [step.tool for step in plan(text)] == tools


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("square root of 2", {"expression": "sqrt(2)"}),
        ("what is the cube root of 27?", {"expression": "27 ** (1 / 3)"}),
        ("2 to the power of 10", {"expression": "2 ** 10"}),
        ("2 raised to the 5th power", {"expression": "2 ** 5"}),
        ("3 squared", {"expression": "3 ** 2"}),
        ("what is 20 percent of 150?", {"expression": "20 / 100 * 150"}),
        ("10 divided by 4 plus 1", {"expression": "10 / 4 + 1"}),
        ("how many miles is a marathon", {"value": 42.195, "from": "km", "to": "mi"}),
        ("how long is a half marathon in miles", {"value": 21.0975, "from": "km", "to": "mi"}),
        ("how many km in a mile", {"value": 1, "from": "mi", "to": "km"}),
        ("what time is it in Tokyo", {"timezone": "Asia/Tokyo"}),
        ("time in New York?", {"timezone": "America/New_York"}),
        ("what day is it in San Francisco", {"timezone": "America/Los_Angeles"}),
        ("what day is Christmas", {}),
    ],
)
def test_plan_reads_words(text: str, arguments: dict[str, Any]) -> None:
    (step,) = plan(text)
    assert step.arguments == arguments


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
    "text",
    [
        "1" * 60_000,
        "1 " * 30_000,
        "1." * 30_000,
        "5 km" * 15_000,
        "(1+" * 20_000,
        "square root of " * 5_000,
        "1% of " * 10_000,
        "2 to the " * 10_000,
        "how many miles is a " * 5_000,
        "what time is it in new " * 5_000,
        "hello " + " " * 60_000 + "x",
    ],
)
async def test_pathological_text_is_planned_in_linear_time(text: str) -> None:
    # "1" * 60000 took 126 s before the number pattern got a lookbehind and possessive
    # quantifiers; 20,000 characters alone took ~12 s. A generous bound, not a benchmark.
    with trio.fail_after(5):
        await trio.to_thread.run_sync(plan, text[:20_000], abandon_on_cancel=True)


# --- end to end: the assistant answers ordinary questions (issue 9) -----------------


async def _ask(registry: AgentRegistry, text: str) -> tuple[list[tuple[str, Any]], str]:
    async with open_test_orchestrator(registry) as harness:
        events = await harness.run_message("dora", text, timeout=10)
    return _tool_calls(events), _answer(events)


async def test_assistant_greets(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "Hello!")
    assert calls == [] and answer == GREETING


async def test_assistant_says_plainly_what_it_can_do(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "What can you do?")
    assert calls == [] and answer == CAN_DO
    for claim in ("offline", "arithmetic", "convert units", "time", "docs"):
        assert claim in answer


async def test_assistant_tells_a_joke(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "tell me a joke")
    assert calls == [] and answer.removeprefix("Here's one: ") in JOKES


@pytest.mark.parametrize(
    ("text", "expression", "answer"),
    [
        ("square root of 2", "sqrt(2)", "The square root of 2 is 1.414213562."),
        ("What is 2 to the power of 10?", "2 ** 10", "2 to the power of 10 is 1024."),
        ("what's 15% of 80?", "15 / 100 * 80", "15% of 80 is 12."),
        ("what is 3 squared", "3 ** 2", "3 squared is 9."),
        ("2^10", "2**10", "2^10 = 1024"),
    ],
)
async def test_assistant_does_the_obvious_math_with_the_calculator(
    pinned: AgentRegistry, text: str, expression: str, answer: str
) -> None:
    calls, said = await _ask(pinned, text)
    assert calls == [("calculator", {"expression": expression})]
    assert said == answer


async def test_assistant_knows_a_marathon(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "How many miles is a marathon?")
    assert calls == [("convert_units", {"value": 42.195, "from": "km", "to": "mi"})]
    assert answer == "A marathon is 42.195 km = 26.218757 mi."


async def test_assistant_tells_the_time_in_a_city(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "What time is it in Tokyo?")
    assert calls == [("datetime", {"timezone": "Asia/Tokyo"})]
    assert answer == "It is 21:00 on Monday, 2025-01-06, in Tokyo (Asia/Tokyo, UTC+09:00)."


async def test_assistant_is_honest_about_the_weather(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "weather in Paris")
    assert calls == [("datetime", {"timezone": "Europe/Paris"})]
    assert answer.startswith("I can't check the weather")
    assert answer.endswith("It is 13:00 on Monday, 2025-01-06, in Paris (Europe/Paris, UTC+01:00).")


async def test_assistant_quotes_matching_docs_as_prose(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "What is WSAO_SEND_DEADLINE?")
    assert calls == [("search_docs", {"query": "What is WSAO_SEND_DEADLINE?"})]
    assert "WSAO_SEND_DEADLINE: How long one send may take" in answer
    assert "(Type: float)" in answer and "(settings.md, “Variables”)" in answer
    for markup in ("|", "```", "**", "`", "#"):
        assert markup not in answer, markup


async def test_assistant_does_not_quote_unrelated_docs(pinned: AgentRegistry) -> None:
    calls, answer = await _ask(pinned, "What is the capital of France?")
    assert [name for name, _ in calls] == ["search_docs"]
    assert answer == DONT_KNOW
