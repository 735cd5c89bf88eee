"""The wsao_trio demo service: a Quart-Trio chat application on hypercorn.

``python -m app`` serves it (see :mod:`app.__main__`). ``hypercorn --worker-class trio
app:app`` works too: :data:`app` builds the real application from the ``WSAO_*``
environment on the first ASGI call, so importing this package reads nothing.
"""

from __future__ import annotations

from typing import Any

from app.server import create_app


class LazyApp:
    """An ASGI application that builds the real one on first use."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Forward the ASGI call to the application, building it the first time."""
        if self._app is None:
            self._app = create_app()
        await self._app(scope, receive, send)


app = LazyApp()
