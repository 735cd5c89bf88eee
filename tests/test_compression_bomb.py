"""Issue 7 item 1: WebSocket compression is not offered, so a deflate bomb inflates nothing.

Raw sockets speak the handshake and frames by hand: the point is to send what a
well-behaved client library never would.
"""

from __future__ import annotations

import base64
import os
import struct
import zlib

import psutil
import pytest
import trio

from tests.conftest import LiveServer
from tests.invariants import check_run

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def _bomb(inflated: int = 32 * 1024 * 1024) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = deflate.compress(b"\0" * inflated) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # permessage-deflate drops the 00 00 ff ff tail


def _frame(payload: bytes, rsv1: bool = True) -> bytes:
    head = bytes([0x80 | (0x40 if rsv1 else 0) | 0x1])
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


async def _handshake(server: LiveServer, token: str) -> tuple[trio.SocketStream, bytes]:
    host, port = server.http_url.split("://", 1)[1].split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    await stream.send_all(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await stream.receive_some(4096)
    return stream, response


async def _read_until_closed(stream: trio.SocketStream) -> bytes:
    received = b""
    with trio.move_on_after(5):
        while chunk := await stream.receive_some(65536):
            received += chunk
    return received


async def test_compression_is_not_negotiated(server: LiveServer) -> None:
    stream, response = await _handshake(server, server.token("alice"))
    await stream.aclose()
    assert response.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in response.lower()


async def test_deflate_bombs_do_not_grow_the_servers_memory(server: LiveServer) -> None:
    bomb = _bomb()
    rss_before = psutil.Process().memory_info().rss
    with trio.fail_after(60):
        for _ in range(20):
            stream, response = await _handshake(server, server.token("mallory"))
            assert response.startswith(b"HTTP/1.1 101")
            await stream.send_all(_frame(bomb))
            closing = await _read_until_closed(stream)
            await stream.aclose()
            assert b"\x88" in closing[:64] or closing == b"" or b"connected" in closing
        async with server.connect("bob") as bob:
            _, events = await bob.run("thoughts=1", agent_type="scripted")
    grown = psutil.Process().memory_info().rss - rss_before
    check_run(events)
    assert grown < 50 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
