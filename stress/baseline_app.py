"""The raw-push baseline: the same hypercorn + quart-trio stack with no orchestrator.

``python -m stress.baseline_app --bind 127.0.0.1:PORT --secret S`` serves ``/health``
and ``/ws``. ``/ws`` checks the JWT like the real app, sends ``connected``, and on each
``user_message`` with a scripted profile answers ``run_accepted`` and pushes frames of
the same types, sizes, count and timing as the scripted agent — from pre-encoded
templates where only ``seq``, ids and ``timestamp`` are filled in — through one sender
task per connection that batches whatever is queued into one WebSocket frame, as the
real app does. There is no event log, dedup, run context, tool dispatch or fan-out:
``stress bench`` divides the app's figures by these to price the orchestrator.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
import uuid
from typing import Any

import attrs
import jwt
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart import websocket
from quart_trio import QuartTrio

from app.agents.scripted import schedule_thought
from app.server import tune_gc
from stress.scripted import Profile, parse_profile

BUFFER = 1024
BATCH_MAX = 64
HEAD = (
    '{"type":"%s","seq":%d,"event_id":"%s","run_id":"%s","thread_id":"%s",'
    '"agent_type":"scripted","timestamp":%.6f,"payload":'
)
THOUGHT = '{"thought":"scripted thought %d of %d"}'
TOOL_CALL = (
    '{"tool_call_id":"%s%08d","tool_name":"echo","arguments":{"index":%d,'
    '"text":"scripted call %d"}}'
)
TOOL_DONE = (
    '{"tool_call_id":"%s%08d","tool_name":"echo","ok":true,"result":{"index":%d,'
    '"text":"scripted call %d"},"duration_ms":0.012}'
)
DELTA = '{"delta":"chunk %d "}'
TOKEN = '{"delta":"t%d "}'
DONE = '{"result":{"thoughts":%d,"tools":%d,"deltas":%d},"duration_ms":%.3f}'
FAILED = '{"code":"agent_failed","message":"scripted failure"}'


@attrs.define(eq=False)
class Baseline:
    """Per-process state: the secret and each user's last seq."""

    secret: str
    seqs: dict[str, int] = attrs.field(factory=dict)


def user_from_token(secret: str, token: str | None) -> str | None:
    """The ``sub`` of a valid HS256 token, else None."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


class Pusher:
    """One connection: a bounded queue of encoded frames and the runs it pushes."""

    def __init__(self, state: Baseline, user_id: str) -> None:
        self.state = state
        self.user_id = user_id
        self.send, self.receive = trio.open_memory_channel[str](BUFFER)
        self.overflowed = trio.Event()

    def emit(self, kind: str, run: tuple[str, str], payload: str) -> None:
        """Queue one event with the user's next seq; a full queue marks overflow."""
        seq = self.state.seqs.get(self.user_id, 0) + 1
        self.state.seqs[self.user_id] = seq
        head = HEAD % (kind, seq, uuid.uuid4().hex, run[0], run[1], time.time())
        try:
            self.send.send_nowait(head + payload + "}")
        except trio.WouldBlock:
            self.overflowed.set()

    async def sender(self) -> None:
        """Send queued frames, batching whatever is waiting into one frame."""
        async for first in self.receive:
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self.receive.receive_nowait())
                except trio.WouldBlock:
                    break
            await websocket.send("\n".join(batch))

    async def run(self, run: tuple[str, str], message_id: str, text: str) -> None:
        """Push one scripted run as the scripted agent paces it (pause after each step)."""
        profile = _profile(text)
        started = time.monotonic()
        self.emit("agent_started", run, json.dumps({"message_id": message_id, "message": text}))
        for i in range(1, profile.thoughts + 1):
            self.emit("agent_thinking", run, THOUGHT % (i, profile.thoughts))
            await _pause(profile)
        for i in range(1, profile.tools + 1):
            self.emit("tool_executing", run, TOOL_CALL % (run[0][:24], i, i, i))
            self.emit("tool_completed", run, TOOL_DONE % (run[0][:24], i, i, i))
            await _pause(profile)
        for i in range(1, profile.deltas + 1):
            self.emit("agent_message_delta", run, DELTA % i)
            await _pause(profile)
        await self.tokens(run, profile)
        if profile.fail:
            self.emit("agent_error", run, FAILED)
            return
        counts = (profile.thoughts, profile.tools, profile.deltas)
        self.emit("agent_completed", run, DONE % (*counts, (time.monotonic() - started) * 1000))

    async def tokens(self, run: tuple[str, str], profile: Profile) -> None:
        """The scripted agent's token mode: the schedule thought, then one event per
        token on the same monotonic schedule (``start + i/rate``)."""
        if not profile.tokens:
            return
        start, origin = trio.current_time(), time.time()
        thought = json.dumps({"thought": schedule_thought(profile.tokens, profile.rate, origin)})
        self.emit("agent_thinking", run, thought)
        for i in range(profile.tokens):
            if profile.rate:
                await trio.sleep_until(start + i / profile.rate)
            self.emit("agent_message_delta", run, TOKEN % i)


