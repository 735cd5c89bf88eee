"""One simulated user: its connection lineages, its runs, and what it checks.

A user holds ``duplicate_sends`` connection *lineages* (one normally); a lineage is a
connection plus every reconnect that resumes it with ``last_seq`` and ``epoch``. Each
lineage has its own :class:`~stress.checker.StreamChecker`; the user's
:class:`~stress.checker.UserLedger` is shared. The driver sends the user's runs (each
message id on every lineage) and waits for their terminal events on lineage 0.

Every frame is processed as it is read (split on ``\\n``), acks go out every
``ack_interval`` seconds, and every loop is bounded: sessions by count, waits by the
run timeout, the whole run by the load's duration limit.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from typing import Any

import attrs
import trio
import trio_websocket

from stress.checker import TERMINAL, Delivery, StreamChecker, UserLedger
from stress.connection import handshake, open_stream, resource
from stress.recorder import Pulse, Recorder
from stress.spec import LoadSpec, Target

HANDSHAKE_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0
RECONNECT_SLACK = 20
UNAUTHORIZED = 4401
CLOSED_LOOP_SPREAD = 1.0
WAKE_TYPES = TERMINAL | {"run_accepted", "error"}


@attrs.define(eq=False)
class Lineage:
    """One connection lineage of a user and its bookkeeping."""

    index: int
    checker: StreamChecker
    slow: bool = False
    ws: trio_websocket.WebSocketConnection | None = None
    unanswered: dict[str, str] = attrs.field(factory=dict)
    pause_until: float = 0.0
    connected_once: bool = False
    settled: bool = False
    done: bool = False
    dropped: bool = False
    fatal: bool = False
    sessions: int = 0


@attrs.define(eq=False)
class Shared:
    """What all users of one load share: spec, recorder, limiter, start signal."""

    spec: LoadSpec
    recorder: Recorder
    limiter: trio.CapacityLimiter
    go: trio.Event = attrs.field(factory=trio.Event)


class UserClient:
    """One user of the load: connects, drives its runs, checks what it receives."""

    def __init__(self, index: int, user_id: str, token: str, shared: Shared, slow: bool) -> None:
        spec = shared.spec
        self.index = index
        self.user_id = user_id
        self.token = token
        self.shared = shared
        self.spec = spec
        self.recorder = shared.recorder
        self.slow = slow
        self.profile = spec.slow_profile if slow and spec.slow_profile else spec.profile
        self.ledger = UserLedger(user_id)
        self.lineages = [
            Lineage(i, StreamChecker(self.ledger), slow=slow and i == 0)
            for i in range(spec.duplicate_sends)
        ]
        self.changed = Pulse()
        self.failed: set[str] = set()
        self.finished = False
        self.gave_up = False
        self.rng = random.Random(spec.seed * 1_000_003 + index)

    async def run(self) -> None:
        """Connect every lineage, wait for the start signal, drive, then close."""
        async with trio.open_nursery() as nursery:
            for lineage in self.lineages:
                nursery.start_soon(self._maintain, lineage)
            await self.shared.go.wait()
            await self._drive()
            self.finished = True
            self.changed.pulse()

    def message_id(self, number: int) -> str:
        """The idempotency key of this user's run ``number``."""
        return f"{self.user_id}-m{number}"

    # -- driving runs -------------------------------------------------------------

    async def _drive(self) -> None:
        spec = self.spec
        if self.slow:
            await self._drive_slow()
            return
        interval = spec.users / spec.rate if spec.rate else None
        start = trio.current_time() + self.rng.uniform(0, interval or CLOSED_LOOP_SPREAD)
        await trio.sleep_until(start)
        for number in range(spec.runs_per_user):
            if interval is not None:
                await trio.sleep_until(start + number * interval)
            await self._send(self.message_id(number))
            if interval is None:
                await self._wait_ended([self.message_id(number)], spec.run_timeout, final=False)
                await trio.sleep(spec.think_ms / 1000)
        await self._wait_ended(list(self.ledger.sent), self.spec.run_timeout)

    async def _drive_slow(self) -> None:
        for number in range(self.spec.runs_per_user):
            await self._send(self.message_id(number))
        pause = self.spec.slow_pause
        self.lineages[0].pause_until = trio.current_time() + pause
        await self._wait_ended(list(self.ledger.sent), self.spec.run_timeout + pause)

    def _ended(self, message_id: str) -> bool:
        return message_id in self.failed or self.lineages[0].checker.has_ended(message_id)

    async def _wait_ended(
        self, message_ids: list[str], timeout: float, *, final: bool = True
    ) -> None:
        with trio.move_on_after(timeout):
            while not all(self._ended(m) for m in message_ids):
                if all(lineage.fatal for lineage in self.lineages):
                    break
                await self.changed.wait()
        missing = sum(1 for m in message_ids if not self._ended(m))
        if missing and final:
            self.recorder.errors["run_timeout"] += missing
            self.gave_up = True

    async def _send(self, message_id: str) -> None:
        frame = json.dumps(
            {
                "type": "user_message",
                "message_id": message_id,
                "text": self.profile.text,
                "agent_type": "scripted",
            }
        )
        self.ledger.record_send(message_id)
        for lineage in self.lineages:
            lineage.unanswered[message_id] = frame
            await self._transmit(lineage, frame)

    async def _transmit(self, lineage: Lineage, frame: str) -> None:
        if lineage.ws is None:
            return
        try:
            await lineage.ws.send_message(frame)
        except trio_websocket.ConnectionClosed:
            return
        self.recorder.sent(time.time())

    # -- connection lineages ------------------------------------------------------

    def _complete(self, lineage: Lineage) -> bool:
        if not self.finished:
            return False
        if self.gave_up:
            return True
        checker = lineage.checker
        return all(m in self.failed or checker.has_ended(m) for m in self.ledger.sent)

    async def _maintain(self, lineage: Lineage) -> None:
        every = self.spec.disconnect_every
        sessions = RECONNECT_SLACK + (int(self.spec.duration_limit / every) if every else 0)
        for _ in range(sessions):
            lineage.dropped = False
            await self._session(lineage)
            if lineage.done or lineage.fatal or self._complete(lineage):
                self.changed.pulse()
                return
            await trio.sleep(self.rng.uniform(0.01, 0.1))
        self.recorder.errors["too_many_sessions"] += 1

    def _path(self, lineage: Lineage) -> str:
        checker = lineage.checker
        target = self._target(lineage)
        if not lineage.connected_once:
            return resource(target, self.token, None, None)
        return resource(target, self.token, checker.last_seq, checker.epoch)

    def _target(self, lineage: Lineage) -> Target:
        return self.spec.target_for(self.index + lineage.index, lineage.sessions)

    async def _session(self, lineage: Lineage) -> None:
        lineage.sessions += 1
        try:
            async with self.shared.limiter:
                stream = await open_stream(self._target(lineage), self._rcvbuf(lineage))
        except OSError:
            self._failed_session(lineage, "connect_failed")
            return
        code: int | None = None
        try:
            async with trio.open_nursery() as nursery:
                await self._converse(nursery, stream, lineage)
        except* trio_websocket.ConnectionClosed as group:
            code = close_code(group.exceptions)
        except* trio_websocket.ConnectionRejected as group:
            lineage.fatal = True
            status = getattr(group.exceptions[0], "status_code", "")
            self._failed_session(lineage, f"rejected_{status}")
        except* (trio_websocket.HandshakeError, trio.TooSlowError, OSError) as group:
            self._failed_session(lineage, type(group.exceptions[0]).__name__)
        finally:
            await self._end_session(lineage, stream, code)

    def _rcvbuf(self, lineage: Lineage) -> int | None:
        return self.spec.slow_rcvbuf if lineage.slow else None

    def _failed_session(self, lineage: Lineage, why: str) -> None:
        self.recorder.errors[why] += 1
        if not lineage.settled:
            lineage.settled = True
            self.recorder.connect_failures += 1

    async def _end_session(
        self, lineage: Lineage, stream: trio.SocketStream, code: int | None
    ) -> None:
        lineage.fatal = lineage.fatal or code == UNAUTHORIZED
        if lineage.ws is not None:
            lineage.ws = None
            self.recorder.closed(code)
        elif code is not None:
            self._failed_session(lineage, f"closed_before_connected_{code}")
        await trio.aclose_forcefully(stream)

    async def _converse(
        self, nursery: trio.Nursery, stream: trio.SocketStream, lineage: Lineage
    ) -> None:
        async with self.shared.limiter:
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                ws = await handshake(nursery, stream, self._target(lineage), self._path(lineage))
                first = await ws.get_message()
        before = lineage.checker.connections
        self._on_message(lineage, first)
        if lineage.checker.connections == before:
            lineage.checker.violations.add("connected_not_first", repr(first)[:200])
        self._opened(lineage, ws)
        for frame in list(lineage.unanswered.values()):
            await self._transmit(lineage, frame)
        with trio.CancelScope() as scope:
            nursery.start_soon(self._watch, lineage, scope)
            if self.spec.disconnect_every:
                nursery.start_soon(self._drop_later, lineage, scope, self.spec.disconnect_every)
            await self._read_loop(ws, lineage)
        await self._leave(ws, lineage, nursery)

    def _opened(self, lineage: Lineage, ws: trio_websocket.WebSocketConnection) -> None:
        lineage.ws = ws
        self.recorder.opened()
        if not lineage.connected_once:
            lineage.connected_once = True
            self.recorder.connected += 1
            lineage.settled = True

    async def _leave(
        self, ws: trio_websocket.WebSocketConnection, lineage: Lineage, nursery: trio.Nursery
    ) -> None:
        if lineage.dropped:
            self.recorder.drops += 1
        else:
            with trio.move_on_after(CLOSE_TIMEOUT):
                await ws.aclose()
        nursery.cancel_scope.cancel()

    async def _watch(self, lineage: Lineage, scope: trio.CancelScope) -> None:
        while not self._complete(lineage):
            await self.changed.wait()
        lineage.done = True
        scope.cancel()

    async def _drop_later(self, lineage: Lineage, scope: trio.CancelScope, every: float) -> None:
        await trio.sleep(self.rng.uniform(0.5, 1.5) * every)
        lineage.dropped = True
        scope.cancel()

    async def _read_loop(self, ws: trio_websocket.WebSocketConnection, lineage: Lineage) -> None:
        checker = lineage.checker
        acked = checker.last_seq
        next_ack = trio.current_time() + self.spec.ack_interval
        while True:
            if lineage.pause_until > trio.current_time():
                await trio.sleep_until(lineage.pause_until)
            self._on_message(lineage, await ws.get_message())
            now = trio.current_time()
            if now >= next_ack and checker.last_seq > acked:
                acked = checker.last_seq
                next_ack = now + self.spec.ack_interval
                await ws.send_message(json.dumps({"type": "ack", "seq": acked}))
                self.recorder.acks_sent += 1

    def _on_message(self, lineage: Lineage, message: str | bytes) -> None:
        now = time.time()
        self.recorder.frames_received += 1
        text = message.decode() if isinstance(message, bytes) else message
        wake = False
        for line in text.split("\n"):
            if line:
                wake = self._on_object(lineage, _loads(line, lineage), now) or wake
        if wake:
            self.changed.pulse()

    def _on_object(self, lineage: Lineage, obj: dict[str, Any], now: float) -> bool:
        delivery = lineage.checker.on_frame(obj)
        if delivery is Delivery.LIVE:
            stamp = obj.get("timestamp")
            latency = (now - stamp) * 1000 if isinstance(stamp, int | float) else None
            self.recorder.event(now, latency, slow=lineage.slow)
        elif delivery is Delivery.REPLAY:
            self.recorder.event(now, None, slow=lineage.slow)
        kind = obj.get("type")
        if kind not in WAKE_TYPES:
            return False
        ref = obj.get("message_id") if kind == "run_accepted" else obj.get("ref")
        if isinstance(ref, str):
            answered = lineage.unanswered.pop(ref, "")
            if answered and kind == "error":
                self.failed.add(ref)
        return True


def close_code(excs: Iterable[BaseException]) -> int | None:
    """The close code carried by the first ``ConnectionClosed`` among ``excs``."""
    for exc in excs:
        reason = getattr(exc, "reason", None)
        if reason is not None:
            return int(reason.code)
    return None


def _loads(line: str, lineage: Lineage) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        lineage.checker.violations.add("bad_json", line[:200])
        return {}
    return obj
