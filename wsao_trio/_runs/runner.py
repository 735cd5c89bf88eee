"""How one run executes: its own cancel scope and nursery, and exactly one ending.

:func:`execute_run` is the body of every run task. It emits ``agent_started``, runs the
agent in a nursery inside the context's cancel scope (whose deadline is the run
timeout), and maps whatever happened to one :class:`Outcome`. Whatever happens — the
agent returns or raises, the user stops it, the timeout hits, stale cleanup or
shutdown cancel it — the ``finally`` hands that outcome to ``finish``, which emits the
single terminal event (shielded: a cancelled run still says how it ended). Tools run
inside the same scope, so their ``tool_completed`` events are out before the terminal one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from wsao_trio._runs.context import ExecutionContext
from wsao_trio._runs.notifier import Notifier
from wsao_trio._runs.supervisor import Supervisor
from wsao_trio._state.runstate import RunState
from wsao_trio.errors import AgentFailure
from wsao_trio.logsafety import shorten

COMPLETED_REASON = "completed"
# The logger keeps its documented name (docs/operations.md), whatever the module path.
logger = logging.getLogger("wsao_trio.runner")


@attrs.frozen
class Outcome:
    """How a run ended: its terminal state and the payload of its terminal event."""

    state: RunState
    payload: dict[str, Any]


def completed(result: Any) -> Outcome:
    """The run's agent returned ``result``."""
    return Outcome(RunState.COMPLETED, {"result": result})


def failed(code: str, message: str) -> Outcome:
    """The run failed: the agent raised (``agent_failed``) or timed out (``run_timeout``)."""
    return Outcome(RunState.FAILED, {"code": code, "message": message[:1000]})


def cancelled(reason: str) -> Outcome:
    """The run was stopped by the user, stale cleanup or shutdown."""
    return Outcome(RunState.CANCELLED, {"reason": reason})


def first_error(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, or ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe_exception(exc: BaseException) -> str:
    """A one-line description of the first real error inside (nested) exception groups."""
    exc = first_error(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_of(exc: BaseException) -> Outcome:
    """The outcome of an agent that raised: its own code for AgentFailure, else agent_failed."""
    first = first_error(exc)
    if isinstance(first, AgentFailure):
        return failed(first.code, first.message)
    return failed("agent_failed", describe_exception(exc))


Finish = Callable[[ExecutionContext, Notifier, Outcome], Awaitable[None]]


async def execute_run(
    ctx: ExecutionContext, notifier: Notifier, supervisor: Supervisor, finish: Finish
) -> None:
    """Run ``ctx`` to its end and always finish it with exactly one outcome.

    Completed, failed (the agent raised; logged with its traceback), timed out, or
    cancelled with the context's reason: whatever happens, including cancellation
    of this task, exactly one terminal event is emitted (shielded) and the context
    is unregistered, in a ``finally``.
    """
    outcome: Outcome | None = None
    try:
        await notifier.emit_started()
        outcome = await _scoped(ctx, notifier, supervisor)
    except Exception as exc:  # the agent's failure, possibly inside an ExceptionGroup
        logger.warning(
            "run %s (%s) failed: %s",
            ctx.run_id,
            ctx.agent_type,
            shorten(describe_exception(exc), 200),
            exc_info=exc,
        )
        outcome = failure_of(exc)
    finally:
        if outcome is None:  # cancelled from outside the run's own scope
            outcome = cancelled(ctx.cancel_reason or "shutdown")
        await finish(ctx, notifier, outcome)


async def _scoped(ctx: ExecutionContext, notifier: Notifier, supervisor: Supervisor) -> Outcome:
    """The agent in the run's nursery, beside the notifier's delta timer (which the
    agent's return stops: what it still holds goes out before the terminal event)."""
    box: list[Any] = []

    async def agent_task(timers: trio.CancelScope) -> None:
        box.append(await supervisor.run(ctx, notifier))
        timers.cancel()

    with ctx.cancel_scope:
        async with trio.open_nursery() as run_nursery:
            if notifier.merger.max_delay > 0:
                run_nursery.start_soon(notifier.hold_deltas)
            run_nursery.start_soon(agent_task, run_nursery.cancel_scope)
        return completed(box[0])
    return _cancel_outcome(ctx)


def _cancel_outcome(ctx: ExecutionContext) -> Outcome:
    if ctx.cancel_reason == COMPLETED_REASON:
        return completed(ctx.result)
    if ctx.cancel_reason is not None:
        return cancelled(ctx.cancel_reason)
    return failed("run_timeout", "the run exceeded its time limit")
