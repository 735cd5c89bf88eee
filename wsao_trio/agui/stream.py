"""The trio shell of an AG-UI stream: the orchestrator's log and fan-out → SSE text.

A stream is an ordinary connection of the user, served by
:meth:`~wsao_trio._service.orchestrator.Orchestrator.serve_connection` with an
:class:`SseTransport` instead of a WebSocket: it asks for the user's whole held log
(``last_seq=0``), then gets live events, exactly as a resuming WebSocket does, so it
needs nothing from the orchestrator's internals. The transport keeps the events of
one run, has a :class:`~wsao_trio.agui.projection.RunProjection` turn them into SSE
text, and hands that to the HTTP response through a bounded memory channel.

The stream ends after the run's terminal event. A client that goes away only ends
its stream (the run goes on, as with a WebSocket); a client too slow to read within
the send deadline has its stream closed (4408 on a WebSocket) and resumes with
``Last-Event-ID``. While the run is idle a comment line is sent every
``keepalive`` seconds so that proxies do not close the response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

import attrs
import trio
from ag_ui.encoder import EventEncoder

from wsao_trio._delivery.transport import TransportClosed
from wsao_trio._state.credentials import Credentials
from wsao_trio.agui.mapper import RunIds
from wsao_trio.agui.projection import Emitted, RunProjection, encode_sse

if TYPE_CHECKING:
    from wsao_trio._service.orchestrator import Orchestrator

KEEPALIVE = ": keep-alive\n\n"
DEFAULT_BUFFER = 16
CONTENT_TYPE = "text/event-stream"


@attrs.frozen
class RunTarget:
    """The run a stream follows: our run id and its AG-UI ids."""

    run_id: str
    ids: RunIds


class SseTransport:
    """A :class:`~wsao_trio.Transport` that turns one run's frames into SSE text.

    ``ended`` says the run had ended before the stream began: if the replay holds
    nothing of its end, the stream says so and ends instead of waiting for events
    that will never come.
    """

    def __init__(
        self,
        run_id: str,
        projection: RunProjection,
        out: trio.MemorySendChannel[str],
        *,
        ended: bool,
    ) -> None:
        self._run_id = run_id
        self._projection = projection
        self._out = out
        self._ended = ended
        self._encoder = EventEncoder()
        self._done = trio.Event()
        self.close_code: int | None = None

    async def send(self, text: str) -> None:
        """Keep the run's events of one (batched) frame and pass them on as SSE text."""
        chunks: list[str] = []
        greeted = False
        for line in text.split("\n"):
            greeted = self._line(line, chunks) or greeted
        if greeted and self._ended:
            chunks.extend(self._encode(self._projection.lost()))
        if chunks:
            try:
                await self._out.send("".join(chunks))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._done.set()
                raise TransportClosed("the SSE client has gone") from None
        if self._projection.finished:
            self._done.set()

    def _line(self, line: str, chunks: list[str]) -> bool:
        """Handle one frame; True for ``connected`` (the replay is in the same batch)."""
        if self._run_id in line:
            event = json.loads(line)
            if event.get("run_id") == self._run_id:
                chunks.extend(self._encode(self._projection.event(event)))
            return False
        if line.startswith('{"type":"replay_gap"'):
            self._projection.gap(json.loads(line))
        return line.startswith('{"type":"connected"')

    def _encode(self, emitted: Iterable[Emitted]) -> list[str]:
        return [encode_sse(item, self._encoder) for item in emitted]

    async def receive(self) -> str | bytes:
        """Nothing is ever received: wait until the stream is over, then say so."""
        await self._done.wait()
        raise TransportClosed("the stream is over")

    async def close(self, code: int, reason: str = "") -> None:
        """The orchestrator closes the stream (slow consumer, shutdown, capacity)."""
        self.close_code = code
        self._done.set()

    def abandon(self) -> None:
        """The HTTP client has gone: end the stream (never the run)."""
        self._done.set()


class RunEventStream:
    """One SSE response of one run: :meth:`serve` in a nursery, :meth:`chunks` as the body."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        user_id: str,
        target: RunTarget,
        projection: RunProjection,
        *,
        ended: bool,
        keepalive: float,
        credentials: Credentials | None = None,
    ) -> None:
        self._orch = orchestrator
        self._user_id = user_id
        self._keepalive = keepalive
        self._credentials = credentials
        self._send, self._receive = trio.open_memory_channel[str](DEFAULT_BUFFER)
        self.transport = SseTransport(target.run_id, projection, self._send, ended=ended)

    async def serve(self) -> None:
        """Serve the stream as one of the user's connections until it is over."""
        async with self._send:
            await self._orch.serve_connection(
                self.transport, self._user_id, 0, None, credentials=self._credentials
            )

    async def chunks(self) -> AsyncIterator[str]:
        """The response body: SSE text, and keep-alive comments while the run is idle.

        Ends after the run's terminal event. Closing it early (the client went away)
        ends the stream's connection, never the run.
        """
        try:
            while True:
                chunk = await self._next_chunk()
                if chunk is None:
                    return
                yield chunk
        finally:
            self._receive.close()
            self.transport.abandon()

    async def _next_chunk(self) -> str | None:
        with trio.move_on_after(self._keepalive):
            try:
                return await self._receive.receive()
            except trio.EndOfChannel:
                return None
        return KEEPALIVE
