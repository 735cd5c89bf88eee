"""An ASGI WebSocket, adapted to the orchestrator's Transport protocol.

The ``/ws`` endpoint speaks ASGI directly (see :mod:`app.routes_ws`): hypercorn's
task for the connection runs the session itself, with no framework task reading
messages into a second queue, so an idle connection holds three tasks (hypercorn's
reader, the session's reader, its sender) instead of seven.
"""

from __future__ import annotations

import contextlib
from typing import Any

from wsao_trio import TransportClosed

ASGIReceive = Any  # hypercorn's receive callable: () -> Awaitable[dict]
ASGISend = Any  # hypercorn's send callable: (dict) -> Awaitable[None]


class AsgiTransport:
    """Sends, receives and closes through one ASGI WebSocket, accepting it lazily.

    The upgrade (``websocket.accept``) goes out with the first frame, so the route
    can hand the connection to the orchestrator with no checkpoint between its
    capacity check and the hub's attach: concurrent handshakes then see each other,
    and the caps answer HTTP 503 exactly. A close before that first frame (the
    orchestrator refusing: shutting down, or over a cap) is an HTTP 503 instead.

    The session's reader is the only caller of ``receive``, so it is the one that
    sees ``websocket.disconnect`` and ends the session; sends after that are
    dropped by the server.
    """

    def __init__(self, receive: ASGIReceive, send: ASGISend) -> None:
        self._receive = receive
        self._send = send
        self.accepted = False
        self.closed = False

    async def send(self, text: str) -> None:
        """Send one text frame (after the upgrade, the first time)."""
        if self.closed:
            raise TransportClosed("the connection is closed")
        try:
            if not self.accepted:
                self.accepted = True
                await self._send({"type": "websocket.accept"})
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
        """Close with ``code`` (once); before the upgrade, refuse with HTTP 503."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, RuntimeError):
            if self.accepted:
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
            else:
                await refuse(self._send, 503, f"try again later: {reason}")


async def refuse(send: ASGISend, status: int, message: str) -> None:
    """Answer a WebSocket handshake with an HTTP status and a short text body."""
    body = message.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
