"""A pub/sub message that never arrives must not become a lost event (contract v1.1).

An event is written into the user's log the way the publish script writes it, but
without its PUBLISH — as if Redis had dropped the message on its way to a process.
Every tab must still get it, in order: from the stream when the next event's seq
jumps, or, when nothing follows, from the periodic tail check. Acks, written to Redis
behind the frame that carried them, end up there clamped to the log's last seq.
"""

from __future__ import annotations

import time
from typing import Any

import coredis
import pytest
import trio

from tests.backplane.test_redis_cluster import run_seen_by_both, two_nodes
from tests.support.invariants import check_run
from tests.support.redisserver import RedisServer, needs_redis, running_redis
from wsao_trio._backplane.redis.keys import Keys
from wsao_trio._backplane.redis.wire import split_event
from wsao_trio._state.eventlog import EventDraft

pytestmark = needs_redis


@pytest.fixture
def redis() -> Any:
    with running_redis() as server:
        yield server


def client_of(redis: RedisServer) -> coredis.Redis[str]:
    """A plain client of the test's Redis."""
    return coredis.Redis.from_url(redis.url, decode_responses=True)


async def sneak_event(redis: RedisServer, user_id: str, thought: str) -> int:
    """Append an event to the user's log with its seq, publishing it to nobody."""
    keys = Keys()
    async with client_of(redis) as client:
        epoch = await client.hget(keys.meta(user_id), "epoch")
        assert epoch is not None, "the user's log must exist (a connection created it)"
        seq = await client.hincrby(keys.meta(user_id), "seq", 1)
        draft = EventDraft(
            "agent_thinking", "run-sneaked", "thread-x", "steps", {"thought": thought}
        )
        now = time.time()
        text = split_event(draft, now).join(epoch, seq)
        await client.xadd(keys.log(user_id), {"t": repr(now), "x": text}, identifier=f"{seq}-1")
    return seq


async def test_a_seq_jump_is_filled_from_the_stream_before_delivery(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, b):
        tab_a, tab_b = await a.connect("alice"), await b.connect("alice")
        sneaked = await sneak_event(redis, "alice", "never published")
        run_a, run_b = await run_seen_by_both(tab_a, tab_b)
        for tab in (tab_a, tab_b):
            seqs = [event["seq"] for event in tab.events()]
            assert seqs == list(range(sneaked, run_a[-1]["seq"] + 1)), seqs
            assert tab.events()[0]["payload"]["thought"] == "never published"
        assert [e["seq"] for e in run_a] == [e["seq"] for e in run_b]


async def test_a_lost_last_message_is_filled_by_the_tail_check(redis: RedisServer) -> None:
    async with two_nodes(redis) as (_, b):
        tab = await b.connect("alice")
        sneaked = await sneak_event(redis, "alice", "the last one")
        with trio.fail_after(10):  # node_timeout 1 s: a tail check every 1/3 s
            event = await tab.receive_type("agent_thinking")
        assert event["seq"] == sneaked and event["payload"]["thought"] == "the last one"
        assert b.orchestrator.backplane.health()["gap_fills"] >= 1


async def test_acks_reach_redis_clamped_to_the_last_seq(redis: RedisServer) -> None:
    async with two_nodes(redis) as (a, _):
        tab = await a.connect("alice")
        tab.send_message("hi")
        accepted = await tab.receive_type("run_accepted")
        with trio.fail_after(10):
            events = await tab.collect_run(accepted["run_id"])
        tab.send({"type": "ack", "seq": 3})
        tab.send({"type": "ack", "seq": 10**9})
        acked = None
        async with client_of(redis) as client:
            with trio.fail_after(10):
                while acked != str(events[-1]["seq"]):
                    await trio.sleep(0.05)
                    acked = await client.hget(Keys().meta("alice"), "acked")


async def test_a_retried_publish_call_is_answered_again_and_stores_nothing_twice(
    redis: RedisServer,
) -> None:
    from wsao_trio._backplane.redis.scripts import PUBLISH_EVENTS

    keys = Keys()
    draft = EventDraft("agent_thinking", "run-r", "thread-r", "steps", {"thought": "once"})
    pieces = split_event(draft, 1.5)
    event = "\t".join(("alice", "node-x", draft.type, "run-r", "", "", "1.5", "ep1"))
    args = ["wsao\tnode-y\t1000\t600", keys.publish_call("node-y", 1), event]
    args[2] += f"\t{pieces.head}\t{pieces.tail}"
    async with client_of(redis) as client:
        await client.hset(keys.node_runs("node-x"), {"run-r": "alice thread-r steps m"})
        script = client.register_script(PUBLISH_EVENTS)
        first = await script(keys=[], args=args)
        again = await script(keys=[], args=args)  # as Store.call retries after a lost reply
        assert first == again == "1:ep1"
        assert await client.xlen(keys.log("alice")) == 1
        args[1] = keys.publish_call("node-y", 2)  # the next call is a new one
        assert await script(keys=[], args=args) == "2:ep1"
        assert await client.xlen(keys.log("alice")) == 2


