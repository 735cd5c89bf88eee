"""The attacks of ``python -m stress attack``: what each sends, and what came back.

Every attack is bounded by a count and by ``duration`` seconds, targets a loopback
server the harness started, and returns its own figures (the command adds the
bystander's latency and the server's RSS around it):

- ``slowloris``: many TCP connections each sending an HTTP request's headers a line
  every two seconds, never finishing: how many the server closed, and how soon;
- ``bomb``: permessage-deflate bombs, without a valid token (HTTP 401 expected) and
  with one (compression is never agreed, so the compressed frame is a protocol error:
  close 1002 expected);
- ``agent``: the ``assistant`` fed ``"1" * 60000`` (it once backtracked for two
  minutes), as many runs as one user may have, over and over;
- ``flood``: one user over its connection cap, then many users over the global cap
  (HTTP 503 expected past each).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
import trio

from stress.holders import Held, open_many
from stress.rawws import close_code, frame, handshake, read_until_closed
from stress.spec import Target
from stress.tokens import mint

TRICKLE_EVERY = 2.0
OPEN_CONCURRENCY = 128
PATHOLOGICAL = "1" * 60000


@attrs.frozen
class AttackContext:
    """What an attack needs: the target, the server's secret, its time and scale."""

    target: Target
    secret: str
    duration: float
    scale: int

    def token(self, user_id: str) -> str:
        """A valid token of ``user_id``."""
        return mint(self.secret, user_id)


Attack = Callable[[AttackContext], Awaitable[dict[str, Any]]]


