"""The scripted agent's paced token mode (``tokens=N rate=K``, issue 17).

The schedule is checked on trio's virtual clock (``autojump_clock``) through a stub run
context, so the times are exact and nothing here depends on this machine's speed; the
end-to-end test runs the real orchestrator and checks only the assembled text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from app.agents import build_registry
from app.agents.scripted import (
    MAX_RATE,
    MAX_TOKENS,
    Script,
    ScriptedAgent,
    parse_script,
    schedule_thought,
    token_text,
)
from wsao_trio.testing import open_test_orchestrator


class StubRun:
    """What the agent sees of a run: records each emit with trio's clock."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.thoughts: list[str] = []
        self.deltas: list[tuple[float, str]] = []

    async def thinking(self, text: str) -> None:
        self.thoughts.append(text)

    async def delta(self, text: str) -> None:
        self.deltas.append((trio.current_time(), text))


def test_parse_tokens_and_rate() -> None:
    assert parse_script("thoughts=0 tools=0 tokens=500 rate=50") == Script(
        0, 0, tokens=500, rate=50
    )
    assert parse_script("") == Script()
    for bad in (f"tokens={MAX_TOKENS + 1}", f"rate={MAX_RATE + 1}", "rate=1.5", "tokens=-1"):
        with pytest.raises(ValueError):
            parse_script(bad)


async def test_tokens_follow_the_schedule(autojump_clock: trio.testing.MockClock) -> None:
    run = StubRun("thoughts=0 tools=0 tokens=40 rate=8")
    start = trio.current_time()
    result = await ScriptedAgent().run(run)  # type: ignore[arg-type]
    assert result == {"thoughts": 0, "tools": 0, "deltas": 0, "tokens": 40}
    assert [text for _, text in run.deltas] == [token_text(i) for i in range(40)]
    for i, (at, _) in enumerate(run.deltas):
        assert at == pytest.approx(start + i / 8, abs=1e-9)
    assert len(run.thoughts) == 1
    assert run.thoughts[0].startswith("scripted tokens: 40 at 8/s from ")


async def test_unpaced_tokens_and_other_steps_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    run = StubRun("thoughts=2 tools=0 deltas=1 tokens=3")
    start = trio.current_time()
    await ScriptedAgent().run(run)  # type: ignore[arg-type]
    assert [text for _, text in run.deltas] == ["chunk 1 ", "t0 ", "t1 ", "t2 "]
    assert all(at == start for at, _ in run.deltas)
    assert run.thoughts[-1] == schedule_thought(3, 0, float(run.thoughts[-1].split()[-1]))


async def test_token_stream_end_to_end(tmp_path: Path) -> None:
    registry = build_registry(tmp_path)
    async with open_test_orchestrator(registry) as harness:
        text = "thoughts=0 tools=0 tokens=30 rate=300"
        events: list[dict[str, Any]] = await harness.run_message(
            "dora", text, agent_type="scripted", timeout=10
        )
    assert events[0]["type"] == "agent_started"
    assert events[1]["type"] == "agent_thinking"
    assert events[-1]["type"] == "agent_completed"
    deltas = [e["payload"]["delta"] for e in events if e["type"] == "agent_message_delta"]
    assert "".join(deltas) == "".join(token_text(i) for i in range(30))
