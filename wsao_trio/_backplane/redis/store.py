"""The Redis connection of one process: scripts, retries with backoff, availability.

Every command the backplane sends goes through :meth:`Store.call`, which retries a
connection failure with exponential backoff until ``retry_timeout`` (an error Redis
answers with, such as out of memory, is not retried) and keeps the
figures ``/health`` and ``/metrics`` show: round-trip latency, retries, failures.
A call that keeps failing raises :class:`~wsao_trio.errors.Unavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import coredis
import coredis.exceptions
import trio

from wsao_trio._backplane.redis import scripts
from wsao_trio.errors import Unavailable

T = TypeVar("T")
# The logger keeps its documented name (docs/operations.md), whatever the module path.
logger = logging.getLogger("wsao_trio.redisplane.store")
FAILURES = (coredis.exceptions.ConnectionError, TimeoutError, OSError)
MAX_BACKOFF = 2.0


@attrs.define
class StoreStats:
    """What the Redis link did: calls, retries, outages, round-trip time."""

    calls: int = 0
    retries: int = 0
    outages: int = 0
    reconnects: int = 0
    round_trip_seconds: float = 0.0
    round_trip_max: float = 0.0
    refusals: int = 0
    node_lost_runs: int = 0
    reaped_nodes: int = 0


class Store:
    """A coredis client with the backplane's scripts and a retrying :meth:`call`."""

    def __init__(self, url: str, retry_timeout: float, max_connections: int = 16) -> None:
        self.client: coredis.Redis[str] = coredis.Redis.from_url(
            url,
            decode_responses=True,
            connect_timeout=2.0,
            stream_timeout=5.0,
            max_connections=max_connections,  # callers wait for one beyond this
        )
        self.retry_timeout = retry_timeout
        self.stats = StoreStats()
        self.available = True
        self.ensure_epoch = self.client.register_script(scripts.ENSURE_EPOCH)
        self.publish_events = self.client.register_script(scripts.PUBLISH_EVENTS)
        self.claim_run = self.client.register_script(scripts.CLAIM_RUN)
        self.ack = self.client.register_script(scripts.ACK)
        self.touch_users = self.client.register_script(scripts.TOUCH_USERS)

    async def call(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run ``command``; retry connection failures until ``retry_timeout``."""
        deadline = trio.current_time() + self.retry_timeout
        attempt = 0
        while True:
            try:
                return await self._timed(command)
            except FAILURES as exc:
                self._failed()
                if trio.current_time() >= deadline:
                    raise Unavailable("the event store is unreachable") from exc
            except coredis.exceptions.RedisError as exc:  # an answer, not a lost link
                self.stats.refusals += 1
                logger.warning("redis refused a command: %s", exc)
                raise Unavailable("the event store refused the request") from exc
            attempt += 1
            self.stats.retries += 1
            await trio.sleep(min(MAX_BACKOFF, 0.05 * 2**attempt))

    async def _timed(self, command: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        result = await command()
        elapsed = time.perf_counter() - started
        self.stats.calls += 1
        self.stats.round_trip_seconds += elapsed
        self.stats.round_trip_max = max(self.stats.round_trip_max, elapsed)
        if not self.available:
            self.available = True
            self.stats.reconnects += 1
        return result

    def _failed(self) -> None:
        if self.available:
            self.available = False
            self.stats.outages += 1

    async def probe(self) -> bool:
        """One PING without retries: updates and returns availability."""
        try:
            with trio.fail_after(2.0):
                await self._timed(self.client.ping)
        except (*FAILURES, trio.TooSlowError):
            self._failed()
        return self.available

    async def pipelined(self, calls: list[Callable[[Any], Awaitable[Any]]]) -> list[Any]:
        """Run ``calls`` (each given the pipeline) in one round trip, with retries."""
        if not calls:
            return []

        async def send() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                pending = [call(pipe) for call in calls]
            return [await request for request in pending]

        return await self.call(send)

    def figures(self) -> dict[str, Any]:
        """Counters for health and metrics."""
        figures = attrs.asdict(self.stats)
        calls = max(1, self.stats.calls)
        figures["round_trip_mean_ms"] = round(self.stats.round_trip_seconds / calls * 1000, 3)
        return figures
