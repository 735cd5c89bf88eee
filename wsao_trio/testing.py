"""Helpers for testing agents and tools against a real orchestrator, in memory.

Like ``trio.testing``, this module ships with the library so users can test their own
agents: :func:`open_test_orchestrator` opens a real orchestrator, and
:class:`MemoryTransport` stands in for the WebSocket (the only part replaced), so every
event goes through the real notifier, log, hub and sender task::

    async with open_test_orchestrator(registry) as harness:
        events = await harness.run_message("alice", "What is 2 + 2?")
        assert events[-1]["type"] == "agent_completed"
"""

from __future__ import annotations

import json
import math
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import trio

from wsao_trio._delivery.transport import TransportClosed
from wsao_trio._runs.agents import AgentRegistry
from wsao_trio._service.orchestrator import Orchestrator, open_orchestrator
from wsao_trio.config import Settings
from wsao_trio.protocol import TERMINAL_EVENTS, split_frames


class MemoryTransport:
    """A WebSocket in memory: the server side implements Transport, the client side tests.

    ``buffer`` bounds frames in flight towards the client; a client that stops
    reading therefore blocks the server's sends, like a real slow socket.
    """

    def __init__(self, buffer: float = math.inf) -> None:
        self._to_client, self._client_inbox = trio.open_memory_channel[str](buffer)
        self._to_server, self._server_inbox = trio.open_memory_channel[str | bytes](math.inf)
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = trio.Event()

    async def send(self, text: str) -> None:
        """Server side: send one frame to the client."""
        try:
            await self._to_client.send(text)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise TransportClosed("client has gone") from None

    async def receive(self) -> str | bytes:
        """Server side: the next frame from the client."""
        try:
            return await self._server_inbox.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise TransportClosed("client has gone") from None

    async def close(self, code: int, reason: str = "") -> None:
        """Server side: close with ``code`` (recorded for the test to read)."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._to_client.close()
        self.closed.set()
        await trio.lowlevel.checkpoint()

    def client_send_nowait(self, data: str | bytes) -> None:
        """Client side: send one raw frame."""
        self._to_server.send_nowait(data)

    async def client_receive(self) -> str:
        """Client side: the next raw frame; TransportClosed once the server closed."""
        try:
            return await self._client_inbox.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise TransportClosed(f"closed with {self.close_code}") from None

    def client_disconnect(self) -> None:
        """Client side: go away without a close frame."""
        self._to_server.close()
        self._client_inbox.close()


class FrameCollector:
    """Reads server frames one object at a time (frames are split on newlines).

    Subclasses supply :meth:`next_text`; everything read is kept in ``seen``.
    """

    def __init__(self) -> None:
        self.backlog: deque[dict[str, Any]] = deque()
        self.seen: list[dict[str, Any]] = []

    async def next_text(self) -> str:
        """The next raw text frame from the server."""
        raise NotImplementedError

    async def receive(self) -> dict[str, Any]:
        """The next server object."""
        while not self.backlog:
            self.backlog.extend(split_frames(await self.next_text()))
        obj = self.backlog.popleft()
        self.seen.append(obj)
        return obj

    async def receive_type(self, frame_type: str) -> dict[str, Any]:
        """Read until an object of ``frame_type`` arrives; return it.

        Waits as long as it takes: wrap it in ``trio.fail_after`` (or use
        :meth:`OrchestratorHarness.run_message`, which does) so a frame that never
        comes fails the test instead of hanging it. Raises TransportClosed once the
        server closed the connection.
        """
        while True:
            obj = await self.receive()
            if obj["type"] == frame_type:
                return obj

    async def collect_run(self, run_id: str) -> list[dict[str, Any]]:
        """Read until ``run_id``'s terminal event; return that run's events in order.

        Includes the run's events already read. No timeout of its own (see
        :meth:`receive_type`); TransportClosed if the server closes first.
        """
        events = [obj for obj in self.seen if obj.get("run_id") == run_id and "seq" in obj]
        while not events or events[-1]["type"] not in TERMINAL_EVENTS:
            obj = await self.receive()
            if obj.get("run_id") == run_id and "seq" in obj:
                events.append(obj)
        return events

    def events(self) -> list[dict[str, Any]]:
        """Every run event read so far."""
        return [obj for obj in self.seen if "seq" in obj]


class MemoryClient(FrameCollector):
    """A protocol-level client of one :class:`MemoryTransport`."""

    def __init__(self, transport: MemoryTransport, user_id: str) -> None:
        super().__init__()
        self.transport = transport
        self.user_id = user_id
        self.connected: dict[str, Any] = {}
        #: what the harness is waiting for, named in its timeout errors
        self.waiting_for = "the 'connected' frame"

    async def next_text(self) -> str:
        """The next raw frame from the server."""
        return await self.transport.client_receive()

    def send(self, frame: dict[str, Any]) -> None:
        """Send one frame (a dict, encoded as JSON)."""
        self.transport.client_send_nowait(json.dumps(frame))

    def send_message(self, text: str, **fields: Any) -> str:
        """Send a ``user_message``; return its message id."""
        message_id = fields.pop("message_id", None) or uuid.uuid4().hex
        self.send({"type": "user_message", "message_id": message_id, "text": text, **fields})
        return message_id


class OrchestratorHarness:
    """A real orchestrator plus in-memory connections to it."""

    def __init__(self, orchestrator: Orchestrator, nursery: trio.Nursery) -> None:
        self.orchestrator = orchestrator
        self._nursery = nursery

    async def connect(
        self,
        user_id: str,
        *,
        last_seq: int | None = None,
        epoch: str | None = None,
        buffer: float = math.inf,
    ) -> MemoryClient:
        """Open a connection for ``user_id`` and read its ``connected`` frame.

        The server side runs in the harness's nursery, so it ends with the harness
        (or when the client disconnects); the server may close it like any socket
        (4408 for a client that does not read, with ``buffer`` set).
        """
        transport = MemoryTransport(buffer)
        serve = self.orchestrator.serve_connection
        self._nursery.start_soon(serve, transport, user_id, last_seq, epoch)
        client = MemoryClient(transport, user_id)
        client.connected = await client.receive_type("connected")
        return client

    async def run_message(
        self, user_id: str, text: str, *, agent_type: str | None = None, timeout: float = 30
    ) -> list[dict[str, Any]]:
        """Send one message on a fresh connection; return its run's events to the end.

        Raises :class:`RunRefused` at once if the server answers with an ``error`` frame
        instead of ``run_accepted``, and ``trio.TooSlowError`` naming what it waited for
        (and the last frames seen) if ``timeout`` seconds pass first.
        """
        client: MemoryClient | None = None
        with _explained_timeout(timeout, lambda: _progress(client, user_id)):
            client = await self.connect(user_id)
            fields = {"agent_type": agent_type} if agent_type else {}
            message_id = client.send_message(text, **fields)
            client.waiting_for = f"run_accepted for message {message_id!r}"
            accepted = await _accepted(client, message_id)
            client.waiting_for = f"the terminal event of run {accepted['run_id']!r}"
            events = await client.collect_run(accepted["run_id"])
            client.transport.client_disconnect()
            return events


class RunRefused(Exception):
    """The server answered a message with an ``error`` frame (kept in ``frame``)."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"the server refused the message: {frame.get('code')}: {frame}")
        self.frame = frame


