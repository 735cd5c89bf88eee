"""The trio shell of ``stress tokens``: R users x T tabs, one paced token run per user.

Every tab is one WebSocket (users' tabs spread over the given processes: tab ``j`` of
user ``u`` on process ``(u + j) % P``). All tabs connect first; then each user, at a
random offset within ``spread`` s, sends its one ``user_message`` on every tab with the
same ``message_id`` (the orchestrator starts one run and fans it out to every tab; the
raw-push baseline, which has no fan-out, pushes one stream per tab). Each tab reads
until its run's terminal event, acking every second, and feeds the sans-IO
:mod:`stress.tokencheck` core; the whole load is bounded by the stream's duration plus
``slack``. The WebSocket is spoken by hand (:mod:`stress.rawws` for the handshake and
the client's masked frames, :mod:`stress.wsframes` for the server's): one
``receive_some`` takes every frame that arrived, so the load generator, which shares
the machine with the server, costs a few microseconds per token rather than a
library's task switches per message.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from typing import Any

import attrs
import trio

from stress.load import quiet_gc, raise_fd_limit
from stress.rawws import frame as client_frame
from stress.rawws import handshake as raw_handshake
from stress.spec import Target
from stress.tokencheck import Schedule, TokenAssembler, parse_schedule
from stress.tokens import mint
from stress.wsframes import OP_CLOSE, OP_TEXT, FrameError, FrameReader
from wsao_trio.protocol import TERMINAL_EVENTS

FD_HEADROOM = 256
ACK_INTERVAL = 1.0
HANDSHAKE_TIMEOUT = 30.0
RECEIVE = 65536


@attrs.frozen(kw_only=True)
class TokenSpec:
    """One token load: ``users`` x ``tabs`` over ``targets``, ``rate`` tokens/s for
    ``duration`` s per user's run."""

    targets: tuple[Target, ...]
    users: int = attrs.field(validator=attrs.validators.ge(1))
    tabs: int = attrs.field(validator=[attrs.validators.ge(1), attrs.validators.le(20)])
    rate: int = attrs.field(validator=[attrs.validators.ge(1), attrs.validators.le(1000)])
    duration: float = attrs.field(validator=attrs.validators.gt(0))
    secret: str
    spread: float = 1.0
    slack: float = 30.0
    connect_concurrency: int = 64
    seed: int = 1

    @property
    def tokens(self) -> int:
        """Tokens per run: ``rate x duration``, at least 1."""
        return max(1, round(self.rate * self.duration))

    @property
    def text(self) -> str:
        """The scripted agent's script of every run."""
        return f"thoughts=0 tools=0 tokens={self.tokens} rate={self.rate}"


@attrs.define(eq=False)
class Tab:
    """One connection of one user and what it received."""

    user_id: str
    target: Target
    assembler: TokenAssembler = attrs.field(factory=TokenAssembler)
    schedule: Schedule | None = None
    event_latencies: list[float] = attrs.field(factory=list)
    terminal: str | None = None
    ended_at: float | None = None
    error: str | None = None
    connected: trio.Event = attrs.field(factory=trio.Event)
    last_seq: int = 0

    def on_line(self, obj: dict[str, Any], now: float) -> None:
        """One event of the tab's stream."""
        kind, payload = obj.get("type"), obj.get("payload") or {}
        self.last_seq = max(self.last_seq, int(obj.get("seq") or 0))
        if kind == "agent_message_delta":
            self.assembler.feed(str(payload.get("delta", "")), now)
            stamp = obj.get("timestamp")
            if isinstance(stamp, int | float):
                self.event_latencies.append((now - stamp) * 1000)
        elif kind == "agent_thinking" and self.schedule is None:
            self.schedule = parse_schedule(str(payload.get("thought", "")))
        elif kind in TERMINAL_EVENTS:
            self.terminal, self.ended_at = str(kind), now
        elif kind == "error":
            self.error = str(payload.get("code") or obj.get("code") or "error")


@attrs.define
class TokenOutcome:
    """Every tab of one token load, and when the load started and ended (wall clock)."""

    spec: TokenSpec
    tabs: list[Tab]
    go_at: float
    ended_at: float
    connect_failures: int
    timed_out: bool


def make_tabs(spec: TokenSpec, tag: str) -> list[list[Tab]]:
    """Each user's tabs, spread over the processes."""
    count = len(spec.targets)
    return [
        [Tab(f"tokens-{tag}-{u:05d}", spec.targets[(u + j) % count]) for j in range(spec.tabs)]
        for u in range(spec.users)
    ]


