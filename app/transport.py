"""An ASGI WebSocket, adapted to the orchestrator's Transport protocol.

The ``/ws`` endpoint speaks ASGI directly (see :mod:`app.routes_ws`): hypercorn's
task for the connection runs the session itself, with no framework task reading
messages into a second queue, so an idle connection holds three tasks (hypercorn's
reader, the session's reader, its sender) instead of seven.
"""

from __future__ import annotations

import contextlib
from typing import Any

from wsao_trio.transport import TransportClosed

ASGIReceive = Any  # hypercorn's receive callable: () -> Awaitable[dict]
ASGISend = Any  # hypercorn's send callable: (dict) -> Awaitable[None]


class AsgiTransport:
    """Sends, receives and closes through one accepted ASGI WebSocket.

    The session's reader is the only caller of ``receive``, so it is the one that
    sees ``websocket.disconnect`` and ends the session; sends after that are
    dropped by the server.
    """

    def __init__(self, receive: ASGIReceive, send: ASGISend) -> None:
        self._receive = receive
        self._send = send
        self.closed = False

    async def send(self, text: str) -> None:
        """Send one text frame."""
        if self.closed:
            raise TransportClosed("the connection is closed")
        try:
            await self._send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError) as exc:
            raise TransportClosed(str(exc)) from None

    async def receive(self) -> str | bytes:
        """The next frame from the client; TransportClosed once the peer has gone."""
        event: dict[str, Any] = await self._receive()
        if event["type"] == "websocket.receive":
            text = event.get("text")
            return text if text is not None else bytes(event.get("bytes") or b"")
        self.closed = True
        raise TransportClosed(f"peer disconnected ({event.get('code')})")

    async def close(self, code: int, reason: str = "") -> None:
        """Close with ``code`` (once); a socket that is already gone is fine."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, RuntimeError):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
