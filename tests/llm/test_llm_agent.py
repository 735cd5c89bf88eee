"""The ``llm`` agent against a local OpenAI-compatible server streaming real SSE chunks.

The server (tests/support/fakellm.py) is a real HTTP server on a loopback port; the agent
talks to it with the real ``openai`` client. The main paths run end to end through
the real app server and a WebSocket client; the failure cases through a real
orchestrator with an in-memory transport (wsao_trio.testing).
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from app.agents import build_registry
from tests.support.fakellm import (
    DONE,
    FakeLlm,
    Pause,
    Status,
    chunk,
    start_fake_llm,
    text_reply,
    tool_reply,
)
from wsao_trio._runs.agents import AgentRegistry
from wsao_trio.config import Settings
from wsao_trio.errors import AgentFailure, ConfigError
from wsao_trio.testing import OrchestratorHarness, open_test_orchestrator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event["payload"] for event in events if event["type"] == kind]


def _streamed(events: list[dict[str, Any]]) -> str:
    return "".join(p["delta"] for p in _of(events, "agent_message_delta"))


@pytest.fixture
async def fake(nursery: trio.Nursery) -> FakeLlm:
    return await start_fake_llm(nursery)


@asynccontextmanager
async def llm_orchestrator(base_url: str, **settings: Any) -> AsyncIterator[OrchestratorHarness]:
    llm = {"llm_base_url": base_url, "llm_model": "fake-model", **settings}
    registry = build_registry(DOCS, Settings(**llm))
    async with open_test_orchestrator(registry, **llm) as harness:
        yield harness


async def run_llm(fake: FakeLlm, text: str = "hello", **settings: Any) -> list[dict[str, Any]]:
    async with llm_orchestrator(fake.url, **settings) as harness:
        return await harness.run_message("alice", text, timeout=20)


# --- end to end through the app server and a WebSocket ---------------------------------


async def test_the_answer_streams_token_by_token_through_the_app(
    fake: FakeLlm, server_factory: Callable[..., Any]
) -> None:
    fake.add(text_reply("Hel", "lo, ", "world", "!"))
    # token by token: merging off (the fake sends every chunk at once, so under the
    # default the later ones may be merged into one delta; tests/runs covers that)
    server = await server_factory(
        llm_base_url=fake.url, llm_model="fake-model", delta_max_delay_ms=0
    )
    async with httpx.AsyncClient() as http:
        config = (await http.get(f"{server.http_url}/api/config")).json()
    assert config["default_agent"] == "llm" and "llm" in config["agent_types"]
    async with server.connect("alice") as client:
        _, events = await client.run("Say hello")
    assert _types(events) == ["agent_started", *["agent_message_delta"] * 4, "agent_completed"]
    assert [p["delta"] for p in _of(events, "agent_message_delta")] == ["Hel", "lo, ", "world", "!"]
    assert events[-1]["agent_type"] == "llm"
    assert events[-1]["payload"]["result"] == {
        "answer": "Hello, world!", "model": "fake-model", "steps": 1,
    }  # fmt: skip
    body = fake.requests[0]
    assert body["model"] == "fake-model" and body["stream"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == "Say hello"
    offered = {tool["function"]["name"]: tool["function"] for tool in body["tools"]}
    assert set(offered) == {"calculator", "convert_units", "datetime", "echo", "search_docs"}
    assert offered["calculator"]["parameters"]["properties"]["expression"]["type"] == "string"
    assert all(tool["type"] == "function" for tool in body["tools"])


async def test_split_parallel_tool_calls_run_through_the_dispatcher(
    fake: FakeLlm, server_factory: Callable[..., Any]
) -> None:
    fake.add(
        tool_reply(
            ("call_a", "calculator", '{"expression": "17 * 23 + 4"}'),
            ("call_b", "convert_units", '{"value": 42.195, "from": "km", "to": "mi"}'),
            parts=4,
        ),
        text_reply("17 * 23 + 4 = 395; a marathon is about 26.2 miles."),
    )
    server = await server_factory(llm_base_url=fake.url, llm_model="fake-model")
    async with server.connect("alice") as client:
        _, events = await client.run("What is 17 * 23 + 4, and a marathon in miles?")
    executing = {p["tool_name"]: p for p in _of(events, "tool_executing")}
    completed = {p["tool_name"]: p for p in _of(events, "tool_completed")}
    assert executing["calculator"]["arguments"] == {"expression": "17 * 23 + 4"}
    assert executing["convert_units"]["arguments"] == {"value": 42.195, "from": "km", "to": "mi"}
    assert completed["calculator"]["ok"] and completed["calculator"]["result"] == 395
    assert round(completed["convert_units"]["result"]["result"], 2) == 26.22
    assert events[-1]["type"] == "agent_completed"
    assert events[-1]["payload"]["result"]["steps"] == 2
    follow_up = fake.requests[1]["messages"]
    assert [m["role"] for m in follow_up] == ["system", "user", "assistant", "tool", "tool"]
    calls = follow_up[2]["tool_calls"]
    assert [(c["id"], c["function"]["name"]) for c in calls] == [
        ("call_a", "calculator"), ("call_b", "convert_units"),
    ]  # fmt: skip
    assert json.loads(calls[1]["function"]["arguments"])["from"] == "km"
    assert [m["tool_call_id"] for m in follow_up[3:]] == ["call_a", "call_b"]
    assert json.loads(follow_up[3]["content"]) == 395


async def test_stop_mid_stream_closes_the_http_stream(
    fake: FakeLlm, server_factory: Callable[..., Any]
) -> None:
    fake.add([chunk({"content": "word "}), *[Pause(0.05), chunk({"content": "more "})] * 400])
    server = await server_factory(llm_base_url=fake.url, llm_model="fake-model")
    async with server.connect("alice") as client:
        await client.send_message("Talk for a long time")
        accepted = await client.receive_type("run_accepted")
        await client.receive_type("agent_message_delta")
        await client.send({"type": "stop_agent", "run_id": accepted["run_id"]})
        events = await client.collect_run(accepted["run_id"])
        with trio.fail_after(5):
            await fake.disconnected.wait()
    assert events[-1]["type"] == "agent_cancelled"
    assert events[-1]["payload"]["reason"] == "user"
    assert fake.streams_finished == 0


# --- streaming details ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
async def test_streamed_reasoning_becomes_thinking_lines(fake: FakeLlm, key: str) -> None:
    reasoning = ["The user ", "greets me.\nI should", " greet back.\n", "Short is best."]
    fake.add(
        [
            *(chunk({key: piece}) for piece in reasoning),
            chunk({"content": "Hi!"}),
            chunk(finish="stop"),
            DONE,
        ]
    )
    events = await run_llm(fake)
    thoughts = [p["thought"] for p in _of(events, "agent_thinking")]
    assert thoughts == ["The user greets me.", "I should greet back.", "Short is best."]
    last_thought = max(i for i, e in enumerate(events) if e["type"] == "agent_thinking")
    assert last_thought < _types(events).index("agent_message_delta")
    assert events[-1]["payload"]["result"]["answer"] == "Hi!"


async def test_a_length_finish_is_said_and_the_run_completes(fake: FakeLlm) -> None:
    fake.add(text_reply("Once upon a", finish="length"))
    events = await run_llm(fake)
    assert events[-1]["type"] == "agent_completed"
    assert any("cut off" in p["thought"] for p in _of(events, "agent_thinking"))


async def test_text_before_and_after_tool_calls_reads_as_paragraphs(fake: FakeLlm) -> None:
    first = tool_reply(("c1", "calculator", '{"expression": "2 + 2"}'))
    first.insert(1, chunk({"content": "Let me compute."}))
    fake.add(first, text_reply("It is 4."))
    events = await run_llm(fake)
    assert _streamed(events) == "Let me compute.\n\nIt is 4."
    assert events[-1]["payload"]["result"]["answer"] == "Let me compute.\n\nIt is 4."
    assert fake.requests[1]["messages"][2]["content"] == "Let me compute."


async def test_bad_arguments_and_unknown_tools_go_back_to_the_model(fake: FakeLlm) -> None:
    fake.add(
        tool_reply(("c1", "calculator", '{"expression": '), ("c2", "no_such_tool", "{}")),
        text_reply("Sorry, I could not compute that."),
    )
    events = await run_llm(fake)
    assert [p["tool_name"] for p in _of(events, "tool_executing")] == ["no_such_tool"]
    assert _of(events, "tool_completed")[0]["ok"] is False
    assert any("calculator" in p["thought"] for p in _of(events, "agent_thinking"))
    results = fake.requests[1]["messages"][3:]
    assert "not valid JSON" in json.loads(results[0]["content"])["error"]
    assert "unknown tool" in json.loads(results[1]["content"])["error"]
    assert events[-1]["type"] == "agent_completed"


async def test_a_thread_remembers_its_earlier_exchanges(fake: FakeLlm) -> None:
    fake.add(text_reply("Paris is in France."), text_reply("About 2.1 million."))
    async with llm_orchestrator(fake.url) as harness, trio.open_nursery():
        client = await harness.connect("alice")
        for text in ("Where is Paris?", "How many people live there?"):
            client.send_message(text, thread_id="t1")
            accepted = await client.receive_type("run_accepted")
            await client.collect_run(accepted["run_id"])
        other = await harness.run_message("bob", "How many people live there?")
    assert other[-1]["type"] == "agent_error"  # no third reply scripted: bob's own thread
    roles = [(m["role"], m["content"]) for m in fake.requests[1]["messages"][1:]]
    assert roles == [
        ("user", "Where is Paris?"),
        ("assistant", "Paris is in France."),
        ("user", "How many people live there?"),
    ]
    assert [m["role"] for m in fake.requests[2]["messages"]] == ["system", "user"]


async def test_the_api_key_is_sent_as_a_bearer_token(fake: FakeLlm) -> None:
    fake.add(text_reply("ok"), text_reply("ok"))
    await run_llm(fake, llm_api_key="sk-test-123")
    await run_llm(fake)
    assert fake.headers[0]["authorization"] == "Bearer sk-test-123"
    assert fake.headers[1]["authorization"] == "Bearer unused"


# --- failures: distinct codes, messages a user understands -------------------------------


def _error(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "agent_error", events[-1]
    payload: dict[str, Any] = events[-1]["payload"]
    return payload


ERROR_BODY = {"error": {"message": "the service says no", "type": "x", "code": None}}


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, "llm_auth", "WSAO_LLM_API_KEY"),
        (403, "llm_auth", "credentials"),
        (404, "llm_model_not_found", "'fake-model'"),
        (400, "llm_bad_request", "refused the request"),
        (422, "llm_bad_request", "HTTP 422"),
        (429, "llm_rate_limited", "try again"),
        (500, "llm_server_error", "HTTP 500"),
        (503, "llm_server_error", "try again later"),
    ],
)
async def test_http_errors_get_distinct_codes(
    fake: FakeLlm, status: int, code: str, words: str
) -> None:
    fake.add(Status(status, ERROR_BODY))
    error = _error(await run_llm(fake))
    assert error["code"] == code
    assert words in error["message"]
    quoted = "the service says no" in error["message"]
    assert quoted is (code != "llm_auth")  # auth answers may echo part of the key
    assert len(fake.requests) == 1  # no retries


async def test_a_rate_limit_passes_on_retry_after(fake: FakeLlm) -> None:
    fake.add(Status(429, ERROR_BODY, {"Retry-After": "20"}))
    assert "retry after 20 s" in _error(await run_llm(fake))["message"]


async def test_an_html_error_page_is_not_shown_to_the_user(fake: FakeLlm) -> None:
    fake.add(Status(502, "<html><body>Bad Gateway</body></html>"))
    error = _error(await run_llm(fake))
    assert error["code"] == "llm_server_error" and "<" not in error["message"]


async def test_an_error_midway_ends_the_run_with_the_services_words(fake: FakeLlm) -> None:
    fake.add(
        [
            chunk({"content": "Partial "}),
            {"error": {"message": "the model crashed", "type": "server_error"}},
        ]
    )
    events = await run_llm(fake)
    assert _streamed(events) == "Partial "
    error = _error(events)
    assert error["code"] == "llm_stream_error" and "the model crashed" in error["message"]


async def test_a_stalled_stream_times_out(fake: FakeLlm) -> None:
    fake.add([chunk({"content": "Thinking"}), Pause(30)])
    error = _error(await run_llm(fake, llm_timeout=0.5))
    assert error["code"] == "llm_timeout" and "0.5 s" in error["message"]
    with trio.fail_after(5):
        await fake.disconnected.wait()


async def test_a_service_that_never_answers_times_out(fake: FakeLlm) -> None:
    fake.add(Status(200, {}, delay=30))
    error = _error(await run_llm(fake, llm_timeout=0.5))
    assert error["code"] == "llm_timeout"


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([b"data: {not json\n\n"], "bad JSON"),
        ([b'data: {"choices": "none"}\n\n'], "'choices' is a str"),
        ([b'data: {"choices": [{"delta": {"content": 7}}]}\n\n'], "'content' is a int"),
        ([b"data: [1, 2]\n\n"], "not a JSON object"),
        ([chunk({"content": "cut"})], "ended before the model finished"),
        ([chunk({"content": "cut"}), DONE], "ended before the model finished"),
    ],
)
async def test_malformed_streams_are_bad_stream_errors(
    fake: FakeLlm, items: list[Any], words: str
) -> None:
    fake.add(items)
    error = _error(await run_llm(fake))
    assert error["code"] == "llm_bad_stream"
    assert words in error["message"], error["message"]


async def test_sse_comments_and_usage_chunks_are_read_past(fake: FakeLlm) -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}
    fake.add([b": PROCESSING\n\n", *text_reply("Hi", "!")[:-1], usage, DONE])
    events = await run_llm(fake)
    assert events[-1]["payload"]["result"]["answer"] == "Hi!"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_service_is_said_plainly() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    async with llm_orchestrator(url) as harness:
        events = await harness.run_message("alice", "hello")
    assert _error(events)["code"] == "llm_unreachable"


async def test_the_step_limit_ends_a_model_that_only_calls_tools(fake: FakeLlm) -> None:
    call = ("c", "echo", '{"text": "again"}')
    fake.add(tool_reply(call), tool_reply(call), text_reply("never reached"))
    events = await run_llm(fake, llm_max_steps=2)
    error = _error(events)
    assert error["code"] == "llm_step_limit" and "2 steps" in error["message"]
    assert len(_of(events, "tool_completed")) == 2 and len(fake.requests) == 2


# --- the host side ----------------------------------------------------------------------


class _Refusing:
    async def run(self, run: Any) -> Any:
        await run.delta("partial")
        async with trio.open_nursery() as nursery:  # arrives wrapped in exception groups
            nursery.start_soon(_refuse)


async def _refuse() -> None:
    raise AgentFailure("quota_exceeded", "You have used today's quota.")


async def test_any_agent_can_end_with_its_own_error_code() -> None:
    registry = AgentRegistry({"refusing": _Refusing()})
    async with open_test_orchestrator(registry, default_agent="refusing") as harness:
        events = await harness.run_message("alice", "hi")
    assert _error(events) == {
        "code": "quota_exceeded",
        "message": "You have used today's quota.",
        "duration_ms": events[-1]["payload"]["duration_ms"],
    }


def test_without_the_llm_extra_the_app_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "openai" or "wsao_trio.llm" in n]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "openai", None)  # as if it were not installed
    settings = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    with pytest.raises(ConfigError, match=r"pip install 'wsao_trio\[llm\]'"):
        build_registry(DOCS, settings)
    assert not build_registry(DOCS).has_agent("llm")
