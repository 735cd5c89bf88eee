"""The one thing the orchestrator needs from a WebSocket: send, receive, close.

Like hypercorn's protocol classes meeting trio at a send callback, the orchestrator
meets the web framework at this :class:`Transport` protocol. The app adapts Quart's
websocket to it; :mod:`wsao_trio.testing` provides an in-memory one.
"""

from __future__ import annotations

from typing import Protocol


class TransportClosed(Exception):
    """The peer has gone: receive or send cannot continue."""


class Transport(Protocol):
    """A text WebSocket as the orchestrator sees it."""

    async def send(self, text: str) -> None:
        """Send one text frame; raise TransportClosed if the peer has gone."""
        ...

    async def receive(self) -> str | bytes:
        """The next frame from the peer; raise TransportClosed when it has gone."""
        ...

    async def close(self, code: int, reason: str = "") -> None:
        """Close with ``code``; must not raise if the peer has already gone."""
        ...
