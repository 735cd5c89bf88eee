"""A loopback TCP proxy that cuts every connection through it on a timer.

For client tests that must survive drops at any point of a run: each cut resets both
sides of every open pair (SO_LINGER 0, so the client sees the connection die, not a
polite close), mid-frame or between frames, wherever the bytes happen to be.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio


@attrs.define
class CutProxy:
    """Where to connect (``port``), and how many pairs it has cut."""

    port: int
    cuts: int = 0
    pairs: list[tuple[trio.SocketStream, trio.SocketStream]] = attrs.field(factory=list)

    def cut_all(self) -> None:
        """Reset every open pair now."""
        for pair in self.pairs:
            for stream in pair:
                _reset(stream)
        self.cuts += len(self.pairs)
        self.pairs.clear()


def _reset(stream: trio.SocketStream) -> None:
    try:
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.socket.close()
    except OSError:
        pass


async def _pump(source: trio.SocketStream, sink: trio.SocketStream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


@asynccontextmanager
async def cut_proxy(upstream_port: int, every: float | None) -> AsyncIterator[CutProxy]:
    """A proxy to ``127.0.0.1:upstream_port``, cutting every ``every`` seconds (None: never)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    proxy = CutProxy(listeners[0].socket.getsockname()[1])

    async def serve(client: trio.SocketStream) -> None:
        upstream = await trio.open_tcp_stream("127.0.0.1", upstream_port)
        proxy.pairs.append((client, upstream))
        async with trio.open_nursery() as pumps:
            pumps.start_soon(_pump, client, upstream)
            await _pump(upstream, client)
            pumps.cancel_scope.cancel()

    async def cutter() -> None:
        while every is not None:
            await trio.sleep(every)
            proxy.cut_all()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, serve, listeners)
        nursery.start_soon(cutter)
        yield proxy
        nursery.cancel_scope.cancel()
