"""Tokens for the harness's users: minted with the server's secret, or dev tokens."""

from __future__ import annotations

import json
import time

import jwt
import trio

from stress.http_client import request

TOKEN_TTL = 6 * 3600.0


def mint(secret: str, user_id: str, ttl: float = TOKEN_TTL) -> str:
    """An HS256 JWT with ``sub`` = ``user_id`` and ``exp``, as the contract requires."""
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + int(ttl)}, secret, "HS256")


async def dev_token(host: str, port: int, user_id: str) -> str:
    """Ask ``POST /api/dev/token`` (dev auth must be on) for ``user_id``'s token."""
    status, body = await request(host, port, "POST", "/api/dev/token", {"user_id": user_id})
    if status != 200:
        raise RuntimeError(f"/api/dev/token answered {status}: {body[:200]!r}")
    token = json.loads(body).get("token")
    if not isinstance(token, str):
        raise RuntimeError(f"/api/dev/token gave no token: {body[:200]!r}")
    return token


async def tokens_for(
    host: str, port: int, user_ids: list[str], secret: str | None, parallel: int = 16
) -> dict[str, str]:
    """Tokens for every user: minted when ``secret`` is known, else dev tokens."""
    if secret is not None:
        return {u: mint(secret, u) for u in user_ids}
    out: dict[str, str] = {}
    limiter = trio.CapacityLimiter(parallel)

    async def one(user_id: str) -> None:
        async with limiter:
            out[user_id] = await dev_token(host, port, user_id)

    async with trio.open_nursery() as nursery:
        for user_id in user_ids:
            nursery.start_soon(one, user_id)
    return out