def _tally(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


# --- slowloris --------------------------------------------------------------------


async def _loris(
    ctx: AttackContext, index: int, out: dict[str, Any], limiter: trio.CapacityLimiter
) -> None:
    """One half-open request: headers trickle in until the server closes it."""
    try:
        async with limiter:  # connect in waves; each socket stays open after
            stream = await trio.open_tcp_stream(ctx.target.host, ctx.target.port)
    except OSError:
        _tally(out["outcomes"], "connect failed")
        return
    out["connected"] += 1
    opened = time.perf_counter()
    async with stream:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await _trickle(stream, ctx.target.host, index)
    out["closed_after_s"].append(time.perf_counter() - opened)
    _tally(out["outcomes"], "closed by server")


async def _trickle(stream: trio.SocketStream, host: str, index: int) -> None:
    """Send a request's first lines, then a header every TRICKLE_EVERY s until EOF."""
    head = f"GET /ws?token=x HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
    await stream.send_all(head.encode())
    while True:
        with trio.move_on_after(TRICKLE_EVERY):
            if await stream.receive_some(4096) == b"":
                return
        await stream.send_all(f"X-Slow-{index}: 1\r\n".encode())


async def slowloris(ctx: AttackContext) -> dict[str, Any]:
    """``scale`` half-open requests held for ``duration`` seconds at most."""
    out: dict[str, Any] = {"sockets": ctx.scale, "connected": 0, "outcomes": {}}
    out["closed_after_s"] = []
    limiter = trio.CapacityLimiter(OPEN_CONCURRENCY)
    with trio.move_on_after(ctx.duration):
        async with trio.open_nursery() as nursery:
            for index in range(ctx.scale):
                nursery.start_soon(_loris, ctx, index, out, limiter)
    closed = sorted(out.pop("closed_after_s"))
    out["still_open_at_end"] = out["connected"] - len(closed)
    out["closed_after_s_median"] = round(closed[len(closed) // 2], 2) if closed else None
    out["closed_after_s_max"] = round(closed[-1], 2) if closed else None
    return out


# --- compression bomb ---------------------------------------------------------------


def deflate_bomb(inflated: int = 32 * 1024 * 1024) -> bytes:
    """A raw-deflate message that inflates to ``inflated`` zero bytes (~32 KB on the wire)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = deflate.compress(b"\0" * inflated) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # permessage-deflate drops the 00 00 ff ff tail


OFFER = "permessage-deflate; client_max_window_bits"


async def _one_bomb(ctx: AttackContext, token: str, bomb: bytes) -> str:
    """Send one bomb with ``token``; what the server answered."""
    http = ctx.target.http
    stream, response = await handshake(http, token, OFFER)
    async with stream:
        status = response.split(b" ", 2)[1].decode() if response else "none"
        if status != "101":
            return f"http {status}"
        if b"sec-websocket-extensions" in response.lower():
            return "compression negotiated"
        await stream.send_all(frame(bomb, rsv1=True))
        return f"close {close_code(await read_until_closed(stream))}"


async def bomb(ctx: AttackContext) -> dict[str, Any]:
    """``scale`` bombs, alternately without and with a valid token."""
    payload = deflate_bomb()
    answers: dict[str, dict[str, int]] = {"bad token": {}, "valid token": {}}
    sent = 0
    with trio.move_on_after(ctx.duration):
        for index in range(ctx.scale):
            valid = index % 2 == 1
            token = ctx.token(f"mallory-{index}") if valid else "not-a-jwt"
            answer = await _one_bomb(ctx, token, payload)
            _tally(answers["valid token" if valid else "bad token"], answer)
            sent += 1
    return {"bombs": sent, "wire_kb_each": round(len(payload) / 1000, 1), "answers": answers}


# --- pathological agent input ---------------------------------------------------------


async def _feed_assistant(ws: Any, out: dict[str, Any], batch: int) -> None:
    """Send ``batch`` pathological messages; wait for each one's answer or end."""
    pending: set[str] = set()
    for _ in range(batch):
        message_id = uuid.uuid4().hex
        pending.add(message_id)
        await ws.send_message(json.dumps(_message(message_id)))
        out["sent"] += 1
    runs: dict[str, str] = {}
    while pending:
        for line in (await ws.get_message()).split("\n"):
            obj = json.loads(line)
            if obj["type"] == "run_accepted":
                runs[obj["run_id"]] = obj["message_id"]
            elif obj["type"] == "error":
                _tally(out["answers"], f"error {obj['code']}")
                pending.discard(obj.get("ref"))
            elif obj["type"] in ("agent_completed", "agent_error") and obj["run_id"] in runs:
                _tally(out["answers"], obj["type"])
                pending.discard(runs.pop(obj["run_id"]))


def _message(message_id: str) -> dict[str, Any]:
    return {"type": "user_message", "message_id": message_id, "text": PATHOLOGICAL}


async def agent(ctx: AttackContext) -> dict[str, Any]:
    """Batches of 20 pathological runs (one user's cap) until ``duration`` ends."""
    out: dict[str, Any] = {"sent": 0, "answers": {}, "text_chars": len(PATHOLOGICAL)}
    async with trio.open_nursery() as nursery:
        held = await open_many(nursery, ctx.target, [ctx.token("mallory")])
        with trio.move_on_after(ctx.duration):
            while held.connections:
                await _feed_assistant(held.connections[0], out, batch=20)
        await held.aclose()
        nursery.cancel_scope.cancel()
    return out


# --- connection flood -----------------------------------------------------------------


async def flood(ctx: AttackContext) -> dict[str, Any]:
    """One user opens 100 connections; then ``scale`` users open 20 each; hold them."""
    async with trio.open_nursery() as nursery:
        one_user = await open_many(nursery, ctx.target, [ctx.token("mallory")] * 100)
        tokens = [ctx.token(f"flood-{i}") for i in range(ctx.scale) for _ in range(20)]
        started = time.perf_counter()
        many = await open_many(nursery, ctx.target, tokens, OPEN_CONCURRENCY)
        took = time.perf_counter() - started
        await trio.sleep(max(0.0, ctx.duration - took))
        figures = _flood_figures(one_user, many, took)
        for held in (one_user, many):
            await held.aclose()
        nursery.cancel_scope.cancel()
    return figures


def _flood_figures(one_user: Held, many: Held, took: float) -> dict[str, Any]:
    return {
        "one_user": {"tried": 100, "held": len(one_user.connections), "refused": one_user.refused},
        "many_users": {
            "tried": len(many.connections) + sum(many.refused.values()),
            "held": len(many.connections),
            "refused": many.refused,
            "seconds_to_open": round(took, 2),
        },
    }


ATTACKS: Mapping[str, Attack] = MappingProxyType(
    {"slowloris": slowloris, "bomb": bomb, "agent": agent, "flood": flood}
)
