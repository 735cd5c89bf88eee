"""``python -m app``: serve the chat service with hypercorn's trio worker.

Reads ``WSAO_*`` settings, refuses to start without a way to authenticate, prints the
URL to open, and on SIGINT/SIGTERM shuts down in order: runs end with
``agent_cancelled`` (``shutdown``), sockets close with 1001, the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import AsyncIterator
from functools import partial

import hypercorn.trio
import trio
from quart_trio import QuartTrio

from app.fdlimit import raise_fd_limit
from app.hyperconfig import hypercorn_config
from app.server import check_startable, create_app, state_of
from wsao_trio.config import Settings, load_settings
from wsao_trio.errors import ConfigError
from wsao_trio.logsafety import install

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


async def _until_signal(app: QuartTrio, signals: AsyncIterator[int]) -> None:
    async for signum in signals:
        print(f"wsao: received {signal.Signals(signum).name}, shutting down", file=sys.stderr)
        break
    orchestrator = state_of(app).orchestrator
    if orchestrator is not None:
        await orchestrator.aclose()


async def serve(app: QuartTrio, settings: Settings) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain the orchestrator first."""
    config = hypercorn_config(settings)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        trigger = partial(_until_signal, app, signals)
        await hypercorn.trio.serve(app, config, shutdown_trigger=trigger)


def main() -> int:
    """Entry point; returns the process exit code."""
    try:
        settings = load_settings()
        handler = install(logging.StreamHandler(), LOG_FORMAT)
        logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
        check_startable(settings)
        app = create_app(settings)
        raise_fd_limit(settings.max_connections)
    except ConfigError as exc:
        print(f"wsao: cannot start: {exc}", file=sys.stderr)
        return 2
    host, _, port = settings.bind.rpartition(":")
    print(f"wsao: chat on http://{host}:{port}/  dashboard http://{host}:{port}/dashboard")
    if settings.dev_auth:
        print("wsao: dev auth is ON (sign in with any name); do not use in production")
    sys.stdout.flush()
    trio.run(serve, app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
