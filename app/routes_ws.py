"""The ``/ws`` endpoint: every check before the upgrade, then the orchestrator serves it.

Refusals happen on the HTTP request, before ``websocket.accept``: a bad ``last_seq``
(400), a foreign ``Origin`` (403), a missing or bad token (401), no capacity (503).
An unauthenticated client never gets a WebSocket, so it can never make the server
inflate, buffer or parse anything.

The endpoint is plain ASGI in front of Quart (:func:`add_websocket_route` wraps the
app's ``asgi_app``, Quart's documented place for middleware): Quart's WebSocket
wrapper would add two tasks, a queue and a request context to every connection,
about a fifth of an idle connection's memory (docs/performance.md). Every other
path, WebSocket or HTTP, is Quart's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from quart_trio import QuartTrio

from app.gate import Refusal, authenticate, origin_allowed
from app.state import AppState
from app.transport import AsgiTransport, refuse
from wsao_trio import Credentials
from wsao_trio.auth import Claims, verify_claims
from wsao_trio.errors import AuthError
from wsao_trio.protocol import CLOSE_NORMAL, MAX_ID_LENGTH, MAX_INT_DIGITS

WS_PATH = "/ws"
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def resume_args(args: Mapping[str, str]) -> tuple[int | None, str | None]:
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


def query_args(scope: Scope) -> dict[str, str]:
    """The query string's parameters; the first of a repeated name wins (as in Quart)."""
    args: dict[str, str] = {}
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        args.setdefault(name, value)
    return args


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; the first of a repeated header wins."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def handshake_refusal(
    state: AppState, args: Mapping[str, str], headers: Mapping[str, str]
) -> Refusal | Claims:
    """The first check the handshake fails (403, 401, 503), or the token's claims."""
    settings = state.settings
    if not origin_allowed(headers.get("origin"), headers.get("host"), settings):
        return Refusal(403, "origin not allowed")
    claims = authenticate(state.secret, args, headers.get("authorization", ""), settings)
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


async def serve_websocket(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    """One ``/ws`` connection, from ``websocket.connect`` to its close."""
    await receive()  # websocket.connect
    args = query_args(scope)
    try:
        last_seq, epoch = resume_args(args)
    except ValueError as exc:
        return await refuse(send, 400, str(exc))
    checked = handshake_refusal(state, args, header_map(scope))
    del args  # this frame lives as long as the connection: hold only what it needs
    if isinstance(checked, Refusal):
        return await refuse(send, checked.status, checked.message)
    # No checkpoint from the capacity check to the hub's attach: the transport
    # accepts the upgrade with the first frame it sends (see AsgiTransport).
    transport = AsgiTransport(receive, send)
    await state.require_orchestrator().serve_connection(
        transport, checked.user_id, last_seq, epoch, credentials=credentials_for(state, checked)
    )
    await transport.close(CLOSE_NORMAL)


def add_websocket_route(app: QuartTrio, state: AppState) -> None:
    """Serve ``/ws`` as plain ASGI in front of the Quart app."""
    quart_asgi: Any = app.asgi_app

    async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            await serve_websocket(state, scope, receive, send)
        else:
            await quart_asgi(scope, receive, send)

    app.asgi_app = asgi_app  # type: ignore[method-assign,assignment]
