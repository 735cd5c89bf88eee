"""The Python client: one user's connection to a wsao service, kept across drops.

``async with open_client(url, token=...) as client`` opens a background task that
holds one WebSocket to ``/ws`` and reconnects after any drop (capped exponential
backoff with full jitter), resuming after the last seq taken with its epoch, so
:meth:`WsaoClient.events` yields each of the user's events exactly once, in seq
order, across reconnects; copies are dropped. :meth:`WsaoClient.send` holds each
message until its ``run_accepted`` and sends it again with its ``message_id`` after
a reconnect, so a message starts one run. Acks go out on a short cadence; a token
given as an async callable is renewed before its ``exp`` with the ``auth`` frame
(and fetched afresh for each reconnect). A close the contract calls final (4401
with a fixed token, an HTTP 401/403 that a fresh token does not cure, 1009) ends the
client: every waiter and the event iterator raise :class:`ClientClosed`.

Concurrency: one task per client reads the socket; calls may come from any task of
the caller's trio run. The event buffer is bounded (``buffer``): a caller that stops
reading :meth:`events` holds the reader, the server then closes the socket (4408)
and the client resumes when it reads again.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from wsao_trio.client.cursor import Accepted, Cursor, Outbox, accepted_of
from wsao_trio.client.reducer import RunView, fold_runs
from wsao_trio.errors import WsaoError

TokenSource = str | Callable[[], Awaitable[str]]
FINAL_CLOSES = frozenset({1009, 4401})
REFUSALS = frozenset({400, 401, 403, 404})


class ClientClosed(WsaoError):
    """The client has stopped: closed by the caller, or by a final refusal or close."""


class ClientError(WsaoError):
    """The server answered a request with an ``error`` frame (``code``, ``message``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@attrs.frozen
class Backoff:
    """Capped exponential backoff with full jitter: attempt n waits U(0, min(cap, first·2ⁿ))."""

    first: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before reconnect ``attempt`` (0 for the first)."""
        return rng.uniform(0, min(self.cap, self.first * 2 ** min(attempt, 30)))


@attrs.define
class _Waiter:
    done: trio.Event = attrs.field(factory=trio.Event)
    accepted: Accepted | None = None
    error: Exception | None = None


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (None when unreadable)."""
    try:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query string."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class WsaoClient:
    """One user's connection to ``/ws``, kept across drops (see the module docstring).

    Build it with :func:`open_client`. ``state`` names the connection: ``connecting``,
    ``open``, ``reconnecting`` or ``closed``; ``runs`` holds each run's view.
    """

    def __init__(
        self,
        url: str,
        token: TokenSource,
        *,
        backoff: Backoff = Backoff(),
        buffer: int = 10_000,
        ack_interval: float = 0.2,
        max_frame_bytes: int = 64 * 1024,
        connect_timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url, self._token_source, self.backoff = url, token, backoff
        self.ack_interval, self.connect_timeout = ack_interval, connect_timeout
        self.max_frame_bytes, self.rng = max_frame_bytes, rng or random.Random()
        self.cursor, self.outbox = Cursor(), Outbox()
        self.runs: dict[str, RunView] = {}
        self.state, self.user_id, self.connections = "connecting", "", 0
        self.failure: Exception | None = None
        self._send_events, self._events = trio.open_memory_channel[dict[str, Any]](buffer)
        self._waiters: dict[str, _Waiter] = {}
        self._open, self._closed = trio.Event(), trio.Event()
        self._ws: WebSocketConnection | None = None
        self._token, self._refusals = "", 0

    @property
    def gaps(self) -> list[dict[str, Any]]:
        """Every ``replay_gap`` the server sent: events it no longer held."""
        return self.cursor.gaps

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Each of the user's events once, in seq order (and ``replay_gap`` frames),
        across reconnects; ends when the client closes (raising why, if it failed)."""
        async for event in self._events:
            yield event
        if self.failure is not None:
            raise self.failure

    async def send(
        self,
        text: str,
        *,
        agent_type: str | None = None,
        thread_id: str | None = None,
        message_id: str | None = None,
    ) -> Accepted:
        """Start a run; wait for its ``run_accepted`` (sent again after any drop).

        Raises :class:`ClientError` when refused (``rate_limited``, ...),
        :class:`ClientClosed` if the client stops first, ``ValueError`` when too big.
        """
        frame = _user_message(text, agent_type, thread_id, message_id or uuid.uuid4().hex)
        self._check_size(frame)
        waiter = self._waiters.setdefault(frame["message_id"], _Waiter())
        self.outbox.add(frame)
        if self._ws is not None:
            await self._try_send(self._ws, frame)
        await waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.accepted is not None
        return waiter.accepted

    def _check_size(self, frame: Mapping[str, Any]) -> None:
        if len(json.dumps(frame).encode()) > self.max_frame_bytes:
            raise ValueError(f"the message is over the {self.max_frame_bytes} byte frame limit")

    async def stop(self, run_id: str) -> None:
        """Ask the server to stop ``run_id`` (sent once connected)."""
        await self._send_when_open({"type": "stop_agent", "run_id": run_id})

    async def approve(self, approval_id: str, approved: bool, note: str | None = None) -> None:
        """Answer an ``approval_requested`` (contract v1.3; sent once connected)."""
        frame: dict[str, Any] = {"type": "approve", "approval_id": approval_id}
        frame["approved"] = approved
        if note is not None:
            frame["note"] = note
        await self._send_when_open(frame)

    async def wait_open(self) -> None:
        """Wait until a connection is open (raises :class:`ClientClosed` if it stops)."""
        while not self._open.is_set():
            self._check_alive()
            await _first_of(self._open, self._closed)
        self._check_alive()

    def close(self, failure: Exception | None = None) -> None:
        """Stop: no more reconnects; waiters and the event iterator end (idempotent)."""
        if self._closed.is_set():
            return
        self.failure, self.state = failure, "closed"
        self._closed.set()
        self._send_events.close()
        for waiter in self._waiters.values():
            waiter.error = waiter.error or failure or ClientClosed("the client was closed")
            waiter.done.set()

    def _check_alive(self) -> None:
        if self._closed.is_set():
            raise self.failure or ClientClosed("the client was closed")

    async def _send_when_open(self, frame: dict[str, Any]) -> None:
        while True:
            await self.wait_open()
            ws = self._ws
            if ws is not None and await self._try_send(ws, frame):
                return

    async def _try_send(self, ws: WebSocketConnection, frame: Mapping[str, Any]) -> bool:
        try:
            await ws.send_message(json.dumps(frame))
        except ConnectionClosed:
            return False  # the reader sees the drop and reconnects
        return True

    async def serve(self) -> None:
        """Connect, read, reconnect after each drop until closed (the client's task)."""
        attempt = 0
        while not self._closed.is_set():
            opened_before = self.connections
            try:
                await self._connection()
            except* (HandshakeError, OSError, ConnectionClosed) as group:
                self._on_drop(_first_leaf(group))
            if self._closed.is_set():
                return
            attempt = 0 if self.connections > opened_before else attempt + 1
            self.state = "reconnecting"
            await trio.sleep(self.backoff.delay(attempt, self.rng))

    def _on_drop(self, exc: Exception) -> None:
        """Close for good on a refusal or close the contract calls final."""
        fixed = isinstance(self._token_source, str)
        if isinstance(exc, ConnectionRejected) and exc.status_code in REFUSALS:
            if fixed or exc.status_code != 401 or self._token_refused_twice():
                self.close(ClientClosed(f"the server refused the connection: {exc.status_code}"))
        elif isinstance(exc, ConnectionClosed) and exc.reason is not None:
            code = exc.reason.code
            if code in FINAL_CLOSES and (fixed or code == 1009):
                self.close(ClientClosed(f"the server closed the connection: {code}"))

    def _token_refused_twice(self) -> bool:
        self._refusals += 1
        return self._refusals >= 2

    async def _connection(self) -> None:
        self._token = await _resolve(self._token_source)
        url = with_query(self.url, {"token": self._token, **self.cursor.resume_query()})
        async with open_websocket_url(
            url,
            max_message_size=1 << 22,
            connect_timeout=self.connect_timeout,
            disconnect_timeout=1.0,
        ) as ws:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._acks, ws)
                    nursery.start_soon(self._renewals, ws)
                    await self._read(ws)
                    nursery.cancel_scope.cancel()
            finally:
                self._ws = None
                if self._open.is_set():  # an unset one is still awaited: keep it
                    self._open = trio.Event()

    async def _read(self, ws: WebSocketConnection) -> None:
        while True:
            message = await ws.get_message()
            text = message if isinstance(message, str) else message.decode()
            for line in text.split("\n"):
                if line:
                    await self._dispatch(ws, json.loads(line))

    async def _dispatch(self, ws: WebSocketConnection, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if "seq" in frame:
            await self._event(frame)
        elif kind == "connected":
            await self._connected(ws, frame)
        elif kind == "run_accepted":
            self._answer(str(frame.get("message_id")), accepted=accepted_of(frame))
        elif kind == "error" and isinstance(frame.get("ref"), str):
            error = ClientError(str(frame.get("code")), str(frame.get("message")))
            self._answer(frame["ref"], error=error)
        elif kind == "replay_gap":
            self.cursor.gap(frame)
            await self._send_events.send(frame)

    async def _event(self, event: dict[str, Any]) -> None:
        if self.cursor.take(event):
            self.runs = fold_runs(self.runs, [event])
            await self._send_events.send(event)

    async def _connected(self, ws: WebSocketConnection, frame: dict[str, Any]) -> None:
        self.cursor.connected(frame)
        self.user_id, self.state = str(frame.get("user_id")), "open"
        self.connections += 1
        self._refusals = 0
        for pending in self.outbox.to_resend():
            await self._try_send(ws, pending)
        self._ws = ws
        self._open.set()

    def _answer(
        self, ref: str, accepted: Accepted | None = None, error: Exception | None = None
    ) -> None:
        if self.outbox.answered(ref) is None and ref not in self._waiters:
            return  # a stop's or another tab's answer, or a copy of one already taken
        waiter = self._waiters.pop(ref, None)
        if waiter is not None:
            waiter.accepted, waiter.error = accepted, error
            waiter.done.set()

    async def _acks(self, ws: WebSocketConnection) -> None:
        while True:
            await trio.sleep(self.ack_interval)
            seq = self.cursor.ack_due()
            if seq is not None and await self._try_send(ws, {"type": "ack", "seq": seq}):
                self.cursor.acked_to(seq)

    async def _renewals(self, ws: WebSocketConnection) -> None:
        """Send a fresh token with the ``auth`` frame before this one's ``exp``."""
        if isinstance(self._token_source, str):
            return
        while (expires := token_expiry(self._token)) is not None:
            margin = min(60.0, max(1.0, (expires - time.time()) * 0.2))
            await trio.sleep(max(0.0, expires - margin - time.time()))
            self._token = await _resolve(self._token_source)
            if not await self._try_send(ws, {"type": "auth", "token": self._token}):
                return


def _user_message(
    text: str, agent_type: str | None, thread_id: str | None, message_id: str
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "user_message", "message_id": message_id, "text": text}
    if agent_type is not None:
        frame["agent_type"] = agent_type
    if thread_id is not None:
        frame["thread_id"] = thread_id
    return frame


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _resolve(source: TokenSource) -> str:
    return source if isinstance(source, str) else await source()


async def _first_of(*events: trio.Event) -> None:
    """Return as soon as one of ``events`` is set."""
    async with trio.open_nursery() as nursery:
        for event in events:
            nursery.start_soon(_set_then_cancel, event, nursery.cancel_scope)


async def _set_then_cancel(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


@asynccontextmanager
async def open_client(url: str, *, token: TokenSource, **options: Any) -> AsyncIterator[WsaoClient]:
    """A :class:`WsaoClient` for ``url`` (``ws://host/ws``), connected before it is
    given; closed, with its task, when the block ends. ``options`` go to the client.

    Raises :class:`ClientClosed` if the first connection is refused for good; an
    exception of the block comes out as itself (not in an exception group).
    """
    client = WsaoClient(url, token, **options)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.serve)
            try:
                await client.wait_open()
                yield client
            finally:
                client.close()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise _sole(group) from None


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception of a group of one (unwrapped), else the group itself."""
    if len(group.exceptions) == 1:
        only = group.exceptions[0]
        return _sole(only) if isinstance(only, BaseExceptionGroup) else only
    return group
