"""Idle authenticated WebSockets, opened in bulk and held open (loopback only).

Used by ``stress idle`` (memory per idle connection) and by the connection-flood
attack. Each connection handshakes with its own token, reads the ``connected`` frame
and then does nothing; its reader task lives in the caller's nursery. Opening is
bounded by a limiter and by a deadline per connection, so a server that stops
answering costs the harness seconds, not forever.
"""

from __future__ import annotations

import json
import resource

import attrs
import trio
import trio_websocket

from stress.connection import handshake, open_stream
from stress.connection import resource as ws_path
from stress.spec import Target

OPEN_TIMEOUT = 15.0


@attrs.define
class Held:
    """The connections held open, and how many attempts were refused or failed."""

    connections: list[trio_websocket.WebSocketConnection] = attrs.field(factory=list)
    refused: dict[str, int] = attrs.field(factory=dict)

    def count_refusal(self, why: str) -> None:
        """Count one failed attempt under ``why`` (an HTTP status, a close code, …)."""
        self.refused[why] = self.refused.get(why, 0) + 1

    async def aclose(self) -> None:
        """Close every held connection (close frame 1000), shielded from cancellation."""
        with trio.CancelScope(shield=True), trio.move_on_after(30):
            for ws in self.connections:
                await ws.aclose()
        self.connections.clear()


def raise_own_fd_limit(wanted: int) -> int:
    """Raise this process's soft open-files limit towards ``wanted`` (capped by the hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


async def open_idle(
    nursery: trio.Nursery, target: Target, token: str, held: Held
) -> trio_websocket.WebSocketConnection | None:
    """One connection that read its ``connected`` frame, or None (counted in ``held``)."""
    try:
        with trio.fail_after(OPEN_TIMEOUT):
            stream = await open_stream(target)
            ws = await handshake(nursery, stream, target, ws_path(target, token, None, None))
            first = json.loads(await ws.get_message())
    except trio_websocket.ConnectionRejected as exc:
        held.count_refusal(f"http {exc.status_code}")
        return None
    except trio_websocket.ConnectionClosed as exc:
        held.count_refusal(f"close {exc.reason.code if exc.reason else '?'}")
        return None
    except (OSError, trio.TooSlowError, trio_websocket.HandshakeError) as exc:
        held.count_refusal(type(exc).__name__)
        return None
    if first.get("type") != "connected":
        held.count_refusal(f"first frame {first.get('type')}")
    return ws


async def open_many(
    nursery: trio.Nursery, target: Target, tokens: list[str], concurrency: int = 64
) -> Held:
    """Open one idle connection per token (``concurrency`` at a time); all are held."""
    held = Held()
    limiter = trio.CapacityLimiter(concurrency)

    async def one(token: str) -> None:
        async with limiter:
            ws = await open_idle(nursery, target, token, held)
        if ws is not None:
            held.connections.append(ws)

    async with trio.open_nursery() as openers:
        for token in tokens:
            openers.start_soon(one, token)
    return held
