"""The ToolDispatcher: runs tools and emits their events itself.

``tool_executing`` goes out before the call and exactly one ``tool_completed`` after
it with the same ``tool_call_id`` — ``ok: true`` with the result, or ``ok: false``
with the error when the tool raised, does not exist, or was cancelled. On
cancellation the completion is emitted under a shield and the cancellation goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import trio

from wsao_trio._runs.notifier import Notifier
from wsao_trio._runs.tools import Tool, ToolLookup
from wsao_trio._state.ids import new_id
from wsao_trio.errors import RunFinished, ToolFailed
from wsao_trio.protocol import dumps


def _describe(exc: BaseException) -> str:
    if isinstance(exc, trio.Cancelled):
        return "cancelled"
    if isinstance(exc, ToolFailed):
        return exc.error
    return f"{type(exc).__name__}: {exc}"[:500]


DEFAULT_THREADS = 4
DEFAULT_MAX_ARGUMENT_BYTES = 16 * 1024


class ToolDispatcher:
    """Looks tools up in a :class:`ToolLookup` (the agent registry) and runs them inside
    the caller's run scope.

    Arguments over ``max_argument_bytes`` (as JSON) fail the call before the tool
    sees them. Blocking tools run in worker threads, at most ``threads`` at once
    across every run of the orchestrator (one limiter, owned here).
    """

    def __init__(
        self,
        registry: ToolLookup,
        *,
        threads: int = DEFAULT_THREADS,
        max_argument_bytes: int = DEFAULT_MAX_ARGUMENT_BYTES,
    ) -> None:
        self._registry = registry
        self._limiter = trio.CapacityLimiter(threads)
        self._max_argument_bytes = max_argument_bytes

    @property
    def tools(self) -> list[Tool]:
        """Every tool the dispatcher can run, sorted by name."""
        return self._registry.tools

    async def call(self, notifier: Notifier, name: str, arguments: Mapping[str, Any]) -> Any:
        """Run tool ``name`` with ``arguments``; raise ToolFailed if it does not succeed."""
        call_id = new_id()
        base = {"tool_call_id": call_id, "tool_name": name}
        await notifier.emit("tool_executing", {**base, "arguments": dict(arguments)})
        started = trio.current_time()
        try:
            result = await self._invoke(name, arguments)
        except BaseException as exc:
            await self._complete(notifier, base, started, {"ok": False, "error": _describe(exc)})
            if isinstance(exc, Exception) and not isinstance(exc, ToolFailed):
                raise ToolFailed(name, _describe(exc)) from exc
            raise
        await self._complete(notifier, base, started, {"ok": True, "result": result})
        return result

    async def _invoke(self, name: str, arguments: Mapping[str, Any]) -> Any:
        tool = self._registry.tool(name)
        if tool is None:
            raise ToolFailed(name, f"unknown tool {name!r}")
        size = len(dumps(arguments))
        if size > self._max_argument_bytes:
            limit = self._max_argument_bytes
            raise ToolFailed(name, f"arguments of {size} bytes are over the {limit} byte limit")
        if tool.blocking is None:
            return await tool.handler(arguments)
        # Abandoned on cancellation: the run ends at once; the thread finishes alone and
        # its result is dropped. The limiter bounds how many such threads exist.
        return await trio.to_thread.run_sync(
            tool.blocking, arguments, limiter=self._limiter, abandon_on_cancel=True
        )

    async def _complete(
        self, notifier: Notifier, base: dict[str, Any], started: float, outcome: dict[str, Any]
    ) -> None:
        """Emit tool_completed; shielded only when the call failed or was cancelled."""
        duration_ms = round((trio.current_time() - started) * 1000, 3)
        payload = {**base, **outcome, "duration_ms": duration_ms}
        with trio.CancelScope(shield=not outcome["ok"]), contextlib.suppress(RunFinished):
            await notifier.emit("tool_completed", payload)
