"""The library's own guard rails for users' tests: no silent hang, ever.

An unknown default agent fails at ``open_orchestrator``; the harness's waits say what
they waited for, and a refused message fails at once instead of at the timeout.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from tests.support.agents_for_tests import registry
from wsao_trio import AgentRegistry, RunContext, Settings, open_orchestrator
from wsao_trio.errors import ConfigError
from wsao_trio.testing import RunRefused, open_test_orchestrator


async def test_an_unknown_default_agent_fails_at_open() -> None:
    with pytest.raises(ValueError) as raised:
        async with open_orchestrator(registry(), Settings()):
            pytest.fail("the orchestrator opened without its default agent")
    message = str(raised.value)
    assert isinstance(raised.value, ConfigError)
    assert "'assistant' is not registered" in message
    assert "'steps'" in message and "'ticks'" in message


async def test_an_empty_registry_says_none_are_registered() -> None:
    with pytest.raises(ConfigError, match=r"registered agents: none"):
        async with open_test_orchestrator(AgentRegistry()):
            pass


async def test_a_refused_message_fails_at_once_naming_the_error() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        with trio.fail_after(5), pytest.raises(RunRefused) as raised:
            await harness.run_message("alice", "hi", agent_type="nope", timeout=3600)
    assert raised.value.frame["code"] == "invalid_message"
    assert "unknown agent type 'nope'" in str(raised.value)


class Sleeper:
    """Never finishes (until cancelled)."""

    async def run(self, run: RunContext) -> Any:
        await run.thinking("about to sleep")
        await trio.sleep_forever()


async def test_a_timeout_names_what_was_awaited(autojump_clock: trio.testing.MockClock) -> None:
    reg = AgentRegistry()
    reg.register_agent("sleeper", Sleeper())
    async with open_test_orchestrator(reg, default_agent="sleeper") as harness:
        with pytest.raises(trio.TooSlowError) as raised:
            await harness.run_message("alice", "hi", timeout=7)
    message = str(raised.value)
    assert message.startswith("waited 7 s for the terminal event of run '")
    assert "'agent_started', 'agent_thinking'" in message
