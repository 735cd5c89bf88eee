"""A real WebSocket client of the service for integration tests (trio-websocket)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import trio
from trio_websocket import WebSocketConnection

from wsao_trio.testing import FrameCollector


class WsClient(FrameCollector):
    """A trio-websocket connection read one server object at a time."""

    def __init__(self, ws: WebSocketConnection) -> None:
        super().__init__()
        self.ws = ws
        self.connected: dict[str, Any] = {}
        self.arrivals: list[float] = []

    async def next_text(self) -> str:
        message = await self.ws.get_message()
        self.arrivals.append(trio.current_time())
        assert isinstance(message, str), "the server sent a binary frame"
        return message

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))

    async def send_message(self, text: str, **fields: Any) -> str:
        message_id = fields.pop("message_id", None) or uuid.uuid4().hex
        await self.send({"type": "user_message", "message_id": message_id, "text": text, **fields})
        return message_id

    async def run(self, text: str, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send a message; return its run_accepted and the run's events to the end."""
        message_id = await self.send_message(text, **fields)
        while True:
            accepted = await self.receive_type("run_accepted")
            if accepted["message_id"] == message_id:
                return accepted, await self.collect_run(accepted["run_id"])

    def arrival_gaps(self) -> list[float]:
        """Seconds between consecutive frames received so far."""
        return [
            later - earlier
            for earlier, later in zip(self.arrivals, self.arrivals[1:], strict=False)
        ]


async def drain(client: WsClient, seconds: float) -> None:
    """Read whatever arrives for ``seconds``."""
    with trio.move_on_after(seconds):
        while True:
            await client.receive()
