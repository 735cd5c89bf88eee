"""The hypercorn configuration the service runs with, derived from Settings."""

from __future__ import annotations

import logging

from hypercorn.config import Config

from wsao_trio.config import Settings


def hypercorn_config(settings: Settings, bind: str | None = None) -> Config:
    """A hypercorn Config: bind address, frame size limit (1009 above it), quiet logs."""
    config = Config()
    config.bind = [bind or settings.bind]
    # hypercorn closes a connection whose message is over this size with 1009.
    config.websocket_max_message_size = settings.max_frame_bytes
    config.graceful_timeout = max(1.0, settings.shutdown_grace)
    config.accesslog = None
    # A Logger (not "-") makes hypercorn log through the root handler that
    # ``python -m app`` installs: "Running on …" is printed once, in our format.
    # With "-" hypercorn added its own stderr handler and the record also
    # propagated to ours, so every line came out twice in two formats.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.loglevel = settings.log_level
    # A client that has not sent its whole request (headers) counts as idle in
    # hypercorn: this timeout closes stalled half-open requests (slowloris) and idle
    # keep-alive connections; an upgraded WebSocket is never idle by this measure.
    config.keep_alive_timeout = settings.handshake_timeout
    # hypercorn's default listen backlog (100) overflows when a thousand clients
    # reconnect at once (a restart, a network blip); the kernel caps it at somaxconn.
    config.backlog = 2048
    return config
