"""The ``/ws`` route: every check before the upgrade, then the orchestrator serves it.

Refusals happen on the HTTP request, before ``websocket.accept()``: a bad ``last_seq``
(400), a foreign ``Origin`` (403), a missing or bad token (401), no capacity (503).
An unauthenticated client never gets a WebSocket, so it can never make the server
inflate, buffer or parse anything.
"""

from __future__ import annotations

from typing import Any

from quart import Response, websocket
from quart_trio import QuartTrio

from app.gate import Refusal, authenticate, origin_allowed
from app.state import AppState
from app.transport import QuartTransport
from wsao_trio.auth import Claims, verify_claims
from wsao_trio.credentials import Credentials
from wsao_trio.errors import AuthError
from wsao_trio.protocol import MAX_ID_LENGTH, MAX_INT_DIGITS


def resume_args(args: Any) -> tuple[int | None, str | None]:
    """``last_seq`` and ``epoch`` from the query; ValueError naming what is wrong."""
    raw = args.get("last_seq")
    if raw is None or raw == "":
        return None, None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_INT_DIGITS:
        raise ValueError("last_seq must be a non-negative integer of ASCII digits")
    epoch = args.get("epoch") or None
    if epoch is not None and len(epoch) > MAX_ID_LENGTH:
        raise ValueError(f"epoch must be at most {MAX_ID_LENGTH} characters")
    return int(raw), epoch


def _handshake_refusal(state: AppState) -> Refusal | Claims:
    settings = state.settings
    if not origin_allowed(websocket.headers.get("Origin"), websocket.headers.get("Host"), settings):
        return Refusal(403, "origin not allowed")
    authorization = websocket.headers.get("Authorization", "")
    claims = authenticate(state.secret, websocket.args, authorization, settings)
    if isinstance(claims, Refusal):
        return claims
    busy = state.require_orchestrator().capacity_refusal(claims.user_id)
    return Refusal(503, f"try again later: {busy}") if busy else claims


def credentials_for(state: AppState, claims: Claims) -> Credentials:
    """The connection's credentials: its token's expiry, renewable by the same user."""

    def refresh(token: str) -> float:
        fresh = verify_claims(
            state.secret or "", token, max_lifetime=state.settings.max_token_lifetime
        )
        if fresh.user_id != claims.user_id:
            raise AuthError("the token is for another user")
        return fresh.expires_at

    return Credentials(claims.expires_at, refresh)


def add_websocket_route(app: QuartTrio, state: AppState) -> None:
    """Register ``/ws``."""

    @app.websocket("/ws")
    async def ws() -> Any:
        try:
            last_seq, epoch = resume_args(websocket.args)
        except ValueError as exc:
            return Response(str(exc), status=400)
        checked = _handshake_refusal(state)
        if isinstance(checked, Refusal):
            return Response(checked.message, status=checked.status)
        await websocket.accept()
        orch = state.require_orchestrator()
        transport = QuartTransport(websocket)
        credentials = credentials_for(state, checked)
        await orch.serve_connection(
            transport, checked.user_id, last_seq, epoch, credentials=credentials
        )
        return None
