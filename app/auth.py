"""JWT authentication for the service: HS256 tokens whose ``sub`` is the user id.

PyJWT does the signing and the checks (signature, ``exp`` present and in the future,
``sub`` present); we only map its errors to one :class:`~wsao_trio.errors.AuthError`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

import jwt

from wsao_trio.errors import AuthError

ALGORITHM = "HS256"
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def mint_token(secret: str, user_id: str, ttl: float, now: float | None = None) -> str:
    """A signed token for ``user_id`` that expires ``ttl`` seconds from ``now``."""
    issued = time.time() if now is None else now
    claims = {"sub": user_id, "iat": int(issued), "exp": int(issued + ttl)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str | None) -> str:
    """The user id of a valid token; AuthError if missing, malformed, forged or expired."""
    if not token:
        raise AuthError("missing token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not USER_ID_PATTERN.match(user_id):
        raise AuthError("token subject is not a valid user id")
    return user_id


def token_from_request(args: Mapping[str, str], authorization: str) -> str | None:
    """The token from the ``token`` query parameter or an ``Authorization: Bearer`` header."""
    token = args.get("token")
    if token:
        return token
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def valid_user_id(user_id: object) -> bool:
    """Whether ``user_id`` may be used as a user id (dev tokens)."""
    return isinstance(user_id, str) and bool(USER_ID_PATTERN.match(user_id))