async def _accepted(client: MemoryClient, message_id: str) -> dict[str, Any]:
    while True:
        obj = await client.receive()
        if obj["type"] == "run_accepted" and obj.get("message_id") == message_id:
            return obj
        if obj["type"] == "error" and obj.get("ref") in (message_id, None):
            raise RunRefused(obj)


def _progress(client: MemoryClient | None, user_id: str) -> str:
    if client is None:
        return f"the 'connected' frame of a new connection of {user_id!r}; nothing arrived"
    recent = [obj.get("type") for obj in client.seen[-5:]]
    return f"{client.waiting_for}; the last frames seen were {recent}"


@contextmanager
def _explained_timeout(timeout: float, what: Callable[[], str]) -> Iterator[None]:
    """``trio.fail_after(timeout)`` whose TooSlowError says what was awaited."""
    try:
        with trio.fail_after(timeout):
            yield
    except trio.TooSlowError:
        raise trio.TooSlowError(f"waited {timeout:g} s for {what()}") from None


@asynccontextmanager
async def open_test_orchestrator(
    registry: AgentRegistry, **settings: Any
) -> AsyncIterator[OrchestratorHarness]:
    """Open a real orchestrator with ``Settings(**settings)`` and a harness around it."""
    async with (
        open_orchestrator(registry, Settings(**settings)) as orch,
        trio.open_nursery() as nursery,
    ):
        yield OrchestratorHarness(orch, nursery)
        nursery.cancel_scope.cancel()