async def _pause(profile: Profile) -> None:
    if profile.delay_ms:
        await trio.sleep(profile.delay_ms / 1000)


def _profile(text: str) -> Profile:
    try:
        return parse_profile(text)
    except ValueError:
        return Profile()


async def serve_socket(state: Baseline) -> None:
    """The baseline ``/ws``: auth, ``connected``, then runs pushed from templates."""
    user_id = user_from_token(state.secret, websocket.args.get("token"))
    await websocket.accept()
    if user_id is None:
        await websocket.close(4401)
        return
    pusher = Pusher(state, user_id)
    connected = {
        "type": "connected",
        "protocol": 1,
        "connection_id": uuid.uuid4().hex,
        "user_id": user_id,
        "epoch": "baseline",
        "last_seq": state.seqs.get(user_id, 0),
    }
    await websocket.send(json.dumps(connected))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pusher.sender)
        nursery.start_soon(_close_on_overflow, pusher, nursery.cancel_scope)
        await _receive_loop(pusher, nursery)
        nursery.cancel_scope.cancel()  # fmt: skip


async def _close_on_overflow(pusher: Pusher, scope: trio.CancelScope) -> None:
    await pusher.overflowed.wait()
    with trio.move_on_after(1):
        await websocket.close(4408)
    scope.cancel()


async def _receive_loop(pusher: Pusher, nursery: trio.Nursery) -> None:
    seen: dict[str, str] = {}
    while True:
        data = await websocket.receive()
        for line in str(data).split("\n"):
            try:
                obj: Any = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("type") == "user_message":
                _start(pusher, nursery, seen, obj)
            elif isinstance(obj, dict) and obj.get("type") == "ping":
                pusher.send.send_nowait(json.dumps({"type": "pong", "id": obj.get("id")}))


def _start(pusher: Pusher, nursery: trio.Nursery, seen: dict[str, str], obj: Any) -> None:
    message_id, text = str(obj.get("message_id")), str(obj.get("text"))
    duplicate = message_id in seen
    run = (seen.get(message_id) or uuid.uuid4().hex, uuid.uuid4().hex)
    seen[message_id] = run[0]
    accepted = {"type": "run_accepted", "message_id": message_id, "run_id": run[0],
                "thread_id": run[1], "duplicate": duplicate}  # fmt: skip
    pusher.send.send_nowait(json.dumps(accepted))
    if not duplicate:
        nursery.start_soon(pusher.run, run, message_id, text)


def create_app(secret: str) -> QuartTrio:
    """The baseline application (``/health`` and ``/ws``)."""
    app = QuartTrio("stress.baseline_app")
    state = Baseline(secret)

    @app.route("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "baseline": True, "users": len(state.seqs)}

    @app.websocket("/ws")
    async def ws() -> None:
        await serve_socket(state)

    return app


async def _until_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


def main(argv: list[str] | None = None) -> None:
    """Serve the baseline until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m stress.baseline_app")
    parser.add_argument("--bind", default="127.0.0.1:8001")
    parser.add_argument("--secret", required=True)
    args = parser.parse_args(argv)
    config = Config()
    config.bind = [args.bind]
    config.accesslog = None
    config.loglevel = "WARNING"
    # As app/hyperconfig.py: hypercorn's default backlog (100) overflows when a thousand
    # clients connect at once, and connections left in a full accept queue can stall
    # their handshakes for tens of seconds.
    config.backlog = 2048
    config.keep_alive_timeout = 30
    config.websocket_max_message_size = 64 * 1024
    tune_gc()  # the same collector settings as the app, so the ratio compares code paths
    trio.run(lambda: serve(create_app(args.secret), config, shutdown_trigger=_until_signal))


if __name__ == "__main__":
    main()
