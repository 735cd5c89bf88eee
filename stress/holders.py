"""Idle authenticated WebSockets, opened in bulk and held open (loopback only).

Used by ``stress idle`` (memory per idle connection), the bystander and the attacks.
Each connection handshakes with its own token, reads the ``connected`` frame and then
does nothing; it is held by a task in the caller's nursery until that is cancelled. Opening is
bounded by a limiter and by a deadline per connection, so a server that stops
answering costs the harness seconds, not forever.
"""

from __future__ import annotations

import json
import resource
from functools import partial

import attrs
import trio
import trio_websocket

from stress.connection import handshake, open_stream
from stress.connection import resource as ws_path
from stress.spec import Target

OPEN_TIMEOUT = 15.0
CLOSE_TIMEOUT = 5.0


@attrs.define
class Held:
    """The connections held open, and how many attempts were refused or failed."""

    connections: list[trio_websocket.WebSocketConnection] = attrs.field(factory=list)
    refused: dict[str, int] = attrs.field(factory=dict)

    def count_refusal(self, why: str) -> None:
        """Count one failed attempt under ``why`` (an HTTP status, a close code, …)."""
        self.refused[why] = self.refused.get(why, 0) + 1

    async def aclose(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close every held connection (close frame 1000) at once, within ``timeout``.

        Shielded from cancellation; connections still closing at the timeout are
        left to their holders' nursery, whose cancellation drops them.
        """
        with trio.CancelScope(shield=True), trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:
                for ws in self.connections:
                    nursery.start_soon(ws.aclose)
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


REFUSALS = (
    trio_websocket.ConnectionRejected,
    trio_websocket.ConnectionClosed,
    trio_websocket.HandshakeError,
)


HoldStatus = trio.TaskStatus[trio_websocket.WebSocketConnection | None]


async def hold(
    target: Target, token: str, held: Held, *, task_status: HoldStatus = trio.TASK_STATUS_IGNORED
) -> None:
    """Open one connection and hold it (its reader running) until cancelled.

    Started with ``nursery.start``, which returns the connection, or None when it
    was refused (counted in ``held``). The connection gets a nursery of its own:
    trio-websocket's reader task raises a refusal there too, and it is swallowed
    here instead of tearing down every other held connection.
    """
    started = False
    try:
        async with trio.open_nursery() as own:
            ws = await open_idle(own, target, token, held)
            task_status.started(ws)
            started = True
            if ws is None:
                own.cancel_scope.cancel()
            await trio.sleep_forever()
    except BaseExceptionGroup as group:
        _count_refusal(group, held, counted=started)
    if not started:
        task_status.started(None)


def _count_refusal(group: BaseExceptionGroup[BaseException], held: Held, counted: bool) -> None:
    """Swallow the reader task's copy of a refusal (count it, once); re-raise the rest."""
    refused, rest = group.split(REFUSALS)
    if rest is not None:
        raise rest from None
    if not counted and refused is not None:
        held.count_refusal(_why(refused.exceptions[0]))


def _why(exc: BaseException) -> str:
    if isinstance(exc, trio_websocket.ConnectionRejected):
        return f"http {exc.status_code}"
    return type(exc).__name__


async def open_many(
    nursery: trio.Nursery, target: Target, tokens: list[str], concurrency: int = 64
) -> Held:
    """Open one idle connection per token (``concurrency`` at a time); all are held."""
    held = Held()
    limiter = trio.CapacityLimiter(concurrency)

    async def one(token: str) -> None:
        async with limiter:
            ws = await nursery.start(partial(hold, target, token, held))
        if ws is not None:
            held.connections.append(ws)

    async with trio.open_nursery() as openers:
        for token in tokens:
            openers.start_soon(one, token)
    return held
