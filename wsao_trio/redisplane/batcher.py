"""Concurrent calls of one Lua script, sent as one pipeline per round trip.

Every run waits for its own event's seq before its next event, so one run's events
are in series anyway; what must not be in series is *different* runs' events. The
batcher queues calls while a pipeline is in flight and sends everything queued as
the next pipeline (up to ``max_batch``): under load one round trip carries many
runs' events, and Redis executes them in queue order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import trio
from coredis.commands.constants import CommandName
from coredis.commands.script import Script
from coredis.response._callbacks import NoopCallback

from wsao_trio.errors import Unavailable
from wsao_trio.redisplane.store import Store

# The hot path builds EVALSHA requests itself: coredis' Script.__call__ and evalsha()
# wrappers cost about 100 us per call in Python (cProfile), a third of the per-event cost.
EVALSHA = CommandName.EVALSHA
RAW: NoopCallback[Any] = NoopCallback()


@attrs.define(eq=False)
class _Call:
    keys: list[str]
    args: list[str]
    then: Callable[[Any], object] | None
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    error: Exception | None = None


class ScriptBatcher:
    """Pipelines the queued calls of ``script`` (run :meth:`run` in a nursery)."""

    def __init__(self, store: Store, script: Script[str], max_batch: int = 256) -> None:
        self._store = store
        self._script = script
        self._max_batch = max_batch
        self._queue: list[_Call] = []
        self._ready = trio.Event()
        self.batches = 0

    async def call(
        self, keys: list[str], args: list[str], then: Callable[[Any], object] | None = None
    ) -> Any:
        """Queue one call and wait for its result (raises Unavailable like the store).

        ``then`` runs with the result as soon as the pipeline answers, in queue order,
        before any caller wakes up.
        """
        call = _Call(keys, args, then)
        self._queue.append(call)
        self._ready.set()
        await call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    async def run(self) -> None:
        """Send whatever is queued, one pipeline at a time, until cancelled."""
        while True:
            await self._ready.wait()
            self._ready = trio.Event()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._send(batch)

    async def _send(self, batch: list[_Call]) -> None:
        self.batches += 1
        try:
            results = await self._store.call(lambda: self._pipeline(batch))
        except Unavailable as exc:
            for call in batch:
                call.error = exc
                call.done.set()
            return
        for call, result in zip(batch, results, strict=True):
            call.result = result
            if call.then is not None:
                call.then(result)
            call.done.set()

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        client = self._store.client
        script, sha = self._script, self._script.sha
        async with client.pipeline(transaction=False) as pipe:
            pipe.scripts.add(script)  # what Script.__call__ does: load it if Redis lacks it
            pending: list[Any] = [
                pipe.create_request(EVALSHA, sha, len(c.keys), *c.keys, *c.args, callback=RAW)
                for c in batch
            ]
        return [await request for request in pending]
