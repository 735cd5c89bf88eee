"""A stateful test over users, connections, runs and disconnects.

Hypothesis generates a program — connect, disconnect, resume, send (sometimes reusing a
message id), stop, let time pass — and one trio run executes it against a real
orchestrator under an autojump clock, with a reader task per connection. Afterwards
every user's full history is replayed and checked: seq contiguous, every run started
first with exactly one terminal event and paired tool events, no event on another
user's connection, no duplicate on any connection, and a resume loses nothing.
"""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.lowlevel
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run, check_stream
from wsao_trio._delivery.transport import TransportClosed
from wsao_trio.testing import MemoryClient, OrchestratorHarness, open_test_orchestrator

USERS = ("ann", "ben", "cat")

actions = st.one_of(
    st.tuples(st.just("connect"), st.sampled_from(USERS)),
    st.tuples(st.just("disconnect"), st.integers(0, 7)),
    st.tuples(st.just("resume"), st.integers(0, 7)),
    st.tuples(st.just("send"), st.integers(0, 7), st.integers(1, 12), st.integers(0, 3)),
    st.tuples(st.just("stop"), st.integers(0, 7), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.sampled_from([0.0, 0.01, 0.05, 0.5])),
)


class World:
    """The program's live state: clients, their reader tasks, runs started."""

    def __init__(self, harness: OrchestratorHarness, nursery: trio.Nursery) -> None:
        self.harness = harness
        self.nursery = nursery
        self.clients: list[MemoryClient] = []
        self.live: list[MemoryClient] = []
        self.runs: dict[str, str] = {}
        self.resumed_after: dict[int, int] = {}

    async def connect(self, user: str, last_seq: int | None = None) -> MemoryClient:
        client = await self.harness.connect(user, last_seq=last_seq)
        if last_seq is not None:
            self.resumed_after[len(self.clients)] = last_seq
        self.clients.append(client)
        self.live.append(client)
        self.nursery.start_soon(read_forever, client)
        return client

    def pick(self, index: int) -> MemoryClient | None:
        return self.live[index % len(self.live)] if self.live else None


async def read_forever(client: MemoryClient) -> None:
    try:
        while True:
            await client.receive()
    except TransportClosed:
        pass


async def step(world: World, action: tuple[Any, ...]) -> None:
    kind = action[0]
    if kind == "connect":
        await world.connect(action[1])
    elif kind == "wait":
        await trio.sleep(action[1])
    elif (client := world.pick(action[1])) is not None:
        await client_step(world, client, action)


async def client_step(world: World, client: MemoryClient, action: tuple[Any, ...]) -> None:
    kind = action[0]
    if kind in ("disconnect", "resume"):
        client.transport.client_disconnect()
        world.live.remove(client)
        if kind == "resume":
            events = [o for o in client.seen if "seq" in o]
            await world.connect(client.user_id, events[-1]["seq"] if events else 0)
    elif kind == "send":
        message_id = f"{client.user_id}-m{action[3]}-{action[2]}"
        client.send_message(f"{action[2]} 0.01", message_id=message_id)
        await trio.lowlevel.checkpoint()
    elif kind == "stop":
        own = [r for r, u in world.runs.items() if u == client.user_id] or ["none"]
        client.send({"type": "stop_agent", "run_id": own[action[2] % len(own)]})


async def run_program(program: list[tuple[Any, ...]]) -> dict[str, list[dict[str, Any]]]:
    histories: dict[str, list[dict[str, Any]]] = {}
    async with open_test_orchestrator(registry(), default_agent="ticks") as harness:
        async with trio.open_nursery() as nursery:
            world = World(harness, nursery)
            for action in program:
                await step(world, action)
                record_runs(world)
            await trio.sleep(5)
            record_runs(world)
            await harness.orchestrator.aclose()
            nursery.cancel_scope.cancel()
        check_connections(world)
        for user in USERS:
            histories[user] = list(harness.orchestrator.backplane.log(user))
    return {u: [json_of(e) for e in h] for u, h in histories.items()}


def json_of(event: Any) -> dict[str, Any]:
    wire: dict[str, Any] = json.loads(event.text)
    return wire


def record_runs(world: World) -> None:
    for client in world.clients:
        for obj in client.seen:
            if obj["type"] == "run_accepted":
                world.runs[obj["run_id"]] = client.user_id


def check_connections(world: World) -> None:
    owners = dict(world.runs)
    for index, client in enumerate(world.clients):
        events = [o for o in client.seen if "seq" in o]
        seqs = [e["seq"] for e in events]
        if seqs:
            first = world.resumed_after.get(index, seqs[0] - 1) + 1
            assert seqs == list(range(first, first + len(seqs))), f"gap or duplicate: {seqs}"
        for event in events:
            assert owners.get(event["run_id"], client.user_id) == client.user_id
        assert client.seen[0]["type"] == "connected"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(actions, min_size=1, max_size=30))
def test_random_programs_keep_every_guarantee(program: list[tuple[Any, ...]]) -> None:
    histories = trio.run(run_program, program, clock=trio.testing.MockClock(autojump_threshold=0))
    for history in histories.values():
        if not history:
            continue
        assert history[0]["seq"] == 1
        for events in check_stream(history).values():
            check_run(events)
