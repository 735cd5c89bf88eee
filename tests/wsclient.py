"""A real WebSocket client of the service for integration tests (trio-websocket)."""

from __future__ import annotations

import json
import uuid
from collections import deque
from typing import Any

import trio
from trio_websocket import WebSocketConnection

from wsao_trio.protocol import TERMINAL_EVENTS, split_frames


class WsClient:
    """Reads newline-batched frames one object at a time; keeps what it has seen."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.backlog: deque[dict[str, Any]] = deque()
        self.seen: list[dict[str, Any]] = []
        self.connected: dict[str, Any] = {}

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))

    async def send_message(self, text: str, **fields: Any) -> str:
        message_id = fields.pop("message_id", None) or uuid.uuid4().hex
        await self.send({"type": "user_message", "message_id": message_id, "text": text, **fields})
        return message_id

    async def receive(self) -> dict[str, Any]:
        while not self.backlog:
            self.backlog.extend(split_frames(await self.ws.get_message()))
        obj = self.backlog.popleft()
        self.seen.append(obj)
        return obj

    async def receive_type(self, frame_type: str) -> dict[str, Any]:
        while True:
            obj = await self.receive()
            if obj["type"] == frame_type:
                return obj

    async def collect_run(self, run_id: str) -> list[dict[str, Any]]:
        events = [o for o in self.seen if o.get("run_id") == run_id and "seq" in o]
        while not events or events[-1]["type"] not in TERMINAL_EVENTS:
            obj = await self.receive()
            if obj.get("run_id") == run_id and "seq" in obj:
                events.append(obj)
        return events

    async def run(self, text: str, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send a message; return its run_accepted and the run's events to the end."""
        message_id = await self.send_message(text, **fields)
        while True:
            accepted = await self.receive_type("run_accepted")
            if accepted["message_id"] == message_id:
                return accepted, await self.collect_run(accepted["run_id"])

    def events(self) -> list[dict[str, Any]]:
        return [o for o in self.seen if "seq" in o]


async def drain(client: WsClient, seconds: float) -> None:
    """Read whatever arrives for ``seconds``."""
    with trio.move_on_after(seconds):
        while True:
            await client.receive()
