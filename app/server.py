"""The Quart-Trio application: routes, auth, and the orchestrator's serving lifecycle.

:func:`create_app` builds one application around one orchestrator. The orchestrator is
opened in the app's ``while_serving`` lifecycle, as a task in the app's nursery, and
closed when serving stops: running runs end with ``agent_cancelled`` (``shutdown``)
and sockets close with 1001.
"""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncGenerator
from pathlib import Path

import trio
from quart import Response
from quart_trio import QuartTrio

from app.agents import build_registry
from app.compression import refuse_websocket_compression
from app.protocol_close import close_on_protocol_errors
from app.routes_api import add_api_routes
from app.routes_ws import add_websocket_route
from app.state import AppState
from app.tcp_server import FAILURES_KEY, FailuresCollector, contain_connection_failures
from app.ws_stream import guard_websocket_streams
from wsao_trio import AgentRegistry, Orchestrator, open_orchestrator
from wsao_trio.config import Settings, load_settings
from wsao_trio.errors import ConfigError
from wsao_trio.metrics import build_registry as build_metrics

logger = logging.getLogger(__name__)
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
STATE_KEY = "wsao"


def resolve_secret(settings: Settings) -> str | None:
    """The JWT secret: configured, or generated per process when dev auth is on."""
    if settings.jwt_secret:
        return settings.jwt_secret
    return secrets.token_urlsafe(32) if settings.dev_auth else None


def check_startable(settings: Settings) -> None:
    """Refuse to serve without a way to authenticate anyone; warn about dev auth."""
    if not settings.jwt_secret and not settings.dev_auth:
        raise ConfigError(
            "set WSAO_JWT_SECRET (production) or WSAO_DEV_AUTH=1 (local demo): "
            "without either no client could ever authenticate"
        )
    if settings.dev_auth and settings.jwt_secret:
        logger.warning(
            "WSAO_DEV_AUTH is on with WSAO_JWT_SECRET set: /api/dev/token signs valid "
            "tokens for any user with that secret; never enable dev auth in production"
        )


GC_THRESHOLDS = (50_000, 50, 100)


def tune_gc() -> None:
    """Freeze start-up objects and collect the young generation less often.

    Each event, frame and run makes short-lived objects; at CPython's default
    threshold (700 allocations) the collector ran hundreds of times a second under
    load and its full passes took up to half a second (docs/performance.md). Frozen
    objects are never scanned again; the higher thresholds keep cyclic garbage
    (trio's cancellations make some) collected in the young generations.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def patch_hypercorn() -> None:
    """Swap in our fixes of hypercorn's behaviour (idempotent; docs/security.md lists
    them): no compression, close frames for protocol errors, per-connection failures
    contained, WebSocket handshakes answered once and closes bounded."""
    refuse_websocket_compression()
    close_on_protocol_errors()
    contain_connection_failures()
    guard_websocket_streams()


def state_of(app: QuartTrio) -> AppState:
    """The AppState of an application built by :func:`create_app`."""
    state: AppState = app.extensions[STATE_KEY]
    return state


def create_app(
    settings: Settings | None = None, registry: AgentRegistry | None = None
) -> QuartTrio:
    """Build the service. Settings default to the ``WSAO_*`` environment."""
    settings = settings or load_settings()
    patch_hypercorn()
    registry = registry or build_registry(DOCS_DIR, settings)
    if not registry.has_agent(settings.default_agent):
        known = ", ".join(registry.agent_types)
        raise ConfigError(f"WSAO_DEFAULT_AGENT {settings.default_agent!r} is not one of: {known}")
    app = QuartTrio(__name__, static_folder="static", static_url_path="/static")
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = settings.shutdown_grace + 1
    _limit_bodies(app, settings)
    state = AppState(settings, resolve_secret(settings), registry)
    app.extensions[STATE_KEY] = state
    app.extensions[FAILURES_KEY] = state.failures
    _add_lifecycle(app, state)
    _add_pages(app)
    add_api_routes(app, state)
    add_websocket_route(app, state)
    _add_agui(app, state)
    return app


def _limit_bodies(app: QuartTrio, settings: Settings) -> None:
    """Stop reading a request body at the largest any route takes, and in time.

    Quart checks ``MAX_CONTENT_LENGTH`` while it reads (a declared length at once, a
    chunked body as it grows), so a body over the limit is answered 413 after at most
    that many bytes, not after Quart's default 16 MB; ``BODY_TIMEOUT`` bounds a body
    that trickles in.
    """
    app.config["MAX_CONTENT_LENGTH"] = settings.agui_max_body_bytes
    app.config["BODY_TIMEOUT"] = settings.http_body_timeout


def _add_agui(app: QuartTrio, state: AppState) -> None:
    """Mount the AG-UI endpoint when the ``agui`` extra (ag-ui-protocol) is installed."""
    try:
        from app.agui_routes import add_agui_routes
    except ImportError as exc:
        logger.info("AG-UI endpoint off: %s (install wsao_trio[agui])", exc)
        return
    add_agui_routes(app, state)


async def _serve_orchestrator(
    state: AppState, *, task_status: trio.TaskStatus[Orchestrator] = trio.TASK_STATUS_IGNORED
) -> None:
    async with open_orchestrator(state.registry, state.settings) as orch:
        task_status.started(orch)
        await orch.closed.wait()


def _add_lifecycle(app: QuartTrio, state: AppState) -> None:
    @app.while_serving
    async def lifecycle() -> AsyncGenerator[None, None]:
        check_startable(state.settings)
        tune_gc()
        orch: Orchestrator = await app.nursery.start(_serve_orchestrator, state)
        state.orchestrator, state.metrics = orch, build_metrics(orch)
        state.metrics.register(FailuresCollector(state.failures))
        yield
        await orch.aclose()


def _add_pages(app: QuartTrio) -> None:
    @app.get("/")
    async def index() -> Response:
        return await app.send_static_file("index.html")

    @app.get("/dashboard")
    async def dashboard() -> Response:
        return await app.send_static_file("dashboard.html")
