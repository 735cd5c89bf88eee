"""A real hypercorn server on an ephemeral loopback port, and the fixtures that start it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import hypercorn.trio
import pytest
import trio
from quart_trio import QuartTrio
from trio_websocket import open_websocket_url

from app.hyperconfig import hypercorn_config
from app.server import create_app, state_of
from tests.support.wsclient import WsClient
from wsao_trio._service.orchestrator import Orchestrator
from wsao_trio.auth import mint_token
from wsao_trio.config import Settings

SECRET = "test-secret-0123456789abcdef0123456789"


@attrs.define
class LiveServer:
    """A running app: its base URLs, settings and a way to stop it."""

    app: QuartTrio
    settings: Settings
    http_url: str
    ws_url: str
    shutdown: trio.Event

    @property
    def orchestrator(self) -> Orchestrator:
        return state_of(self.app).require_orchestrator()

    def token(self, user_id: str, ttl: float = 600) -> str:
        return mint_token(SECRET, user_id, ttl)

    @asynccontextmanager
    async def connect(self, user_id: str, query: str = "") -> AsyncIterator[WsClient]:
        url = f"{self.ws_url}?token={self.token(user_id)}{query}"
        async with open_websocket_url(url) as ws:
            client = WsClient(ws)
            client.connected = await client.receive_type("connected")
            yield client


def test_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = dict(
        jwt_secret=SECRET, dev_auth=True, shutdown_grace=0.5, janitor_interval=0.2
    )
    base.update(overrides)
    return Settings(**base)


test_settings.__test__ = False  # type: ignore[attr-defined]


async def start_server(nursery: trio.Nursery, settings: Settings) -> LiveServer:
    app = create_app(settings)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 2
    config = hypercorn_config(settings, bind="127.0.0.1:0")
    config.errorlog = None
    shutdown = trio.Event()
    serve = partial(hypercorn.trio.serve, app, config, shutdown_trigger=shutdown.wait)
    binds = await nursery.start(serve)
    host_port = binds[0].split("://", 1)[1]
    return LiveServer(app, settings, f"http://{host_port}", f"ws://{host_port}/ws", shutdown)


@pytest.fixture
def server_factory(nursery: trio.Nursery) -> Callable[..., Any]:
    async def factory(**overrides: Any) -> LiveServer:
        return await start_server(nursery, test_settings(**overrides))

    return factory


@pytest.fixture
async def server(nursery: trio.Nursery) -> LiveServer:
    return await start_server(nursery, test_settings())
