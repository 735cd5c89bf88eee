"""HTTP by hand: raw bytes to a live server, and everything it answers until it closes.

For the tests whose point is what no HTTP client library would send: frames before
the handshake's answer, bodies where none belong, broken chunk headers, requests split
at any byte. Loopback only.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

import attrs
import trio

from tests.support.rawws import host_port


@attrs.frozen
class Answer:
    """What the server sent back, and whether it closed the connection itself."""

    data: bytes
    closed: bool

    @property
    def status(self) -> int | None:
        """The status code of the first response, None when no response came."""
        line = self.data.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") else None


def upgrade_request(path: str = "/ws?token=not-a-jwt", extra: str = "") -> bytes:
    """A WebSocket upgrade request head, with ``extra`` header lines (each ending CRLF)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


async def exchange(
    http_url: str,
    pieces: Sequence[bytes],
    *,
    pause: float = 0.0,
    half_close: bool = False,
    timeout: float = 10.0,
) -> Answer:
    """Send ``pieces`` (``pause`` seconds apart), then read until the server closes.

    ``half_close`` shuts our sending side after the last piece. ``closed`` is False
    when the server was still holding the connection at ``timeout``. A reset by the
    server counts as closed.
    """
    host, port = host_port(http_url)
    stream = await trio.open_tcp_stream(host, port)
    received = bytearray()
    closed = False
    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(_send, stream, pieces, pause, half_close)
        with trio.move_on_after(timeout):
            try:
                while chunk := await stream.receive_some(65536):
                    received += chunk
            except trio.BrokenResourceError:
                pass  # reset by the server: it closed too
            closed = True
        nursery.cancel_scope.cancel()
    return Answer(bytes(received), closed)


async def _send(
    stream: trio.SocketStream, pieces: Sequence[bytes], pause: float, half_close: bool
) -> None:
    """Write every piece; stop quietly when the server has closed or reset."""
    try:
        for index, piece in enumerate(pieces):
            if index and pause:
                await trio.sleep(pause)
            await stream.send_all(piece)
        if half_close:
            await stream.send_eof()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
