"""Issue 7 item 1: WebSocket compression is not offered, so a deflate bomb inflates nothing.

Raw sockets speak the handshake and frames by hand: the point is to send what a
well-behaved client library never would.
"""

from __future__ import annotations

import zlib

import psutil
import pytest
import trio

from tests.support.invariants import check_run
from tests.support.live import LiveServer
from tests.support.rawws import close_code, frame, handshake, read_until_closed

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def _bomb(inflated: int = 32 * 1024 * 1024) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = deflate.compress(b"\0" * inflated) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # permessage-deflate drops the 00 00 ff ff tail


OFFER = "permessage-deflate; client_max_window_bits"


async def test_compression_is_not_negotiated(server: LiveServer) -> None:
    stream, response = await handshake(server.http_url, server.token("alice"), OFFER)
    await stream.aclose()
    assert response.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in response.lower()


async def test_deflate_bombs_do_not_grow_the_servers_memory(server: LiveServer) -> None:
    bomb = _bomb()
    rss_before = psutil.Process().memory_info().rss
    with trio.fail_after(60):
        for _ in range(20):
            stream, response = await handshake(server.http_url, server.token("mallory"), OFFER)
            assert response.startswith(b"HTTP/1.1 101")
            await stream.send_all(frame(bomb, rsv1=True))
            closing = await read_until_closed(stream)
            await stream.aclose()
            # Compression was never agreed: the set RSV1 bit is a protocol error (1002).
            assert close_code(closing) == 1002
        async with server.connect("bob") as bob:
            _, events = await bob.run("thoughts=1", agent_type="scripted")
    grown = psutil.Process().memory_info().rss - rss_before
    check_run(events)
    assert grown < 50 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
