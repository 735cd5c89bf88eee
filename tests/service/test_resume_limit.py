"""A flood of ``resume`` frames is rate limited on its own, smaller bucket.

Each resume replays up to the retention from the log (on Redis, a stream read), so a
client may send far fewer of them than other frames: past the burst, each gets
``error`` ``rate_limited`` and the connection stays open and usable.
"""

from __future__ import annotations

import trio
import trio.testing

from tests.support.agents_for_tests import registry
from wsao_trio.testing import MemoryClient, open_test_orchestrator


async def errors_until_pong(client: MemoryClient) -> list[str]:
    """Send a ping and read until its pong: the error codes seen on the way."""
    client.send({"type": "ping", "id": "p"})
    codes = []
    while (frame := await client.receive())["type"] != "pong":
        if frame["type"] == "error":
            codes.append(frame["code"])
    return codes


async def test_resumes_past_the_burst_are_refused_and_the_connection_lives_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_orchestrator(
        registry(), default_agent="steps", max_resumes_per_second=1, resume_burst=3
    ) as harness:
        await harness.run_message("alice", "hi")
        client = await harness.connect("alice")
        for _ in range(10):
            client.send({"type": "resume", "last_seq": 0})
        assert await errors_until_pong(client) == ["rate_limited"] * 7
        await trio.sleep(1.0)  # one token back
        client.send({"type": "resume", "last_seq": 0})
        assert await errors_until_pong(client) == []
        client.send({"type": "resume", "last_seq": 0})
        assert await errors_until_pong(client) == ["rate_limited"]
        assert [e["seq"] for e in client.events()][:2] == [1, 2]  # replays went out
