"""HTTP for the harness (``/health`` and dev tokens), through httpx.

httpx runs on trio through anyio, so the harness needs no HTTP code of its own.
Transport failures are raised as :class:`OSError` so callers treat a refused
connection and a dropped one alike.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio


async def request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Send one request and return ``(status, body)``; raises OSError or TooSlowError."""
    with trio.fail_after(timeout):
        try:
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
                response = await client.request(
                    method, path, json=body, timeout=timeout, headers=headers
                )
        except httpx.TransportError as exc:
            raise OSError(f"{method} {path}: {exc!r}") from exc
    return response.status_code, response.content


async def is_healthy(host: str, port: int) -> bool:
    """One ``GET /health`` probe: True on 200, False on any other answer or failure."""
    try:
        status, _ = await request(host, port, "GET", "/health", timeout=2.0)
    except (OSError, trio.TooSlowError):
        return False
    return status == 200
