"""The stateful program test, run against two orchestrators sharing one real Redis.

The same generated programs as test_orchestrator_stateful.py (connect, disconnect,
resume, send with reused message ids, stop, wait), but each new connection goes to one
of two orchestrators in turn, as a load balancer would send tabs to two processes.
Real time (Redis does real I/O), so fewer and shorter programs. Afterwards each user's
whole log is read back from Redis and every guarantee is checked across both nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.test_orchestrator_stateful import USERS, World, actions, check_connections, step
from tests.support.agents_for_tests import registry
from tests.support.invariants import check_run, check_stream
from tests.support.redisserver import RedisServer, needs_redis, running_redis
from wsao_trio.testing import MemoryClient, OrchestratorHarness, open_test_orchestrator

pytestmark = needs_redis


class TwoNodeWorld(World):
    """Connections alternate between two harnesses (one per node)."""

    def __init__(self, nodes: tuple[OrchestratorHarness, ...], nursery: trio.Nursery) -> None:
        super().__init__(nodes[0], nursery)
        self.nodes = nodes

    async def connect(self, user: str, last_seq: int | None = None) -> MemoryClient:
        self.harness = self.nodes[len(self.clients) % len(self.nodes)]
        return await super().connect(user, last_seq)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def run_program(url: str, program: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    options: dict[str, Any] = dict(default_agent="ticks", redis_url=url, node_timeout=1.0)
    async with (
        open_test_orchestrator(registry(), **options) as a,
        open_test_orchestrator(registry(), **options) as b,
    ):
        async with trio.open_nursery() as nursery:
            world = TwoNodeWorld((a, b), nursery)
            for action in program:
                await step(world, action)
            await _until_idle(a, b)
            nursery.cancel_scope.cancel()
        check_connections(world)
        return {user: await _history(a, user) for user in USERS}


async def _until_idle(*nodes: OrchestratorHarness) -> None:
    with trio.fail_after(20):
        while any(node.orchestrator.runs() for node in nodes):
            await trio.sleep(0.05)
    await trio.sleep(0.2)  # the last events' fan-out


async def _history(node: OrchestratorHarness, user: str) -> list[dict[str, Any]]:
    client = await node.connect(user, last_seq=0)
    last = client.connected["last_seq"]
    events = [await client.receive() for _ in range(last)]
    client.transport.client_disconnect()
    return events


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(actions.filter(lambda a: a[0] != "wait" or a[1] < 0.5), max_size=14))
def test_random_programs_keep_every_guarantee_across_two_nodes(
    redis: RedisServer, program: list[tuple[Any, ...]]
) -> None:
    histories = trio.run(run_program, redis.url, program)
    for history in histories.values():
        if not history:
            continue
        for events in check_stream(history).values():
            check_run(events)
