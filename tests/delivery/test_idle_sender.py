"""An idle connection holds no sender task; the next item it gets starts one.

The per-connection sender task is what carries a connection's frames under the send
deadline; it ends after ``WSAO_SENDER_LINGER`` seconds with nothing to send, and a
push to the connection starts it again — so events reach a connection that was idle
exactly as they reach a busy one, in order and once.
"""

from __future__ import annotations

import trio

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run
from wsao_trio.testing import open_test_orchestrator

LINGER = 0.05


def sender_tasks() -> int:
    """Sender tasks alive in this trio run."""

    def walk(task: trio.lowlevel.Task) -> int:
        own = 1 if task.name.endswith("_send_loop") else 0
        return own + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

    return walk(trio.lowlevel.current_root_task())


async def test_an_idle_connection_holds_no_sender_and_wakes_for_the_next_event() -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", sender_linger=LINGER
    ) as harness:
        clients = [await harness.connect(f"idle-{i}") for i in range(5)]
        await trio.sleep(LINGER * 4)
        assert sender_tasks() == 0  # five open connections, no sender among them
        for round_ in range(3):  # idle, woken, idle again, woken again...
            message_id = clients[0].send_message("add 2 3")
            accepted = await clients[0].receive_type("run_accepted")
            assert accepted["message_id"] == message_id
            events = await clients[0].collect_run(accepted["run_id"])
            check_run(events)
            await trio.sleep(LINGER * 4)
            assert sender_tasks() == 0, round_
        seqs = [e["seq"] for e in clients[0].events() if "seq" in e]
        assert seqs == list(range(1, len(seqs) + 1))


async def test_a_busy_connection_keeps_its_sender() -> None:
    async with open_test_orchestrator(registry(), default_agent="steps") as harness:
        client = await harness.connect("busy")
        await trio.sleep(0.1)
        assert sender_tasks() == 1  # the default linger (2 s) has not passed
        client.send_message("add 1 1")
        accepted = await client.receive_type("run_accepted")
        check_run(await client.collect_run(accepted["run_id"]))


async def test_frames_arriving_as_the_linger_runs_out_are_all_delivered() -> None:
    """Pings sent at every offset around the linger's end: each gets its pong, in order
    (an item taken as the linger expired is put back, not failed 4408)."""
    async with open_test_orchestrator(
        registry(), default_agent="steps", sender_linger=LINGER
    ) as harness:
        client = await harness.connect("edge")
        offsets = [LINGER + (i - 20) * LINGER / 100 for i in range(41)]
        for i, offset in enumerate(offsets):
            await trio.sleep(offset)
            client.send({"type": "ping", "id": f"p{i}"})
            with trio.fail_after(5):
                assert await client.receive() == {"type": "pong", "id": f"p{i}"}
        assert harness.orchestrator.stats.deadline_misses == 0
