"""AG-UI across processes: two app servers on one real redis-server are one service.

A run posted to one server is joined, resumed (``Last-Event-ID``) and stopped through
the other, as contract v1.2 asks on Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trio

from tests.app.test_agui_http import TIMEOUT, auth, run_input
from tests.support.aguicheck import SseMessage, check_agui, read_messages
from tests.support.redisserver import RedisServer, needs_redis, running_redis

pytestmark = needs_redis


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def test_join_resume_and_stop_on_the_other_server(
    redis: RedisServer, server_factory: Any
) -> None:
    a = await server_factory(redis_url=redis.url, node_timeout=1.0)
    b = await server_factory(redis_url=redis.url, node_timeout=1.0)
    body = run_input("thoughts=2 tools=2 deltas=200 delay_ms=20")
    run_id = body["runId"]
    seen: list[SseMessage] = []
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        async with http.stream(
            "POST", f"{a.http_url}/agui/scripted", json=body, headers=auth(a)
        ) as response:
            with trio.fail_after(TIMEOUT):
                async for message in read_messages(response.aiter_lines()):
                    seen.append(message)
                    if message.type == "TEXT_MESSAGE_CONTENT" and len(seen) > 30:
                        break  # the client drops; it comes back on the other server
        with trio.fail_after(TIMEOUT):
            events = f"{b.http_url}/agui/runs/{run_id}/events"
            headers = auth(b, **{"Last-Event-ID": str(seen[-1].id)})
            async with http.stream("GET", events, headers=headers) as resumed:
                assert resumed.status_code == 200
                rest: list[SseMessage] = []
                async for message in read_messages(resumed.aiter_lines()):
                    rest.append(message)
                    if len(rest) == 5:
                        stop = await http.post(
                            f"{b.http_url}/agui/runs/{run_id}/stop", headers=auth(b)
                        )
                        assert stop.status_code == 202, stop.text
        foreign = await http.post(
            f"{b.http_url}/agui/runs/{run_id}/stop", headers=auth(b, "mallory")
        )
    opening = [m for m in rest if m.id == seen[-1].id]
    assert [m.type for m in opening] == ["RUN_STARTED", "TEXT_MESSAGE_START"]
    whole = [m.data for m in seen] + [m.data for m in rest[len(opening) :]]
    check_agui(whole)
    deltas = [e["delta"] for e in whole if e["type"] == "TEXT_MESSAGE_CONTENT"]
    # none lost or doubled (a CONTENT may carry several chunks: deltas merge under load)
    chunks = "".join(deltas).split()
    assert chunks == [w for i in range(1, len(chunks) // 2 + 1) for w in ("chunk", str(i))]
    assert whole[-1]["outcome"] == {"type": "cancelled"}
    assert foreign.status_code == 404
