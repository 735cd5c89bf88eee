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
from typing import Any

import hypercorn.trio
import trio
from quart_trio import QuartTrio

from app.fdlimit import raise_fd_limit
from app.hyperconfig import hypercorn_config
from app.server import check_startable, create_app, state_of
from app.workers import check_workers, orphan_watch, run_workers, worker_fd
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


async def serve(app: QuartTrio, settings: Settings, bind: str | None = None) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain the orchestrator first.

    On ``fd://`` (a ``--workers`` child) it also drains once its parent is gone.
    """
    config = hypercorn_config(settings, bind)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        trigger = partial(_until_signal, app, signals)
        async with trio.open_nursery() as nursery:
            if bind is not None and bind.startswith("fd://"):  # a --workers child
                nursery.start_soon(orphan_watch)
            await hypercorn.trio.serve(app, config, shutdown_trigger=trigger)
            nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    fd = worker_fd(argv)
    try:
        settings = load_settings(**_cli_overrides(argv))
        check_workers(settings)
        check_startable(settings)
        if settings.workers > 1 and fd is None:
            _announce(settings)
            return run_workers(settings)
        app = _build(settings)
    except ConfigError as exc:
        print(f"wsao: cannot start: {exc}", file=sys.stderr)
        return 2
    if fd is None:
        _announce(settings)
    trio.run(serve, app, settings, None if fd is None else f"fd://{fd}")
    return 0


def _cli_overrides(argv: list[str]) -> dict[str, Any]:
    if "--workers" not in argv:
        return {}
    raw = argv[argv.index("--workers") + 1 :][:1]
    if not raw or not raw[0].isdigit() or int(raw[0]) < 1:
        raise SystemExit("wsao: --workers takes a positive number")
    return {"workers": int(raw[0])}


def _build(settings: Settings) -> QuartTrio:
    handler = install(logging.StreamHandler(), LOG_FORMAT)
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    app = create_app(settings)
    raise_fd_limit(settings.max_connections)
    return app


def _announce(settings: Settings) -> None:
    host, _, port = settings.bind.rpartition(":")
    workers = f" ({settings.workers} workers)" if settings.workers > 1 else ""
    print(f"wsao: chat on http://{host}:{port}/  dashboard http://{host}:{port}/dashboard{workers}")
    if settings.dev_auth:
        print("wsao: dev auth is ON (sign in with any name); do not use in production")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