async def test_an_ack_on_another_process_completes_ensure_event_delivery(
    redis: RedisServer,
) -> None:
    from wsao_trio.protocol import UserMessage

    async with two_nodes(redis, delivery_deadline=8, orphan_timeout=3600) as (a, b):
        tab = await b.connect("alice")  # the user's only connection is on b
        ticket = await a.orchestrator.submit("alice", UserMessage(message_id="m", text="sleep=60"))
        assert ticket.context is not None
        outcome: list[bool] = []

        async def ensure() -> None:
            delivered = await a.orchestrator.ensure_event_delivery(
                ticket.context, "agent_thinking", {"thought": "did you see this?"}
            )
            outcome.append(delivered)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ensure)
            with trio.fail_after(10):
                while True:
                    event = await tab.receive_type("agent_thinking")
                    if event["payload"]["thought"] == "did you see this?":
                        break
            tab.send({"type": "ack", "seq": event["seq"]})
        assert outcome == [True]


async def test_a_node_declared_lost_can_add_nothing_to_its_reaped_runs(
    redis: RedisServer,
) -> None:
    """The fence: once another node ended a run ``node_lost`` (the owner's lease had
    lapsed, as after a long stall), the owner's later events of it are refused and the
    run's agent stops at its next emit — the user sees exactly one terminal event."""
    from wsao_trio._backplane.redis.upkeep import Upkeep

    async with two_nodes(redis, default_agent="ticks") as (a, b):
        sender, tab = await a.connect("alice"), await b.connect("alice")
        sender.send_message("400 0.05")  # runs on a: 400 ticks, 20 s, running when reaped
        accepted = await sender.receive_type("run_accepted")
        await tab.receive_type("agent_thinking")
        a_plane = a.orchestrator.backplane
        async with client_of(redis) as client:
            await client.delete([Keys().lease(a_plane.health()["node"])])
        plane = b.orchestrator.backplane
        await Upkeep(plane.state, plane.publish_as).reap()  # as b's next reap tick would
        with trio.fail_after(10):
            events = await tab.collect_run(accepted["run_id"])
            while a.orchestrator.get_run(accepted["run_id"]) is not None:
                await trio.sleep(0.05)  # the agent on a stops at its next emit
        await trio.sleep(0.5)  # anything a still sent would have arrived by now
        run_events = [e for e in tab.events() if e["run_id"] == accepted["run_id"]]
    assert events[-1]["type"] == "agent_error" and events[-1]["payload"]["code"] == "node_lost"
    assert run_events == events  # nothing after the terminal event
    check_run(events)


async def test_a_run_across_a_redis_outage_loses_and_reorders_nothing() -> None:
    """Redis goes away mid-run and comes back with its data (an append-only file): the
    run's events wait, are retried in order, and the run completes whole."""
    with running_redis(durable=True) as redis:
        settings = {"default_agent": "ticks", "redis_retry_timeout": 30, "node_timeout": 5}
        async with two_nodes(redis, **settings) as (a, _):
            tab = await a.connect("alice")
            tab.send_message("30 0.05")  # 30 ticks 50 ms apart, a tool call every 5
            accepted = await tab.receive_type("run_accepted")
            for _ in range(3):
                await tab.receive_type("agent_thinking")
            await trio.to_thread.run_sync(redis.stop)
            await trio.sleep(1.0)  # the run goes on emitting; its events wait
            await trio.to_thread.run_sync(redis.start)
            with trio.fail_after(30):
                events = await tab.collect_run(accepted["run_id"])
    check_run(events)
    assert events[-1]["type"] == "agent_completed"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert a.orchestrator.backplane.health()["retries"] >= 1


async def test_a_redis_that_refuses_writes_gets_unavailable_not_a_crash(
    redis: RedisServer,
) -> None:
    """Redis answering with an error (here: out of memory) is not a lost connection:
    it is not retried; the client is told ``unavailable`` and the process lives on."""
    async with two_nodes(redis) as (a, _):
        tab = await a.connect("alice")
        async with client_of(redis) as client:
            await client.config_set({"maxmemory": "1", "maxmemory-policy": "noeviction"})
            message_id = tab.send_message("hi")
            with trio.fail_after(10):
                error = await tab.receive_type("error")
            await client.config_set({"maxmemory": "0"})
        assert error["code"] == "unavailable" and error["ref"] == message_id
        assert a.orchestrator.backplane.health()["refusals"] >= 1
        tab.send_message("again")
        accepted = await tab.receive_type("run_accepted")
        with trio.fail_after(10):
            events = await tab.collect_run(accepted["run_id"])
        check_run(events)
