"""Redis calls from many tasks, sent together once per round trip.

Whatever is queued while a round trip is in flight goes out as the next one (up to
``max_batch`` calls), and Redis runs the calls in queue order: under load one round
trip carries many runs' events, or many acks and claims. ``submit`` queues without
waiting — a run's events that are ready together share a round trip (and reach the
browser in one frame) — and :meth:`ScriptBatcher.call` waits.

- :class:`EventBatcher`: one ``EVALSHA`` of the publish script carries the whole
  batch of events (one argument each), so the client's cost per event is a string.
- :class:`ScriptBatcher`: any scripts, one ``EVALSHA`` each, in one pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import trio
from coredis.commands.constants import CommandName
from coredis.commands.script import Script
from coredis.response._callbacks import NoopCallback

from wsao_trio._backplane.redis.store import Store
from wsao_trio.errors import Unavailable

# The hot path builds EVALSHA requests itself: coredis' Script.__call__ and evalsha()
# wrappers cost about 100 us per call in Python (cProfile), a third of the per-event cost.
EVALSHA = CommandName.EVALSHA
RAW: NoopCallback[Any] = NoopCallback()
Reply = Callable[[Any], object]
"""Called with the call's result, or with the :class:`Unavailable` that ended it."""


@attrs.define(eq=False)
class _Call:
    script: Script[str]
    keys: list[str]
    args: list[str]
    then: Reply


@attrs.define(eq=False)
class _Waiter:
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None

    def __call__(self, result: Any) -> None:
        self.result = result
        self.done.set()


class _Batcher:
    """The queue and the send loop; subclasses say how a batch becomes a request."""

    def __init__(self, store: Store, max_batch: int) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Call] = []
        self._ready = trio.Event()
        self.batches = 0

    def _enqueue(self, call: _Call) -> None:
        self._queue.append(call)
        self._ready.set()

    async def run(self) -> None:
        """Send whatever is queued, one round trip at a time, until cancelled."""
        while True:
            await self._ready.wait()
            self._ready = trio.Event()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._send(batch)

    async def _send(self, batch: list[_Call]) -> None:
        self.batches += 1
        number = self.batches  # the same for every retry of this batch
        try:
            results = await self._store.call(lambda: self._request(batch, number))
        except Unavailable as exc:
            # What was queued behind the failed calls fails with them: nothing queued
            # after an event that was not stored may be stored (a run's history has no
            # holes); the runs end at their next emit.
            batch += self._queue
            self._queue.clear()
            results = [exc] * len(batch)
        for call, result in zip(batch, results, strict=True):
            call.then(result)

    async def _request(self, batch: list[_Call], number: int) -> list[Any]:
        """One round trip for ``batch`` (the batcher's ``number``-th): a result per call."""
        raise NotImplementedError


class ScriptBatcher(_Batcher):
    """Pipelines queued script calls (run :meth:`run` in a nursery)."""

    def __init__(self, store: Store, max_batch: int = 512) -> None:
        super().__init__(store, max_batch)

    def submit(self, script: Script[str], keys: list[str], args: list[str], then: Reply) -> None:
        """Queue one call; ``then`` gets its result (or Unavailable) in queue order."""
        self._enqueue(_Call(script, keys, args, then))

    async def call(self, script: Script[str], keys: list[str], args: list[str]) -> Any:
        """Queue one call and wait for its result (raises Unavailable like the store)."""
        waiter = _Waiter()
        self.submit(script, keys, args, waiter)
        await waiter.done.wait()
        if isinstance(waiter.result, Unavailable):
            raise waiter.result
        return waiter.result

    async def _request(self, batch: list[_Call], number: int) -> list[Any]:
        async with self._store.client.pipeline(transaction=False) as pipe:
            for script in {id(c.script): c.script for c in batch}.values():
                pipe.scripts.add(script)  # what Script.__call__ does: load it if missing
            pending: list[Any] = [
                pipe.create_request(
                    EVALSHA, c.script.sha, len(c.keys), *c.keys, *c.args, callback=RAW
                )
                for c in batch
            ]
        return [await request for request in pending]


class EventBatcher(_Batcher):
    """Sends queued events as one call of the publish script (after ``common``).

    ``call_key(number)`` names where Redis keeps each call's reply, so that a call
    retried after a lost reply is answered again instead of storing its events twice.
    """

    def __init__(
        self,
        store: Store,
        script: Script[str],
        common: str,
        call_key: Callable[[int], str],
        max_batch: int = 256,
    ) -> None:
        super().__init__(store, max_batch)
        self._script = script
        self._common = common
        self._call_key = call_key

    def submit(self, packed: str, then: Reply) -> None:
        """Queue one event's argument; ``then`` gets its ``[seq, epoch]`` reply (strings)."""
        self._enqueue(_Call(self._script, [], [packed], then))

    async def _request(self, batch: list[_Call], number: int) -> list[Any]:
        args = [self._common, self._call_key(number), *(c.args[0] for c in batch)]
        async with self._store.client.pipeline(transaction=False) as pipe:
            pipe.scripts.add(self._script)
            pending: Any = pipe.create_request(EVALSHA, self._script.sha, 0, *args, callback=RAW)
        reply: str = await pending
        return [item.split(":", 1) for item in reply.split(" ")]
