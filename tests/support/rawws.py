"""Raw WebSocket helpers for the tests: the harness's own (:mod:`stress.rawws`)."""

from stress.rawws import (
    OP_BINARY,
    OP_CLOSE,
    OP_TEXT,
    close_code,
    frame,
    handshake,
    host_port,
    read_until_closed,
    server_frames,
)

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_TEXT",
    "close_code",
    "frame",
    "handshake",
    "host_port",
    "read_until_closed",
    "server_frames",
]