async def run_token_load(spec: TokenSpec) -> TokenOutcome:
    """Run one token load to its end (or its bound) and return every tab."""
    raise_fd_limit(spec.users * spec.tabs + FD_HEADROOM)
    users = make_tabs(spec, secrets.token_hex(3))
    limiter = trio.CapacityLimiter(spec.connect_concurrency)
    go, failures = trio.Event(), [0]
    marks = {"go": time.time()}
    bound = spec.duration + spec.spread + spec.slack + spec.users * spec.tabs * 0.05
    with quiet_gc(), trio.move_on_after(bound) as scope:
        async with trio.open_nursery() as nursery:
            for index, tabs in enumerate(users):
                nursery.start_soon(_user, spec, index, tabs, limiter, go, failures)
            await _all_connected([t for tabs in users for t in tabs], bound)
            marks["go"] = time.time()
            go.set()
    tabs = [t for group in users for t in group]
    for tab in tabs:
        tab.assembler.finish()
    return TokenOutcome(spec, tabs, marks["go"], time.time(), failures[0], scope.cancelled_caught)


async def _all_connected(tabs: list[Tab], timeout: float) -> None:
    with trio.move_on_after(timeout):
        for tab in tabs:
            await tab.connected.wait()


async def _user(
    spec: TokenSpec, index: int, tabs: list[Tab], limiter: trio.CapacityLimiter,
    go: trio.Event, failures: list[int],
) -> None:  # fmt: skip
    token = mint(spec.secret, tabs[0].user_id)
    delay = random.Random(spec.seed * 1_000_003 + index).uniform(0, spec.spread)
    frame = json.dumps({"type": "user_message", "message_id": f"{tabs[0].user_id}-m0",
                        "text": spec.text, "agent_type": "scripted"})  # fmt: skip
    async with trio.open_nursery() as nursery:
        for tab in tabs:
            nursery.start_soon(_tab, tab, token, limiter, go, delay, frame, failures)


async def _tab(
    tab: Tab, token: str, limiter: trio.CapacityLimiter, go: trio.Event, delay: float,
    frame: str, failures: list[int],
) -> None:  # fmt: skip
    stream: trio.SocketStream | None = None
    try:
        async with limiter:
            stream, reader = await _open(tab, token)
        tab.connected.set()
        await go.wait()
        await trio.sleep(delay)
        await stream.send_all(client_frame(frame.encode()))
        await _read(stream, reader, tab)
    except (OSError, trio.TooSlowError, trio.BrokenResourceError, FrameError, ValueError) as exc:
        tab.error = tab.error or type(exc).__name__
        failures[0] += 0 if tab.connected.is_set() else 1
        tab.connected.set()
    finally:
        if stream is not None:
            await trio.aclose_forcefully(stream)


async def _open(tab: Tab, token: str) -> tuple[trio.SocketStream, FrameReader]:
    """The handshake by hand, and the ``connected`` frame read."""
    with trio.fail_after(HANDSHAKE_TIMEOUT):
        stream, response = await raw_handshake(tab.target.http, token)
        head, _, rest = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            await trio.aclose_forcefully(stream)
            raise ValueError(f"handshake refused: {head[:60]!r}")
        reader = FrameReader()
        messages = reader.feed(rest)
        while not messages:
            data = await stream.receive_some(RECEIVE)
            if not data:
                raise trio.BrokenResourceError("closed before connected")
            messages = reader.feed(data)
    return stream, reader


async def _read(stream: trio.SocketStream, reader: FrameReader, tab: Tab) -> None:
    next_ack, acked = trio.current_time() + ACK_INTERVAL, 0
    while tab.terminal is None and tab.error is None:
        data = await stream.receive_some(RECEIVE)
        if not data:
            raise trio.BrokenResourceError("server closed the connection")
        _on_data(tab, reader.feed(data), time.time())
        if trio.current_time() >= next_ack and tab.last_seq > acked:
            acked, next_ack = tab.last_seq, trio.current_time() + ACK_INTERVAL
            ack = json.dumps({"type": "ack", "seq": acked}).encode()
            await stream.send_all(client_frame(ack))


def _on_data(tab: Tab, messages: list[tuple[int, bytes]], now: float) -> None:
    for opcode, payload in messages:
        if opcode == OP_TEXT:
            for line in payload.split(b"\n"):
                if line:
                    tab.on_line(json.loads(line), now)
        elif opcode == OP_CLOSE:
            tab.error = f"closed_{int.from_bytes(payload[:2], 'big') if payload else 1005}"
