"""WebSocket by hand: a raw socket, the handshake and frames written byte by byte.

For tests and attacks whose point is to send what a well-behaved client library never
would (compressed frames nobody agreed to, invalid UTF-8, unmasked or reserved-bit
frames, bad tokens), and to read exactly what the server answers, close frame included.
Loopback only, like the rest of the harness.
"""

from __future__ import annotations

import base64
import os
import struct

import trio

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8


def frame(
    payload: bytes,
    opcode: int = OP_TEXT,
    *,
    rsv1: bool = False,
    masked: bool = True,
    fin: bool = True,
) -> bytes:
    """One client frame; ``rsv1`` sets the compression bit, ``masked`` the mask, ``fin``
    whether it ends its message."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    length = len(payload)
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def host_port(http_url: str) -> tuple[str, int]:
    """``("127.0.0.1", 8000)`` of ``http://127.0.0.1:8000``."""
    host, port = http_url.split("://", 1)[1].rstrip("/").split(":")
    return host, int(port)


async def handshake(
    http_url: str, token: str, extensions: str | None = None
) -> tuple[trio.SocketStream, bytes]:
    """Open ``/ws`` with ``token``; the stream and the raw HTTP response head."""
    host, port = host_port(http_url)
    stream = await trio.open_tcp_stream(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    request = (
        f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{offer}\r\n"
    )
    await stream.send_all(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        response += chunk
    return stream, response


async def read_until_closed(stream: trio.SocketStream, timeout: float = 5) -> bytes:
    """Everything the server sends until it closes the TCP connection (or ``timeout``)."""
    received = b""
    with trio.move_on_after(timeout):
        while chunk := await stream.receive_some(65536):
            received += chunk
    return received


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split unmasked server frames into ``(opcode, payload)``; a torn tail is dropped."""
    frames: list[tuple[int, bytes]] = []
    while len(data) >= 2:
        opcode, length, start = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            length, start = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            length, start = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < start + length:
            break
        frames.append((opcode, data[start : start + length]))
        data = data[start + length :]
    return frames


def close_code(data: bytes) -> int | None:
    """The code of the server's close frame in ``data``; None when no close frame came."""
    for opcode, payload in server_frames(data):
        if opcode == OP_CLOSE:
            return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005
    return None
