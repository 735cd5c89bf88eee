"""hypercorn's WebSocket stream, with the three holes we found in it closed.

hypercorn 0.18's ``WSStream`` (one per WebSocket request) has three faults that a
client can reach without a valid token or with a single frame (issue 15,
docs/security.md, "hypercorn's WebSocket stream"):

1. **Bytes before the answer.** A client that sends frames (or an upgrade request
   with a body) before the server answered its handshake made hypercorn answer 400
   while our route was answering 401/403/503 on the same h11 connection: two
   responses, an h11 ``LocalProtocolError`` that escaped the connection's task group
   and ended the whole process. :class:`GuardedWSStream` answers such a handshake
   exactly once: the route's own refusal if it has begun one, else 400 and a close.
   An upgrade request that declares a body (``Content-Length``/``Transfer-Encoding``)
   is refused with 400 even when its token is good: a handshake carries no body.
2. **A message over the limit.** hypercorn sent close 1009 and then stopped reading
   the events of that read (``break``), so a peer's close reply that arrived in the
   same read was never seen and the socket stayed open (the 200,000- and
   300,000-byte frames of the issue); it also kept appending the rest of the too-big
   message to its buffer. Here, once our close is sent, every further message is
   dropped unbuffered and the rest of the read is still parsed.
3. **A peer that never answers our close.** hypercorn waited forever for the
   closing handshake. Here the TCP connection is dropped ``keep_alive_timeout``
   seconds (``WSAO_HANDSHAKE_TIMEOUT``) after our close frame if the peer has not
   answered it.

:func:`guard_websocket_streams` makes hypercorn's HTTP/1.1 and HTTP/2 protocols build
this class (hypercorn has no setting for any of it).
"""

from __future__ import annotations

from typing import Any

import hypercorn.protocol.h2 as h2_protocol
import hypercorn.protocol.h11 as h11_protocol
import trio
from hypercorn.protocol.events import Body, Data, Request, StreamClosed
from hypercorn.protocol.ws_stream import ASGIWebsocketState, FrameTooLargeError, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason

ANSWERS = frozenset({"websocket.accept", "websocket.http.response.start", "websocket.close"})
BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when a request's headers announce a body (any Transfer-Encoding, or a
    Content-Length other than 0)."""
    for name, value in headers:
        name = name.lower()
        if name in BODY_HEADERS and (name != b"content-length" or value.strip() != b"0"):
            return True
    return False


class GuardedWSStream(WSStream):
    """One WebSocket request: answered once, closed after our close, never buffered past
    its limit.

    It runs in hypercorn's connection task group like the class it replaces; the
    route (the ASGI app) runs in a task of the same group, so every flag below is set
    before the first await of the step that sets it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answering = False  # the route has begun its answer (accept or refusal)
        self.refused_here = False  # we answered for the route: its messages are dropped
        self.has_body = False
        self.gone: trio.Event | None = None  # made when a close awaits its reply

    async def handle(self, event: Any) -> None:
        """Feed one event from the client's side (request, bytes, end of stream)."""
        if self.closed:
            return
        if isinstance(event, Request):
            self.has_body = declares_body(event.headers)
        elif isinstance(event, Body | Data) and not self.handshake.accepted:
            return await self._early_bytes()
        elif isinstance(event, StreamClosed) and self.gone is not None:
            self.gone.set()
        await super().handle(event)

    async def app_send(self, message: Any) -> None:
        """Take one ASGI message from the route, unless we have answered for it."""
        if self.refused_here or self.closed:
            return
        kind = message["type"] if message is not None else None
        if self.state is ASGIWebsocketState.HANDSHAKE and kind in ANSWERS:
            self.answering = True
            if kind == "websocket.accept" and self.has_body:
                return await self.refuse(400)
        await super().app_send(message)

    async def _early_bytes(self) -> None:
        """Bytes before the handshake's answer: 400, unless the route's answer has begun."""
        if not self.answering:
            await self.refuse(400)
        # else: the route's refusal is under way (an accept would have set accepted);
        # the bytes are dropped, its answer goes out whole and then the stream closes.

    async def refuse(self, status: int) -> None:
        """Answer the handshake with ``status`` and end the stream (the route gets a
        ``websocket.disconnect``; its later messages are dropped)."""
        self.refused_here = True
        await self._send_error_response(status)
        self.state = ASGIWebsocketState.HTTPCLOSED
        await self.send(StreamClosed(stream_id=self.stream_id))

    async def _handle_events(self) -> None:
        for event in self.connection.events():
            if isinstance(event, Message):
                await self._message(event)
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                await self.send(StreamClosed(stream_id=self.stream_id))

    async def _message(self, event: Message[Any]) -> None:
        """Buffer a message part; hand a whole message to the route; 1009 past the limit."""
        if self.connection.state is not ConnectionState.OPEN:
            return  # we sent our close: what the peer sends until its reply is dropped
        try:
            self.buffer.extend(event)
        except FrameTooLargeError:
            self.buffer.clear()
            await self._send_wsproto_event(CloseConnection(code=CloseReason.MESSAGE_TOO_BIG))
            return
        if event.message_finished and self.app_put is not None:
            await self.app_put(self.buffer.to_message())
            self.buffer.clear()

    async def _send_wsproto_event(self, event: Any) -> None:
        was_open = self.connection.state is ConnectionState.OPEN
        await super()._send_wsproto_event(event)
        closing = self.connection.state is ConnectionState.LOCAL_CLOSING
        if isinstance(event, CloseConnection) and was_open and closing:
            self.task_group.spawn(self._drop_if_unanswered)

    async def _drop_if_unanswered(self) -> None:
        """End the stream if the peer has not answered our close in time."""
        if self.closed:
            return
        self.gone = trio.Event()
        with trio.move_on_after(self.config.keep_alive_timeout):
            await self.gone.wait()
            return
        if not self.closed:
            await self.send(StreamClosed(stream_id=self.stream_id))


def guard_websocket_streams() -> None:
    """Make hypercorn's HTTP/1.1 and HTTP/2 protocols build :class:`GuardedWSStream`."""
    setattr(h11_protocol, "WSStream", GuardedWSStream)  # noqa: B010 (a library patch)
    setattr(h2_protocol, "WSStream", GuardedWSStream)  # noqa: B010 (a library patch)
