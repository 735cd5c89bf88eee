"""HTTP routes: page config, dev tokens, public and admin health, metrics.

``/health`` is public and says only whether the service is up (for load balancers);
everything that names users, runs or message text (``/health/details``, which the
dashboard reads) needs an admin token.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Response, jsonify, request
from quart_trio import QuartTrio

from app.gate import Refusal, authenticate, is_admin
from app.state import AppState
from wsao_trio.auth import mint_token, valid_user_id
from wsao_trio.metrics import render


def add_api_routes(app: QuartTrio, state: AppState) -> None:
    """Register the JSON API, health and metrics routes."""

    @app.get("/api/config")
    async def config() -> Response:
        settings = state.settings
        return jsonify(
            dev_auth=settings.dev_auth,
            agent_types=state.registry.agent_types,
            default_agent=settings.default_agent,
        )

    @app.post("/api/dev/token")
    async def dev_token() -> Any:
        return await _dev_token(state)

    _add_ops_routes(app, state)


def _add_ops_routes(app: QuartTrio, state: AppState) -> None:
    @app.get("/health")
    async def health() -> Any:
        health = state.require_orchestrator().status()  # O(1): anyone may ask
        status, store = health["status"], health["store"]
        nodes = len(store.get("nodes", ())) or 1
        return jsonify(
            status=status, store=store["kind"], nodes=nodes
        ), 200 if status == "ok" else 503

    @app.get("/health/details")
    async def health_details() -> Any:
        refusal = _admin_refusal(state)
        if refusal is not None:
            return jsonify(error=refusal.message), refusal.status
        return jsonify(state.require_orchestrator().health())

    @app.get("/metrics")
    async def metrics() -> Response:
        assert state.metrics is not None
        return Response(render(state.metrics), content_type=CONTENT_TYPE_LATEST)


def _admin_refusal(state: AppState) -> Refusal | None:
    authorization = request.headers.get("Authorization", "")
    claims = authenticate(state.secret, {}, authorization, state.settings)
    if isinstance(claims, Refusal):
        return claims
    if not is_admin(claims, state.settings):
        return Refusal(403, "this view needs an admin token")
    return None


async def _dev_token(state: AppState) -> Any:
    settings = state.settings
    if not settings.dev_auth or state.secret is None:
        return jsonify(error="dev auth is disabled"), 404
    body = await request.get_json(silent=True)
    user_id = body.get("user_id") if isinstance(body, dict) else None
    if not valid_user_id(user_id):
        return jsonify(error="user_id must be 1-64 characters of A-Z a-z 0-9 _ . @ -"), 400
    assert isinstance(user_id, str)
    ttl = min(settings.dev_token_ttl, settings.max_token_lifetime)
    return jsonify(token=mint_token(state.secret, user_id, ttl), expires_in=ttl)
