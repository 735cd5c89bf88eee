"""The orchestrator's guarantees, through the real orchestrator and in-memory sockets."""

from __future__ import annotations

import trio
import trio.testing

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run
from wsao_trio._state.runstate import RunState
from wsao_trio.errors import RateLimited, RunNotFound, ShuttingDown
from wsao_trio.metrics import build_registry, render
from wsao_trio.protocol import CLOSE_GOING_AWAY, UserMessage
from wsao_trio.testing import open_test_orchestrator


def count_tasks() -> int:
    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

    return walk(trio.lowlevel.current_root_task())


async def test_another_users_stop_is_refused_like_an_unknown_run() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        orch = harness.orchestrator
        ticket = await orch.submit("alice", UserMessage(message_id="m1", text="sleep=100"))
        for run_id in (ticket.run_id, "no-such-run"):
            try:
                await orch.stop_run("mallory", run_id)
            except RunNotFound as exc:
                assert exc.code == "run_not_found" and exc.ref == run_id
            else:
                raise AssertionError("stop of a foreign run was accepted")
        assert ticket.context is not None and ticket.context.state is RunState.RUNNING


async def test_concurrent_creates_with_one_message_id_make_one_run() -> None:
    tickets = []
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        orch = harness.orchestrator

        async def create() -> None:
            tickets.append(await orch.create_execution_context("steps", "u", "hi", "same-id"))

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(create)
    assert len({t.run_id for t in tickets}) == 1
    assert sum(not t.duplicate for t in tickets) == 1
    assert orch.stats.dedup_hits == 49


async def test_per_user_run_limit_is_rate_limited() -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", max_runs_per_user=2
    ) as harness:
        orch = harness.orchestrator
        for i in range(2):
            await orch.submit("alice", UserMessage(message_id=f"m{i}", text="sleep=100"))
        try:
            await orch.submit("alice", UserMessage(message_id="m3", text="sleep=100"))
        except RateLimited as exc:
            assert exc.code == "rate_limited"
        else:
            raise AssertionError("third concurrent run was accepted")
        await orch.submit("bob", UserMessage(message_id="m3", text="hi"))


async def test_stale_cleanup_cancels_runs_of_users_gone_too_long(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", orphan_timeout=10, janitor_interval=1
    ) as harness:
        client = await harness.connect("alice")
        client.send_message("sleep=1000")
        run_id = (await client.receive_type("run_accepted"))["run_id"]
        client.transport.client_disconnect()
        await trio.sleep(30)
        assert harness.orchestrator.get_run(run_id) is None
        again = await harness.connect("alice", last_seq=0)
        events = await again.collect_run(run_id)
    check_run(events)
    assert events[-1]["payload"]["reason"] == "orphaned"
    assert harness.orchestrator.stats.cleanups["orphaned"] == 1


async def test_cleanup_stale_contexts_keeps_runs_of_connected_users(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", orphan_timeout=10, janitor_interval=3600
    ) as harness:
        await harness.connect("alice")
        orch = harness.orchestrator
        kept = await orch.submit("alice", UserMessage(message_id="a", text="sleep=1000"))
        gone = await orch.submit("nobody", UserMessage(message_id="b", text="sleep=1000"))
        await trio.sleep(11)
        assert await orch.cleanup_stale_contexts() == 1
        await trio.sleep(0.1)
        assert orch.get_run(kept.run_id) is not None
        assert orch.get_run(gone.run_id) is None


async def test_shutdown_cancels_runs_closes_1001_and_leaves_no_task() -> None:
    before = count_tasks()
    async with open_test_orchestrator(registry(), default_agent="ticks") as harness:
        client = await harness.connect("alice")
        client.send_message("1000 0.01")
        run_id = (await client.receive_type("run_accepted"))["run_id"]
        await client.receive_type("agent_thinking")
        await harness.orchestrator.aclose()
        events = await client.collect_run(run_id)
        await client.transport.closed.wait()
    check_run(events)
    assert events[-1]["payload"]["reason"] == "shutdown"
    assert client.transport.close_code == CLOSE_GOING_AWAY
    assert count_tasks() == before


async def test_health_and_metrics_report_the_work_done() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        await harness.run_message("alice", "hello")
        await harness.run_message("alice", "raise")
        health = harness.orchestrator.health()
        text = render(build_registry(harness.orchestrator)).decode()
    assert health["runs"]["completed"] == 1 and health["runs"]["failed"] == 1
    assert health["events"]["emitted"] >= 10
    assert health["delivery_latency_ms"]["samples"] > 0
    assert 'wsao_runs_finished_total{state="completed"} 1.0' in text
    assert "wsao_delivery_latency_seconds_bucket" in text


async def test_no_new_runs_once_shutting_down() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        orch = harness.orchestrator
        await orch.aclose()
        try:
            await orch.submit("alice", UserMessage(message_id="late", text="hi"))
        except ShuttingDown as exc:
            assert exc.code == "shutting_down"
        else:
            raise AssertionError("a run was accepted during shutdown")
        assert orch.health()["status"] == "stopping"


async def test_a_caller_cancelled_while_creating_leaves_no_run_behind() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        orch = harness.orchestrator
        async with trio.open_nursery() as nursery:
            nursery.start_soon(orch.create_execution_context, "steps", "alice", "hi", "m1")
            nursery.cancel_scope.cancel()
        assert orch.runs() == []
        ticket = await orch.submit("alice", UserMessage(message_id="m1", text="hi"))
        assert not ticket.duplicate


async def test_status_is_health_without_the_costly_rest() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        await harness.connect("alice")
        orch = harness.orchestrator
        health, status = orch.health(), orch.status()
    assert status == {"status": health["status"], "store": health["store"]}
