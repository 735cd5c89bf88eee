"""The connection caps hold on Redis, where opening a connection's view waits.

Handshakes that pass the capacity check while another one waits for Redis must not
all attach: the session checks again right before the hub's attach.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.support.agents_for_tests import registry
from tests.support.redisserver import RedisServer, needs_redis, running_redis
from wsao_trio.testing import MemoryTransport, open_test_orchestrator

pytestmark = needs_redis


@pytest.fixture
def redis() -> Any:
    with running_redis() as server:
        yield server


async def test_concurrent_connections_over_the_per_user_cap_close_1013(redis: RedisServer) -> None:
    options = dict(default_agent="steps", redis_url=redis.url, max_connections_per_user=2)
    async with open_test_orchestrator(registry(), **options) as harness:
        transports = [MemoryTransport() for _ in range(6)]
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for transport in transports:
                    nursery.start_soon(harness.orchestrator.serve_connection, transport, "alice")
                while sum(t.close_code is not None for t in transports) < 4:
                    await trio.sleep(0.01)
                held = harness.orchestrator.hub.count_of("alice")
                for transport in transports:
                    transport.client_disconnect()
    assert held == 2
    assert sorted(t.close_code for t in transports if t.close_code is not None) == [1013] * 4
