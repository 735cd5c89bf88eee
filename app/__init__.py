"""The wsao_trio demo service: a Quart-Trio chat application on hypercorn.

``python -m app`` serves it (see :mod:`app.__main__`). ``hypercorn --worker-class trio
app:app`` works too: :data:`app` builds the real application from the ``WSAO_*``
environment on the first ASGI call, so importing this package reads nothing.
"""

from __future__ import annotations

from typing import Any

from app.server import create_app
from wsao_trio.errors import ConfigError


async def _refuse(scope: Any, receive: Any, send: Any, message: str) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": message})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": message.encode()})


class LazyApp:
    """An ASGI application that builds the real one on first use.

    A configuration error fails the ASGI lifespan start-up with its message, so the
    server stops at once instead of answering every request with an error.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Forward the ASGI call to the application, building it the first time."""
        if self._app is None:
            try:
                self._app = create_app()
            except ConfigError as exc:
                await _refuse(scope, receive, send, f"wsao: cannot start: {exc}")
                return
        await self._app(scope, receive, send)


app = LazyApp()
