"""Answer deltas merge under load, through the real notifier, log, hub and sender.

A burst agent streams pieces back to back to a client that reads slowly, so the
user's connection falls behind and later pieces are merged; the client's text is
the same either way, the first piece goes out on its own, merging never crosses
another event of the run, and ``delta_max_delay_ms=0`` turns it off.
"""

from __future__ import annotations

from typing import Any

import trio

from tests.support.invariants import check_run
from tests.support.redisserver import needs_redis, running_redis
from wsao_trio import AgentRegistry, RunContext
from wsao_trio.testing import MemoryClient, open_test_orchestrator

PIECES = 300


class Burst:
    """Streams ``PIECES`` pieces as fast as it can, with a thought in the middle."""

    async def run(self, run: RunContext) -> dict[str, Any]:
        for i in range(PIECES):
            if i == PIECES // 2:
                await run.thinking("halfway")
            await run.delta(f"t{i} ")
        return {"pieces": PIECES}


def expected_text() -> str:
    return "".join(f"t{i} " for i in range(PIECES))


def burst_registry() -> AgentRegistry:
    registry = AgentRegistry()
    registry.register_agent("burst", Burst())
    return registry


async def slow_run(client: MemoryClient) -> list[dict[str, Any]]:
    """The run's events, read by a client that pauses on every frame."""
    message_id = client.send_message("go", agent_type="burst")
    events: list[dict[str, Any]] = []
    run_id = None
    while True:
        frame = await client.receive()
        if frame.get("type") == "run_accepted" and frame["message_id"] == message_id:
            run_id = frame["run_id"]
        elif run_id is not None and frame.get("run_id") == run_id:
            events.append(frame)
            if frame["type"] in ("agent_completed", "agent_error", "agent_cancelled"):
                return events
        await trio.sleep(0.001)


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["payload"]["delta"] for e in events if e["type"] == "agent_message_delta"]


async def test_deltas_merge_when_the_connection_falls_behind() -> None:
    async with open_test_orchestrator(
        burst_registry(), default_agent="burst", delta_max_delay_ms=50
    ) as harness:
        client = await harness.connect("alice", buffer=1)
        with trio.fail_after(30):
            events = await slow_run(client)
        merged = harness.orchestrator.stats.deltas_merged
    check_run(events)
    pieces = texts(events)
    assert "".join(pieces) == expected_text()
    assert pieces[0] == "t0 "  # the first piece goes out on its own
    assert len(pieces) < PIECES and merged == PIECES - len(pieces), (len(pieces), merged)
    kinds = [e["type"] for e in events]
    halfway = kinds.index("agent_thinking")
    before = "".join(texts(events[:halfway]))
    assert before == "".join(f"t{i} " for i in range(PIECES // 2))  # never across it
    assert texts(events[halfway:])[0] == f"t{PIECES // 2} "  # first after another event
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_zero_delay_turns_merging_off() -> None:
    async with open_test_orchestrator(
        burst_registry(), default_agent="burst", delta_max_delay_ms=0
    ) as harness:
        client = await harness.connect("bob", buffer=1)
        with trio.fail_after(60):
            events = await slow_run(client)
    assert texts(events) == [f"t{i} " for i in range(PIECES)]


async def test_a_fast_reader_gets_the_whole_text() -> None:
    async with open_test_orchestrator(burst_registry(), default_agent="burst") as harness:
        events = await harness.run_message("carol", "go", agent_type="burst")
    assert "".join(texts(events)) == expected_text()


@needs_redis
async def test_on_redis_every_tab_on_both_nodes_assembles_the_same_text() -> None:
    with running_redis() as redis:
        options: dict[str, Any] = dict(
            default_agent="burst", redis_url=redis.url, delta_max_delay_ms=50
        )
        async with (
            open_test_orchestrator(burst_registry(), **options) as a,
            open_test_orchestrator(burst_registry(), **options) as b,
        ):
            here = await a.connect("dora", buffer=1)
            there = await b.connect("dora")
            with trio.fail_after(60):
                events = await slow_run(here)
                seen_there = await there.collect_run(events[0]["run_id"])
            merged = a.orchestrator.stats.deltas_merged
    assert "".join(texts(events)) == expected_text()
    assert [e["seq"] for e in seen_there] == [e["seq"] for e in events]
    assert 0 < merged == PIECES - len(texts(events)), merged
