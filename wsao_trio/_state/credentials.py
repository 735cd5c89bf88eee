"""A connection's credentials: when its token expires and how to take a fresh one.

The host verifies the token at the handshake and hands the connection to the
orchestrator with :class:`Credentials`. The session closes the socket with 4401 when
``expires_at`` passes (a deadline on its cancel scope, not a task of its own), unless
the client sent a fresh token first in an ``auth`` frame (``{"type": "auth", "token":
…}``), which ``refresh`` verifies. The library holds no secret and knows no token
format: ``refresh`` is the host's verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wsao_trio.errors import AuthError, Unauthorized

#: Verifies a fresh token of the connection's user; returns its expiry (epoch
#: seconds) or raises :class:`~wsao_trio.errors.AuthError`.
TokenRefresher = Callable[[str], float]


class Credentials:
    """The expiry of a connection's token, extended by valid ``auth`` frames."""

    def __init__(self, expires_at: float, refresh: TokenRefresher | None = None) -> None:
        self.expires_at = expires_at
        self._refresh = refresh

    def renew(self, token: str) -> float:
        """Take a fresh token; raise :class:`Unauthorized` (the frame's error) if refused."""
        if self._refresh is None:
            raise Unauthorized("this server does not take fresh tokens on a connection")
        try:
            expires_at = self._refresh(token)
        except AuthError as exc:
            raise Unauthorized(f"token refused: {exc}"[:200]) from None
        self.expires_at = max(self.expires_at, expires_at)
        return self.expires_at

    def remaining(self) -> float:
        """Seconds until ``expires_at`` by the wall clock (negative once it has passed)."""
        return self.expires_at - time.time()
