"""JWT authentication: HS256 tokens whose ``sub`` is the user id.

PyJWT does the signing and the checks (signature, ``exp`` present and in the future,
``sub`` present); this module adds what the service needs on top and maps every failure
to one :class:`~wsao_trio.errors.AuthError`:

- the user id must match :data:`USER_ID_PATTERN` in full (``"alice\\n"`` is refused);
- a token may not live longer than ``max_lifetime`` seconds (``exp - iat``, or
  ``exp - now`` without ``iat``), so a stolen 100-year token is worthless;
- ``admin: true`` marks an operator (detailed health, the dashboard).

PyJWT is the ``jwt`` extra (``pip install 'wsao_trio[jwt]'``): ``import wsao_trio``
never imports this module, so a service with its own authentication does not need it;
importing it without PyJWT raises an ImportError that says which extra to install.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import attrs

from wsao_trio.extras import require

require("jwt", extra="jwt", needed_by=__name__)

import jwt  # noqa: E402

from wsao_trio.errors import AuthError  # noqa: E402

ALGORITHM = "HS256"
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MAX_TOKEN_CHARS = 4096


@attrs.frozen
class Claims:
    """What a verified token says: who, until when (epoch seconds), and whether admin."""

    user_id: str
    expires_at: float
    admin: bool = False


def mint_token(
    secret: str, user_id: str, ttl: float, now: float | None = None, *, admin: bool = False
) -> str:
    """A signed token for ``user_id`` that expires ``ttl`` seconds from ``now``."""
    issued = time.time() if now is None else now
    claims: dict[str, Any] = {"sub": user_id, "iat": int(issued), "exp": int(issued + ttl)}
    if admin:
        claims["admin"] = True
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_claims(
    secret: str, token: str | None, *, max_lifetime: float | None = None, now: float | None = None
) -> Claims:
    """The claims of a valid token; AuthError if missing, malformed, forged or expired."""
    if not token:
        raise AuthError("missing token")
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("invalid token: too long")
    raw = _decode(secret, token)
    user_id = raw.get("sub")
    if not valid_user_id(user_id):
        raise AuthError("token subject is not a valid user id")
    expires_at = float(raw["exp"])
    if max_lifetime is not None:
        _check_lifetime(raw, expires_at, max_lifetime, time.time() if now is None else now)
    return Claims(str(user_id), expires_at, raw.get("admin") is True)


def _decode(secret: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}"[:200]) from None
    return claims


def _check_lifetime(raw: Mapping[str, Any], expires_at: float, limit: float, now: float) -> None:
    issued = raw.get("iat")
    start = (
        float(issued) if isinstance(issued, int | float) and not isinstance(issued, bool) else now
    )
    if expires_at - min(start, now) > limit:
        raise AuthError(f"token lifetime is over the {int(limit)} s maximum")


def verify_token(secret: str, token: str | None, *, max_lifetime: float | None = None) -> str:
    """The user id of a valid token (see :func:`verify_claims`)."""
    return verify_claims(secret, token, max_lifetime=max_lifetime).user_id


def token_from_request(args: Mapping[str, str], authorization: str) -> str | None:
    """The token from the ``token`` query parameter or an ``Authorization: Bearer`` header."""
    token = args.get("token")
    if token:
        return token
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def valid_user_id(user_id: object) -> bool:
    """Whether ``user_id`` may be used as a user id: 1-64 of ``A-Z a-z 0-9 _ . @ -``."""
    return isinstance(user_id, str) and USER_ID_PATTERN.fullmatch(user_id) is not None
