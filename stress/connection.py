"""Opening one client WebSocket on a socket the harness controls.

The harness opens the TCP socket itself so it can shrink a slow client's receive
buffer (the server then feels back-pressure after kilobytes, not megabytes) and drop
a connection abruptly (no close frame), as a lost network would. The WebSocket layer
is trio-websocket, wrapped around that stream.
"""

from __future__ import annotations

import socket
from urllib.parse import urlencode

import trio
import trio_websocket

from stress.spec import Target

RECEIVE_BUFFER = 65536
MAX_MESSAGE = 8 * 1024 * 1024


def resource(target: Target, token: str, last_seq: int | None, epoch: str | None) -> str:
    """The request path: token, and ``last_seq``/``epoch`` when resuming."""
    query: dict[str, str | int] = {"token": token}
    if last_seq is not None:
        query["last_seq"] = last_seq
        if epoch is not None:
            query["epoch"] = epoch
    return f"{target.path}?{urlencode(query)}"


async def open_stream(target: Target, rcvbuf: int | None = None) -> trio.SocketStream:
    """A connected TCP stream to ``target`` (TCP_NODELAY; small SO_RCVBUF if asked)."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await sock.connect((target.host, target.port))
    except BaseException:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return trio.SocketStream(sock)


async def handshake(
    nursery: trio.Nursery, stream: trio.SocketStream, target: Target, path: str
) -> trio_websocket.WebSocketConnection:
    """The WebSocket opening handshake over ``stream``; its reader runs in ``nursery``."""
    return await trio_websocket.wrap_client_stream(
        nursery,
        stream,
        target.host,
        path,
        message_queue_size=1,
        max_message_size=MAX_MESSAGE,
        receive_buffer_size=RECEIVE_BUFFER,
    )
