"""Two orchestrators on one real redis-server: every cross-process row of contract v1.1.

Each orchestrator is a full one (its own hub, backplane, runs) as in a separate
process; the process-level tests (test_redis_process.py) repeat the key rows with two
real ``python -m app`` processes, SIGKILL and a Redis restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run
from tests.support.redisserver import RedisServer, needs_redis, running_redis
from wsao_trio.testing import MemoryClient, OrchestratorHarness, open_test_orchestrator

pytestmark = needs_redis


@pytest.fixture
def redis() -> Any:
    with running_redis() as server:
        yield server


@asynccontextmanager
async def two_nodes(
    redis: RedisServer, **settings: Any
) -> AsyncIterator[tuple[OrchestratorHarness, ...]]:
    options: dict[str, Any] = dict(
        default_agent="steps", redis_url=redis.url, node_timeout=1.0, janitor_interval=0.2
    )
    options.update(settings)
    async with (
        open_test_orchestrator(registry(), **options) as a,
        open_test_orchestrator(registry(), **options) as b,
    ):
        yield a, b


async def test_both_nodes_greet_with_the_same_epoch_and_last_seq(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        events = await a.run_message("alice", "hi")
        check_run(events)
        on_a, on_b = await a.connect("alice"), await b.connect("alice")
        assert on_a.connected["epoch"] == on_b.connected["epoch"]
        assert on_a.connected["last_seq"] == on_b.connected["last_seq"] == events[-1]["seq"]


async def run_seen_by_both(
    tab_a: MemoryClient, tab_b: MemoryClient
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Send a message on ``tab_a``; the run's events as each tab saw them (checked)."""
    tab_a.send_message("hi")
    accepted = await tab_a.receive_type("run_accepted")
    with trio.fail_after(10):
        seen_a = await tab_a.collect_run(accepted["run_id"])
        seen_b = await tab_b.collect_run(accepted["run_id"])
    check_run(seen_a)
    return seen_a, seen_b


async def test_a_tab_on_each_node_sees_every_event_of_a_run(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        tab_a, tab_b = await a.connect("alice"), await b.connect("alice")
        seen_a, seen_b = await run_seen_by_both(tab_a, tab_b)
        assert [e["seq"] for e in seen_a] == [e["seq"] for e in seen_b]
        assert [e["seq"] for e in seen_a] == list(range(1, len(seen_a) + 1))


async def test_one_message_id_on_both_nodes_starts_one_run(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        tab_a, tab_b = await a.connect("alice"), await b.connect("alice")
        for tab in (tab_a, tab_b):
            tab.send({"type": "user_message", "message_id": "same", "text": "hi"})
        with trio.fail_after(10):
            first, second = (
                await tab_a.receive_type("run_accepted"),
                await tab_b.receive_type("run_accepted"),
            )
        assert first["run_id"] == second["run_id"]
        assert sorted([first["duplicate"], second["duplicate"]]) == [False, True]
        with trio.fail_after(10):
            events = await tab_a.collect_run(first["run_id"])
        check_run(events)
        assert sum(e["type"] == "agent_started" for e in events) == 1


async def test_stop_from_the_other_node_stops_the_run(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        tab_a, tab_b = await a.connect("alice"), await b.connect("alice")
        tab_a.send_message("sleep=60")
        accepted = await tab_a.receive_type("run_accepted")
        await tab_a.receive_type("tool_executing")
        await tab_a.receive_type("tool_executing")
        tab_b.send({"type": "stop_agent", "run_id": accepted["run_id"]})
        with trio.fail_after(10):
            events = await tab_b.collect_run(accepted["run_id"])
        check_run(events)
        assert events[-1]["type"] == "agent_cancelled"
        assert events[-1]["payload"]["reason"] == "user"


async def test_a_foreign_or_unknown_stop_is_refused_on_every_node(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        tab_a = await a.connect("alice")
        tab_a.send_message("sleep=60")
        accepted = await tab_a.receive_type("run_accepted")
        mallory = await b.connect("mallory")
        for run_id in (accepted["run_id"], "no-such-run"):
            mallory.send({"type": "stop_agent", "run_id": run_id})
            with trio.fail_after(10):
                error = await mallory.receive_type("error")
            assert error["code"] == "run_not_found" and error["ref"] == run_id
        assert a.orchestrator.get_run(accepted["run_id"]) is not None


async def test_resume_on_the_other_node_replays_exactly_what_was_missed(
    redis: RedisServer,
) -> None:
    async with two_nodes(redis) as (a, b):
        first = await a.run_message("alice", "hi")
        second = await a.run_message("alice", "hi")
        resumed = await b.connect(
            "alice", last_seq=first[-1]["seq"], epoch=first[0]["event_id"].split("-")[0]
        )
        with trio.fail_after(10):
            replayed = [await resumed.receive() for _ in second]
        assert [e["seq"] for e in replayed] == [e["seq"] for e in second]
        assert replayed == second


async def test_a_resume_naming_a_lost_epoch_gets_an_epoch_gap(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        events = await a.run_message("alice", "hi")
        resumed = await b.connect("alice", last_seq=3, epoch="gone")
        with trio.fail_after(10):
            gap = await resumed.receive_type("replay_gap")
        assert gap["reason"] == "epoch"
        assert len(events) > 0


async def test_the_runs_limit_counts_runs_on_both_nodes(redis: RedisServer) -> None:
    async with two_nodes(redis, max_runs_per_user=2) as (a, b):
        tab_a, tab_b = await a.connect("alice"), await b.connect("alice")
        tab_a.send_message("sleep=60")
        tab_b.send_message("sleep=60")
        await tab_a.receive_type("run_accepted")
        await tab_b.receive_type("run_accepted")
        message_id = tab_a.send_message("sleep=60")
        with trio.fail_after(10):
            error = await tab_a.receive_type("error")
        assert error["code"] == "rate_limited" and error["ref"] == message_id


async def test_a_run_is_not_orphaned_while_its_user_is_on_the_other_node(
    redis: RedisServer,
) -> None:
    async with two_nodes(redis, orphan_timeout=0.5) as (a, b):
        tab_b = await b.connect("alice")
        ticket_client = await a.connect("alice")
        ticket_client.send_message("sleep=3")
        accepted = await ticket_client.receive_type("run_accepted")
        ticket_client.transport.client_disconnect()
        with trio.fail_after(15):
            events = await tab_b.collect_run(accepted["run_id"])
        assert events[-1]["type"] == "agent_completed", events[-1]


async def test_health_names_the_store_and_both_nodes(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        await trio.sleep(1.0)
        health = a.orchestrator.health()
        store = health["store"]
        assert store["kind"] == "redis" and store["available"] is True
        assert {
            a.orchestrator.backplane.health()["node"],
            b.orchestrator.backplane.health()["node"],
        } <= set(store["nodes"])


async def test_metrics_show_the_redis_link(redis: RedisServer) -> None:
    from wsao_trio.metrics import build_registry, render

    async with two_nodes(redis) as (a, _):
        await a.run_message("alice", "hi")
        text = render(build_registry(a.orchestrator)).decode()
    names = ("wsao_redis_available 1.0", "wsao_redis_calls_total", "wsao_redis_refusals_total")
    for name in (*names, "wsao_nodes"):
        assert name in text, name
