"""Delivery to connections, through the real orchestrator and in-memory sockets: isolation,
resume, slow consumers."""

from __future__ import annotations

import trio
import trio.testing

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run, check_stream
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.protocol import CLOSE_SLOW_CONSUMER, UserMessage
from wsao_trio.testing import open_test_orchestrator


async def test_events_never_reach_another_users_connection() -> None:
    async with open_test_orchestrator(registry(), default_agent="ticks") as harness:
        alice = await harness.connect("alice")
        bob = await harness.connect("bob")
        alice.send_message("12 0")
        bob.send_message("7 0")
        a_run = (await alice.receive_type("run_accepted"))["run_id"]
        b_run = (await bob.receive_type("run_accepted"))["run_id"]
        a_events = await alice.collect_run(a_run)
        b_events = await bob.collect_run(b_run)
    assert {e["run_id"] for e in alice.seen if "seq" in e} == {a_run}
    assert {e["run_id"] for e in bob.seen if "seq" in e} == {b_run}
    check_run(a_events)
    check_run(b_events)


async def test_reconnect_mid_run_loses_and_duplicates_nothing() -> None:
    async with open_test_orchestrator(registry(), default_agent="ticks") as harness:
        first = await harness.connect("alice")
        first.send_message("40 0.005")
        run_id = (await first.receive_type("run_accepted"))["run_id"]
        for _ in range(8):
            await first.receive_type("agent_thinking")
        got = [e for e in first.seen if "seq" in e]
        first.transport.client_disconnect()
        epoch = first.connected["epoch"]
        second = await harness.connect("alice", last_seq=got[-1]["seq"], epoch=epoch)
        rest = await second.collect_run(run_id)
    events = got + rest
    check_stream(events)
    check_run(events)
    assert len([e for e in events if e["type"] == "agent_thinking"]) == 40


async def test_never_reading_connection_is_closed_and_fast_tab_keeps_up() -> None:
    async with open_test_orchestrator(
        registry(), default_agent="ticks", send_deadline=0.2, connection_buffer=16
    ) as harness:
        stuck = await harness.connect("alice", buffer=0)
        fast = await harness.connect("alice")
        fast.send_message("300 0.001")
        run_id = (await fast.receive_type("run_accepted"))["run_id"]
        events = await fast.collect_run(run_id)
        with trio.fail_after(5):
            await stuck.transport.closed.wait()
        depth = max(c.queue_depth for c in harness.orchestrator.hub.all_connections())
    assert stuck.transport.close_code == CLOSE_SLOW_CONSUMER
    check_run(events)
    assert len(events) == 300 + 60 * 2 + 2
    assert depth <= 16


async def test_ensure_event_delivery_true_when_written_false_without_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", delivery_deadline=1, orphan_timeout=3600
    ) as harness:
        orch = harness.orchestrator
        client = await harness.connect("alice")
        online = await orch.submit("alice", UserMessage(message_id="a", text="sleep=1000"))
        offline = await orch.submit("bob", UserMessage(message_id="b", text="sleep=1000"))
        assert online.context is not None and offline.context is not None
        assert await orch.ensure_event_delivery(online.context, "agent_thinking", {"thought": "x"})
        assert not await orch.ensure_event_delivery(
            offline.context, "agent_thinking", {"thought": "y"}
        )
        assert not await orch.ensure_event_delivery(online.context, "agent_completed", {})
        await client.receive_type("agent_thinking")


async def test_a_cancelled_or_timed_out_delivery_wait_leaves_no_waiter() -> None:
    hub = ConnectionHub(16, OrchestratorStats(), trio.current_time)
    assert await hub.wait_delivered("u", 5, timeout=0.01) is False  # timed out
    with trio.move_on_after(0.01):  # cancelled from outside
        await hub.wait_delivered("u", 6, timeout=60)
    assert hub._waiters.get("u") is None  # nothing left to leak
    hub.mark_delivered("u", 7)
    assert await hub.wait_delivered("u", 6, timeout=0.01) is True
