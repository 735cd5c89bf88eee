"""A client that breaks the WebSocket protocol gets a close frame, not a dropped socket.

When wsproto cannot parse what a client sent (invalid UTF-8 in a text frame, an
unmasked or reserved-bit frame, an unknown opcode, a stray continuation) it yields a
``CloseConnection`` with the right code (1007 or 1002) but leaves its state ``OPEN``.
hypercorn answers a ``CloseConnection`` only in ``REMOTE_CLOSING`` (the peer's own
close), so it sent nothing and dropped TCP: the client saw 1006 and no reason (issue 7
item 10). :class:`ClosingConnection` marks such a parse failure as the start of a
closing handshake, so hypercorn's own code answers it with a close frame carrying
wsproto's code and reason, then ends the stream as after any close. hypercorn has no
setting for this; :func:`close_on_protocol_errors` swaps the class it builds.
"""

from __future__ import annotations

from collections.abc import Generator

import hypercorn.protocol.ws_stream as ws_stream
from wsproto.connection import Connection, ConnectionState
from wsproto.events import CloseConnection, Event


class ClosingConnection(Connection):
    """wsproto's server connection, closing with a frame on a client's protocol error."""

    def events(self) -> Generator[Event, None, None]:
        """wsproto's events; a parse failure (a close while still OPEN) awaits our reply."""
        for event in super().events():
            if isinstance(event, CloseConnection) and self.state is ConnectionState.OPEN:
                # wsproto sets the same state when the peer's close frame arrives; the
                # reply hypercorn then sends is the close frame (1002/1007 and why).
                self._state = ConnectionState.REMOTE_CLOSING
            yield event


def close_on_protocol_errors() -> None:
    """Make hypercorn's WebSocket streams use :class:`ClosingConnection` (idempotent)."""
    setattr(ws_stream, "Connection", ClosingConnection)  # noqa: B010 (a library patch)
