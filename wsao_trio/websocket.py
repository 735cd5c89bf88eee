"""trio-websocket's connection as the orchestrator's :class:`~wsao_trio.Transport`.

A plain trio service needs no web framework: serve with
:func:`trio_websocket.serve_websocket`, authenticate the request, accept it and hand
``TrioWebsocketTransport(ws)`` to :meth:`Orchestrator.serve_connection`
(``docs/integration.md`` section 3 shows the whole service). trio-websocket is a core
dependency, so this module needs no extra.
"""

from __future__ import annotations

from trio_websocket import ConnectionClosed, WebSocketConnection

from wsao_trio._delivery.transport import TransportClosed


class TrioWebsocketTransport:
    """Sends, receives and closes through one trio-websocket connection.

    trio-websocket reports a gone peer as ``ConnectionClosed``; it becomes
    :class:`TransportClosed`, which is what the orchestrator's session expects.
    """

    def __init__(self, ws: WebSocketConnection) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        """Send one text frame."""
        try:
            await self._ws.send_message(text)
        except ConnectionClosed as exc:
            raise TransportClosed(str(exc.reason)) from None

    async def receive(self) -> str | bytes:
        """The next frame from the peer (text or binary)."""
        try:
            message: str | bytes = await self._ws.get_message()
        except ConnectionClosed as exc:
            raise TransportClosed(str(exc.reason)) from None
        return message

    async def close(self, code: int, reason: str = "") -> None:
        """Close with ``code``; a no-op if the connection is already closed."""
        await self._ws.aclose(code, reason)
