"""Quart's websocket, adapted to the orchestrator's Transport protocol."""

from __future__ import annotations

import contextlib
from typing import Any

from wsao_trio.transport import TransportClosed


class QuartTransport:
    """Sends, receives and closes through one Quart websocket object.

    When the client disconnects, quart-trio cancels the handler task, so ``receive``
    never has to report a disconnect itself; errors of a dead socket become
    :class:`TransportClosed`.
    """

    def __init__(self, websocket: Any) -> None:
        self._websocket = websocket

    async def send(self, text: str) -> None:
        """Send one text frame."""
        try:
            await self._websocket.send(text)
        except (OSError, RuntimeError) as exc:
            raise TransportClosed(str(exc)) from None

    async def receive(self) -> str | bytes:
        """The next frame from the client.

        Quart reads a frame as ``bytes or text``, so an empty binary frame arrives as
        None: it is handed on as the empty binary frame it was.
        """
        data: str | bytes | None = await self._websocket.receive()
        return b"" if data is None else data

    async def close(self, code: int, reason: str = "") -> None:
        """Close with ``code``; a socket that is already gone is fine."""
        with contextlib.suppress(OSError, RuntimeError):
            await self._websocket.close(code, reason)
