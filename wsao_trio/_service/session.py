"""One WebSocket connection, served by the contract: greet, read frames, send events.

:func:`serve_connection` attaches the connection to the hub, queues ``connected`` (and
the replay a ``last_seq`` asks for) as its first frames, and then runs two tasks in a
nursery scoped to the connection: the sender (channel → socket under a deadline) and
the reader (frames → orchestrator). Whichever ends first ends both; the connection is
then detached and closed with the code the hub asked for (4408, 1001, 1009, 4401 at
the token's expiry), if any.
Runs are not tied to the connection: a disconnect cancels nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging

import trio

from wsao_trio._delivery.connections import Connection, Outgoing, Preamble, outgoing_event
from wsao_trio._delivery.transport import Transport, TransportClosed
from wsao_trio._service.host import ServiceHost
from wsao_trio._state.credentials import Credentials
from wsao_trio._state.eventlog import Replay
from wsao_trio._state.ratelimit import TokenBucket
from wsao_trio.errors import ClientError, RateLimited, Unauthorized, Unavailable
from wsao_trio.protocol import (
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHORIZED,
    Ack,
    Auth,
    ClientFrame,
    Ping,
    Resume,
    StopAgent,
    UserMessage,
    connected_frame,
    dumps,
    error_frame,
    parse_client_frame,
    pong_frame,
    replay_gap_frame,
    run_accepted_frame,
)

CLOSE_TIMEOUT = 2.0
INTERNAL_ERROR = "internal_error"
# The logger keeps its documented name (docs/operations.md), whatever the module path.
logger = logging.getLogger("wsao_trio.session")


def frame_size(data: str | bytes) -> int:
    """The size of a received frame in bytes (UTF-8 for text); anything else counts 0."""
    if isinstance(data, bytes):
        return len(data)
    if isinstance(data, str):
        return len(data.encode("utf-8", "surrogatepass"))
    return 0


def _replay(replay: Replay, last_seq: int) -> Preamble:
    """The replay after ``last_seq``; after a gap, everything held is re-sent."""
    events = tuple(outgoing_event(event) for event in replay.events)
    if replay.gap is None:
        return Preamble(events, rewind_to=last_seq)
    gap = replay.gap
    notice = replay_gap_frame(gap.requested_after, gap.oldest_available, gap.reason)
    return Preamble((Outgoing(notice), *events), rewind_to=0)


class ConnectionSession:
    """Serves one authenticated WebSocket of ``user_id`` against an orchestrator."""

    def __init__(
        self,
        orchestrator: ServiceHost,
        transport: Transport,
        user_id: str,
        credentials: Credentials | None = None,
    ) -> None:
        self._orch = orchestrator
        self._transport = transport
        self.user_id = user_id
        self._credentials = credentials
        self._scope: trio.CancelScope | None = None
        settings = orchestrator.settings
        now = trio.current_time()
        self._bucket = TokenBucket(settings.max_frames_per_second, settings.frame_burst, now)
        self._resumes = TokenBucket(settings.max_resumes_per_second, settings.resume_burst, now)

    async def serve(self, last_seq: int | None = None, epoch: str | None = None) -> None:
        """Serve until the peer leaves, the hub closes the connection or the token expires.

        Two tasks per connection: this one reads, the sender writes. A close request
        (:meth:`Connection.fail`) cancels their scope directly, and the token's expiry
        is that scope's deadline (moved by each valid ``auth`` frame), so no task waits
        for either: idle connections are what a server holds most of.
        """
        try:
            conn = await self._attach(last_seq, epoch)
        except Unavailable as exc:
            with contextlib.suppress(TransportClosed):
                await self._transport.close(CLOSE_TRY_AGAIN_LATER, exc.message[:120])
            return
        try:
            await self._serve_attached(conn)
        finally:
            self._orch.hub.detach(conn)
        await self._close(conn)

    async def _serve_attached(self, conn: Connection) -> None:
        async with trio.open_nursery() as nursery:
            self._scope = conn.cancel_scope = nursery.cancel_scope
            self._arm_expiry()
            conn.wake = functools.partial(self._start_sender, conn, nursery)
            try:
                self._start_sender(conn, nursery)  # the greeting is queued already
                await self._receive_loop(conn)
                nursery.cancel_scope.cancel()
            finally:
                conn.wake = None  # a cycle through the nursery would outlive the socket
        if trio.current_time() >= nursery.cancel_scope.deadline:
            conn.fail(CLOSE_UNAUTHORIZED, "token expired")

    def _arm_expiry(self) -> None:
        if self._credentials is not None and self._scope is not None:
            remaining = max(0.0, self._credentials.remaining())
            self._scope.deadline = trio.current_time() + remaining

    async def _attach(self, last_seq: int | None, epoch: str | None) -> Connection:
        """Attach to the hub and queue the greeting while the user's fan-out holds still.

        The connection caps are checked again right before the attach: opening a
        view may wait (for Redis), and handshakes that passed the host's check
        meanwhile must not all attach. Over a cap: Unavailable, so a 1013 close.
        """
        async with self._orch.backplane.view(self.user_id, last_seq, epoch) as view:
            refusal = self._orch.capacity_refusal(self.user_id)
            if refusal is not None:
                raise Unavailable(refusal)
            conn = self._orch.hub.attach(self.user_id)
            hello = connected_frame(conn.connection_id, self.user_id, view.epoch, view.last_seq)
            replay = () if view.replay is None else _replay(view.replay, last_seq or 0).items
            conn.push(Preamble((Outgoing(hello), *replay)))
        return conn

    async def _resume(self, conn: Connection, last_seq: int, epoch: str | None) -> None:
        async with self._orch.backplane.view(self.user_id, last_seq, epoch) as view:
            assert view.replay is not None
            conn.push(_replay(view.replay, last_seq))

    def _start_sender(self, conn: Connection, nursery: trio.Nursery) -> None:
        """Start the connection's sender task unless one runs (any task may call it)."""
        if not conn.sending and not nursery.cancel_scope.cancel_called:
            conn.sending = True
            nursery.start_soon(self._send_loop, conn, nursery)

    async def _send_loop(self, conn: Connection, nursery: trio.Nursery) -> None:
        """The sender task: it ends when the connection is idle (a later item starts
        another) or fails the connection's scope when the socket is done."""
        idle = False
        try:
            with contextlib.suppress(TransportClosed):
                idle = await self._orch.sender.run(conn, self._transport.send)
        finally:
            conn.sending = False
        if not idle:
            nursery.cancel_scope.cancel()
        elif conn.queue_depth:  # an item came as it left (no await since): send it
            self._start_sender(conn, nursery)
        else:
            conn.queue.shrink()

    async def _receive_loop(self, conn: Connection) -> None:
        limit = self._orch.settings.max_frame_bytes
        while True:
            try:
                data = await self._transport.receive()
            except TransportClosed:
                return
            size = frame_size(data)
            if size > limit:
                conn.fail(CLOSE_TOO_BIG, f"frame of {size} bytes is over the {limit} byte limit")
                return
            reply = await self._handle(conn, data)
            if reply is not None:
                conn.push(Outgoing(reply))

    async def _handle(self, conn: Connection, data: str | bytes) -> str | None:
        try:
            if not self._bucket.allow(trio.current_time()):
                raise RateLimited("too many frames per second")
            return await self._dispatch(conn, parse_client_frame(data))
        except ClientError as exc:
            self._orch.stats.client_errors[exc.code] += 1
            return error_frame(exc.code, exc.message, exc.ref)
        except Exception:
            # A bug of ours must not end the connection or touch anyone else's state.
            logger.exception("internal error handling a frame of user %s", self.user_id)
            self._orch.stats.client_errors[INTERNAL_ERROR] += 1
            return error_frame(INTERNAL_ERROR, "internal server error; the frame was not handled")

    async def _dispatch(self, conn: Connection, frame: ClientFrame) -> str | None:
        if isinstance(frame, UserMessage):
            ticket = await self._orch.accept(self.user_id, frame)
            accepted = run_accepted_frame(
                ticket.message_id, ticket.run_id, ticket.thread_id, ticket.duplicate
            )
            conn.push(Outgoing(accepted))  # before agent_started, so clients see it first
            self._orch.start_execution(ticket)
        if isinstance(frame, StopAgent):
            await self._orch.stop_run(self.user_id, frame.run_id)
        elif isinstance(frame, Ack):
            await self._orch.backplane.ack(self.user_id, frame.seq)
        elif isinstance(frame, Resume):
            if not self._resumes.allow(trio.current_time()):
                raise RateLimited("too many resume frames; each replays the log")
            await self._resume(conn, frame.last_seq, frame.epoch)
        elif isinstance(frame, Ping):
            return pong_frame(frame.id)
        elif isinstance(frame, Auth):
            return self._renew(frame.token)
        return None

    def _renew(self, token: str) -> str:
        if self._credentials is None:
            raise Unauthorized("this connection takes no fresh tokens")
        expires_at = self._credentials.renew(token)
        self._arm_expiry()
        return dumps({"type": "auth_ok", "expires_at": expires_at})

    async def _close(self, conn: Connection) -> None:
        if conn.close_code is None:
            return
        logger.info(
            "closing connection %s of %s: %s %s",
            conn.connection_id,
            self.user_id,
            conn.close_code,
            conn.close_reason,
        )
        with trio.move_on_after(CLOSE_TIMEOUT) as scope:
            scope.shield = True
            with contextlib.suppress(TransportClosed):
                await self._transport.close(conn.close_code, conn.close_reason)
