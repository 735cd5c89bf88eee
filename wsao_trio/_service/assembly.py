"""The one place that picks the backplane engine (and, as they come, other stores).

The seam (:mod:`wsao_trio._backplane.base`) never chooses its engine: this composition
root does, from the settings. The Redis engine is imported only when ``redis_url`` is
set, because it needs the ``redis`` extra (coredis) that a one-process service does
not install.
"""

from __future__ import annotations

import time

from wsao_trio._backplane.base import Backplane, RunHost
from wsao_trio._backplane.memory import MemoryBackplane
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio.config import Settings


def make_backplane(hub: ConnectionHub, settings: Settings, host: RunHost) -> Backplane:
    """The Redis backplane when ``redis_url`` is set, else the in-memory one.

    ``host`` (the orchestrator) is handed to the Redis engine, which asks it to stop
    runs for other processes and which users have runs here. Importing the Redis
    engine raises ImportError naming the ``redis`` extra when coredis is missing.
    """
    if settings.redis_url:
        from wsao_trio._backplane.redis.backplane import RedisBackplane  # the redis extra

        return RedisBackplane(hub, settings, time.time, host=host)
    return MemoryBackplane(
        hub,
        max_events=settings.retention_events,
        max_age=settings.retention_seconds,
        clock=time.time,
    )
