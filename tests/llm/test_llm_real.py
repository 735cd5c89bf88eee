"""The ``llm`` agent against a real OpenAI-compatible endpoint, through the real app.

Runs only when ``WSAO_LLM_BASE_URL`` (and ``WSAO_LLM_MODEL``, optionally
``WSAO_LLM_API_KEY``) are set in the environment, e.g. for a local Ollama::

    WSAO_LLM_BASE_URL=http://127.0.0.1:11434/v1 WSAO_LLM_MODEL=qwen2.5:0.5b \\
        python -m pytest -q tests/llm/test_llm_real.py

The calculator test needs a model that chooses to call tools (for Ollama: a model
tagged "tools"; a 135M model streams and stops fine but answers without the tool).
Run this file alone: other tests' child processes would inherit the variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
import trio

from wsao_trio.config import load_settings

pytestmark = pytest.mark.skipif(
    not os.environ.get("WSAO_LLM_BASE_URL"),
    reason="WSAO_LLM_BASE_URL is not set: no real OpenAI-compatible endpoint to test against",
)
DEADLINE = 300


def _llm_settings() -> dict[str, Any]:
    settings = load_settings()
    return {
        "llm_base_url": settings.llm_base_url,
        "llm_model": settings.llm_model,
        "llm_api_key": settings.llm_api_key,
        "llm_timeout": settings.llm_timeout,
        "run_timeout": DEADLINE,
    }


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event["payload"] for event in events if event["type"] == kind]


async def test_a_real_model_streams_its_answer(server_factory: Callable[..., Any]) -> None:
    server = await server_factory(**_llm_settings())
    async with server.connect("alice") as client:
        with trio.fail_after(DEADLINE):
            _, events = await client.run("Say hello to Alice in one short sentence.")
    assert events[-1]["type"] == "agent_completed", events[-1]
    deltas = _of(events, "agent_message_delta")
    assert len(deltas) >= 2, "the answer should stream in pieces"
    assert "".join(d["delta"] for d in deltas) == events[-1]["payload"]["result"]["answer"]


async def test_a_real_model_calls_the_calculator(server_factory: Callable[..., Any]) -> None:
    server = await server_factory(**_llm_settings())
    question = "Use the calculator tool to compute 1234 * 5678, then tell me the result."
    async with server.connect("alice") as client:
        with trio.fail_after(DEADLINE):
            _, events = await client.run(question)
    assert events[-1]["type"] == "agent_completed", events[-1]
    calls = [p for p in _of(events, "tool_completed") if p["tool_name"] == "calculator"]
    assert calls and calls[0]["ok"], _of(events, "tool_completed")
    answer = events[-1]["payload"]["result"]["answer"]
    assert "7006652" in re.sub(r"[,\s.\u202f]", "", answer), answer


async def test_stop_ends_a_real_answer(server_factory: Callable[..., Any]) -> None:
    server = await server_factory(**_llm_settings())
    async with server.connect("alice") as client:
        with trio.fail_after(DEADLINE):
            await client.send_message("Count from 1 to 300, one number per line.")
            accepted = await client.receive_type("run_accepted")
            await client.receive_type("agent_message_delta")
            await client.send({"type": "stop_agent", "run_id": accepted["run_id"]})
            events = await client.collect_run(accepted["run_id"])
    assert events[-1]["type"] == "agent_cancelled"
