"""A tiny HTTP/1.1 client over trio streams, for ``/health`` and dev tokens.

The harness needs two requests and no dependency for them: one request per
connection, ``Connection: close``, the body read to EOF, everything under a deadline.
"""

from __future__ import annotations

import json
from typing import Any

import trio

MAX_RESPONSE = 4 * 1024 * 1024


async def request(
    host: str, port: int, method: str, path: str, body: Any = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    """Send one request and return ``(status, body)``; raises OSError or TooSlowError."""
    data = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with trio.fail_after(timeout):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(head + data)
            raw = await _read_all(stream)
    return _parse(raw)


async def _read_all(stream: trio.SocketStream) -> bytes:
    """Read one response: to ``Content-Length`` when given (servers may keep the
    socket open after ``Connection: close``), else to EOF."""
    data = b""
    while len(data) < MAX_RESPONSE and not _complete(data):
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return data


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for row in head.split(b"\r\n")[1:]:
        name, _, value = row.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or b"0")
    return False


def _parse(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError(f"malformed HTTP response: {raw[:80]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return int(status_line[1]), body


def _unchunk(body: bytes) -> bytes:
    out: list[bytes] = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return b"".join(out)


async def wait_healthy(host: str, port: int, timeout: float) -> None:
    """Poll ``GET /health`` until it answers 200; TooSlowError after ``timeout``."""
    with trio.fail_after(timeout):
        while True:
            try:
                status, _ = await request(host, port, "GET", "/health", timeout=2.0)
                if status == 200:
                    return
            except (OSError, trio.TooSlowError):
                pass
            await trio.sleep(0.1)
