"""What a request must pass before the service spends anything on it.

Every check here runs on the HTTP request, before a WebSocket upgrade or a streamed
response, so no unauthenticated or unwanted request costs more than its handshake:

- the ``Origin`` header against the allow-list (403);
- the token (401): missing, malformed, forged, expired or living too long;
- capacity (503): the global and the per-user connection caps.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from wsao_trio.auth import Claims, token_from_request, verify_claims
from wsao_trio.config import Settings
from wsao_trio.errors import AuthError


@attrs.frozen
class Refusal:
    """Why a request is refused: an HTTP status and a message for the client."""

    status: int
    message: str


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """No Origin (a non-browser client), the service's own, or one on the allow-list.

    ``allowed_origins`` holds full origins (``https://chat.example.com``) or ``*``.
    """
    if not origin:
        return True
    allowed = settings.origins
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.netloc.lower() == (host or "").lower()


def is_admin(claims: Claims, settings: Settings) -> bool:
    """An operator: the token says ``admin: true``, or the user is a configured admin.

    With dev auth on and no admin list configured, every signed-in user is an admin:
    dev auth lets anyone sign in as anyone, so the local demo's dashboard just works.
    """
    if claims.admin or claims.user_id in settings.admins:
        return True
    return settings.dev_auth and not settings.admins


def authenticate(
    secret: str | None, args: Mapping[str, str], authorization: str, settings: Settings
) -> Claims | Refusal:
    """The token's claims, or the 401 refusal saying what is wrong with it."""
    token = token_from_request(args, authorization)
    try:
        return verify_claims(secret or "", token, max_lifetime=settings.max_token_lifetime)
    except AuthError as exc:
        return Refusal(401, str(exc))
