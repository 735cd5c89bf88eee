"""The orchestrator: the single owner of every agent run and of its events' delivery.

Open it with :func:`open_orchestrator`; it holds the root nursery for its lifetime.
Every run is created here (deduplicated by the client's message id), registered, run
in its own cancel scope and nursery inside the root nursery, and unregistered after
its one terminal event. Closing it cancels running runs with ``reason: "shutdown"``,
lets their events flush for a grace period, closes connections with 1001 and leaves
no task behind.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import trio

from wsao_trio._backplane.base import Backplane
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._delivery.sender import Sender
from wsao_trio._delivery.transport import Transport
from wsao_trio._runs.agents import AgentRegistry
from wsao_trio._runs.context import ExecutionContext
from wsao_trio._runs.dispatcher import ToolDispatcher
from wsao_trio._runs.notifier import Notifier
from wsao_trio._runs.runner import COMPLETED_REASON, Outcome, cancelled, execute_run
from wsao_trio._runs.supervisor import Supervisor
from wsao_trio._service.assembly import make_backplane
from wsao_trio._service.health import build_health, build_status
from wsao_trio._service.host import RunTicket
from wsao_trio._service.janitor import Janitor
from wsao_trio._service.looplag import LoopLagMonitor
from wsao_trio._service.session import ConnectionSession
from wsao_trio._state.credentials import Credentials
from wsao_trio._state.dedup import DedupTable
from wsao_trio._state.deltas import DeltaMerger
from wsao_trio._state.ids import new_id
from wsao_trio._state.runstate import TERMINAL_EVENT_FOR, RunState
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.config import Settings
from wsao_trio.errors import (
    ConfigError,
    InvalidMessage,
    Overloaded,
    RateLimited,
    RunFinished,
    RunNotFound,
    ShuttingDown,
    Unavailable,
)
from wsao_trio.protocol import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER, UserMessage


class Orchestrator:
    """Runs, events, delivery, dedup and cleanup for one process. See the module doc."""

    def __init__(
        self,
        registry: AgentRegistry,
        settings: Settings,
        backplane: Backplane | None = None,
    ) -> None:
        check_default_agent(registry, settings)
        self.settings, self.registry = settings, registry
        self.stats = OrchestratorStats()
        self.hub = ConnectionHub(settings.connection_buffer, self.stats, trio.current_time)
        self.sender = _sender(self.hub, self.stats, settings)
        self.backplane: Backplane = backplane or make_backplane(self.hub, settings, self)
        self.supervisor = Supervisor(registry, _dispatcher(registry, settings))
        self._dedup: DedupTable[tuple[str, str]] = DedupTable(
            settings.dedup_window, trio.current_time
        )
        self._runs: dict[str, tuple[ExecutionContext, Notifier]] = {}
        self._user_runs: dict[str, set[str]] = {}
        self._nursery: trio.Nursery | None = None
        self._started_at = trio.current_time()
        self.closing = False
        self.closed = trio.Event()
        self.janitor = Janitor(self)
        self.loop_lag = LoopLagMonitor(settings.loop_lag_interval, settings.loop_lag_warning)

    # -- runs ---------------------------------------------------------------------------

    async def create_execution_context(
        self,
        agent_type: str,
        user_id: str,
        message: str,
        message_id: str,
        thread_id: str | None = None,
    ) -> RunTicket:
        """Create and register a run, or return the existing one for a duplicate.

        The run is registered but not started: :meth:`start_execution` starts it.
        A second call with the same user and ``message_id`` within the dedup window,
        here or (on Redis) on any process, returns a ticket with ``duplicate`` set
        and the original run's ids, even while the first call is still claiming.

        Raises RateLimited, Overloaded, Unavailable or InvalidMessage (unknown agent),
        and ShuttingDown once :meth:`aclose` has begun. Cancelled while it claims
        the message in the store, it releases the claim and registers nothing, so
        a later retry of the same message starts a run.
        """
        await trio.lowlevel.checkpoint()
        self._check_open(message_id)
        existing = self._dedup.lookup(user_id, message_id)
        if existing is not None:
            return self._duplicate(user_id, message_id, existing)
        self._check_can_run(agent_type, user_id, message_id)
        ctx = self._new_context(agent_type, user_id, message, message_id, thread_id)
        elsewhere = await self._claim(ctx)
        if elsewhere is not None:
            return self._duplicate(user_id, message_id, elsewhere)
        notifier = self._register(ctx)
        return RunTicket(ctx.run_id, ctx.thread_id, message_id, False, ctx, notifier)

    async def _claim(self, ctx: ExecutionContext) -> tuple[str, str] | None:
        """Claim the message here, then in the shared store (memory never yields);
        the (run id, thread id) of the run another process started for it, if any."""
        ids = (ctx.run_id, ctx.thread_id)
        self._dedup.claim(ctx.user_id, ctx.message_id, ids)
        limit = self.settings.max_runs_per_user
        try:
            claim = await self.backplane.claim_run(
                ctx.user_id, ctx.message_id, ids, limit, ctx.agent_type
            )
        except BaseException as exc:
            self._dedup.release(ctx.user_id, ctx.message_id)
            if isinstance(exc, Unavailable) and exc.ref is None:
                exc.ref = ctx.message_id  # the store failed mid-claim: name the message
            raise
        if claim.existing is not None:
            self._dedup.release(ctx.user_id, ctx.message_id)
            self._dedup.claim(ctx.user_id, ctx.message_id, claim.existing)
            return claim.existing
        if claim.limited:
            self._dedup.release(ctx.user_id, ctx.message_id)
            raise RateLimited(f"at most {limit} runs at once per user", ref=ctx.message_id)
        return None

    def _merger(self) -> DeltaMerger:
        """A run's delta merger, as the settings say (``WSAO_DELTA_MAX_DELAY_MS`` 0: off)."""
        settings = self.settings
        return DeltaMerger(settings.delta_max_delay_ms / 1000, settings.delta_max_bytes)

    def _register(self, ctx: ExecutionContext) -> Notifier:
        notifier = Notifier(ctx, self.backplane, self.stats, self._merger())
        self._runs[ctx.run_id] = (ctx, notifier)
        self._user_runs.setdefault(ctx.user_id, set()).add(ctx.run_id)
        return notifier

    def _duplicate(self, user_id: str, message_id: str, existing: tuple[str, str]) -> RunTicket:
        self.stats.dedup_hits += 1
        run_id, thread_id = existing
        ctx, notifier = self._runs.get(run_id, (None, None))
        return RunTicket(run_id, thread_id, message_id, True, ctx, notifier)

    def _check_open(self, message_id: str) -> None:
        if self._nursery is None:
            raise RuntimeError("the orchestrator is not open (use open_orchestrator)")
        if self.closing:
            raise ShuttingDown("the server is shutting down; no new runs are accepted")
        if not self.backplane.available:
            raise Unavailable("the event store is unreachable; try again shortly", ref=message_id)

    def _check_can_run(self, agent_type: str, user_id: str, message_id: str) -> None:
        if not self.registry.has_agent(agent_type):
            raise InvalidMessage(
                f"field 'agent_type': unknown agent type {agent_type!r}", ref=message_id
            )
        if len(self._runs) >= self.settings.max_running_runs:
            raise Overloaded("the server is at its run limit; try again shortly", ref=message_id)
        if len(self._user_runs.get(user_id, ())) >= self.settings.max_runs_per_user:
            limit = self.settings.max_runs_per_user
            raise RateLimited(f"at most {limit} runs at once per user", ref=message_id)

    def _new_context(
        self, agent_type: str, user_id: str, message: str, message_id: str, thread_id: str | None
    ) -> ExecutionContext:
        return ExecutionContext(
            run_id=new_id(),
            thread_id=thread_id or new_id(),
            user_id=user_id,
            agent_type=agent_type,
            message=message,
            message_id=message_id,
            created_at=trio.current_time(),
            created_wall=time.time(),
        )

    def start_execution(self, ticket: RunTicket) -> None:
        """Start a new run's task in the root nursery (no-op for duplicates)."""
        if ticket.duplicate or ticket.context is None or ticket.notifier is None:
            return
        ctx, notifier = ticket.context, ticket.notifier
        self._begin(ctx)
        assert self._nursery is not None
        self._nursery.start_soon(execute_run, ctx, notifier, self.supervisor, self._finish)

    def _begin(self, ctx: ExecutionContext) -> None:
        ctx.transition(RunState.RUNNING, trio.current_time())
        ctx.cancel_scope.deadline = trio.current_time() + self.settings.run_timeout
        self.stats.runs_started += 1

    async def accept(self, user_id: str, message: UserMessage) -> RunTicket:
        """Create (or find) the run for a ``user_message`` frame without starting it.

        The frame's ``agent_type`` or the default agent; otherwise as
        :meth:`create_execution_context` (same errors, same cancellation).
        """
        agent_type = message.agent_type or self.settings.default_agent
        return await self.create_execution_context(
            agent_type, user_id, message.text, message.message_id, message.thread_id
        )

    async def submit(self, user_id: str, message: UserMessage) -> RunTicket:
        """Create (or find) the run for a ``user_message`` frame and start it.

        The run's task goes into the orchestrator's root nursery, not the caller's:
        cancelling the caller afterwards does not stop the run (:meth:`stop_run`
        does). A duplicate starts nothing and returns the original run's ticket.
        """
        ticket = await self.accept(user_id, message)
        self.start_execution(ticket)
        return ticket

    async def stop_run(self, user_id: str, run_id: str, reason: str = "user") -> None:
        """Cancel a run of this user wherever it runs.

        Returns once the stop is asked for, not when the run has ended: the run ends
        from its own task with ``agent_cancelled`` ``reason`` (its open tool calls
        completed first). A run of another process gets the stop over the store.
        RunNotFound if it is unknown, ended or another user's (alike, on every process).
        """
        entry = self._runs.get(run_id)
        if entry is not None:
            if entry[0].user_id == user_id and self.cancel_run(entry[0], reason):
                return
        elif await self.backplane.stop_elsewhere(user_id, run_id, reason):
            return
        raise RunNotFound("no such run of yours is running", ref=run_id)

    def stop_requested(self, user_id: str, run_id: str, reason: str) -> bool:
        """Stop a run of this process on another process's behalf (same rules)."""
        ctx = self.get_run(run_id)
        return ctx is not None and ctx.user_id == user_id and self.cancel_run(ctx, reason)

    def run_users(self) -> list[str]:
        """Users with a registered run in this process."""
        return list(self._user_runs)

    def cancel_run(self, ctx: ExecutionContext, reason: str) -> bool:
        """Cancel any registered run for ``reason``; False if it has already ended.

        A run that never started is finished here at once; a running one is cancelled
        through its scope and finishes from its own task.
        """
        entry = self._runs.get(ctx.run_id)
        if entry is None or ctx.state.is_terminal:
            return False
        if ctx.state is RunState.PENDING:
            ctx.cancel_reason = reason
            assert self._nursery is not None
            self._nursery.start_soon(self._finish, ctx, entry[1], cancelled(reason))
            return True
        return ctx.request_cancel(reason)

    async def complete_execution(self, context: ExecutionContext, result: Any) -> None:
        """End ``context`` with ``agent_completed`` carrying ``result``.

        A run executing under the supervisor is cancelled with its tools completed
        first; a context driven by the caller is finished at once.
        """
        entry = self._runs.get(context.run_id)
        if entry is None or context.state.is_terminal:
            return
        context.result = result
        if context.state is RunState.RUNNING and context.started_at is not None:
            context.request_cancel(COMPLETED_REASON)
            await context.done.wait()
        else:
            self._begin(context)
            await entry[1].emit_started()
            await self._finish(context, entry[1], Outcome(RunState.COMPLETED, {"result": result}))

    async def _finish(self, ctx: ExecutionContext, notifier: Notifier, outcome: Outcome) -> None:
        if ctx.state.is_terminal:
            return
        now = trio.current_time()
        ctx.transition(outcome.state, now)
        payload = {**outcome.payload, "duration_ms": ctx.duration_ms(now)}
        with trio.CancelScope(shield=True), suppress(RunFinished):
            if not notifier.started:
                await notifier.emit_started()
            await notifier.emit_terminal(TERMINAL_EVENT_FOR[outcome.state], payload)
        self._unregister(ctx)
        self.stats.runs_finished[outcome.state.value] += 1
        ctx.done.set()

    def _unregister(self, ctx: ExecutionContext) -> None:
        self._runs.pop(ctx.run_id, None)
        runs = self._user_runs.get(ctx.user_id)
        if runs is not None:
            runs.discard(ctx.run_id)
            if not runs:
                del self._user_runs[ctx.user_id]

    async def find_run(self, user_id: str, message_id: str) -> tuple[str, str] | None:
        """``(run_id, thread_id)`` of the run this user's ``message_id`` started, if any.

        On any process, and for ended runs too, within the dedup window: the AG-UI
        endpoint names runs by the client's id (our ``message_id``) to join or stop them.
        """
        found = self._dedup.lookup(user_id, message_id)
        return found or await self.backplane.find_claim(user_id, message_id)

    async def run_is_live(self, user_id: str, run_id: str) -> bool:
        """Whether the user's run is running here or on another process.

        A run of another user is not live. On Redis this asks the store: it can
        raise Unavailable while Redis cannot be reached.
        """
        ctx = self.get_run(run_id)
        if ctx is not None:
            return ctx.user_id == user_id
        return await self.backplane.running_elsewhere(user_id, run_id)

    def get_run(self, run_id: str) -> ExecutionContext | None:
        """The registered (not yet ended) run with this id, if any."""
        entry = self._runs.get(run_id)
        return entry[0] if entry else None

    def runs(self) -> list[ExecutionContext]:
        """Every registered run (for cleanup and health; never per event)."""
        return [ctx for ctx, _ in self._runs.values()]

    def runs_of(self, user_id: str) -> list[ExecutionContext]:
        """The user's registered runs."""
        return [self._runs[rid][0] for rid in self._user_runs.get(user_id, ())]

    # -- delivery -----------------------------------------------------------------------

    async def ensure_event_delivery(
        self, context: ExecutionContext, event_type: str, payload: dict[str, Any]
    ) -> bool:
        """Emit an event of ``context`` and wait until it is delivered.

        True once at least one of the user's connections has written the event to its
        socket or the client acknowledged it, within ``delivery_deadline``; False if not,
        or if the run has ended. Never raises (cancellation still propagates).
        """
        entry = self._runs.get(context.run_id)
        if entry is None:
            return False
        try:
            event = await (await entry[1].emit(event_type, payload)).wait()
        except (RunFinished, Unavailable, ValueError):
            return False
        deadline = self.settings.delivery_deadline
        return await self.hub.wait_delivered(context.user_id, event.seq, deadline)

    def capacity_refusal(self, user_id: str) -> str | None:
        """Why one more connection of ``user_id`` is refused now, or None if it fits.

        Hosts call this before accepting a WebSocket (HTTP 503); :meth:`serve_connection`
        checks again and closes with 1013 (try again later) in case of a race.
        """
        settings = self.settings
        if self.hub.connection_count >= settings.max_connections:
            return f"the server holds its maximum of {settings.max_connections} connections"
        if self.hub.count_of(user_id) >= settings.max_connections_per_user:
            return f"at most {settings.max_connections_per_user} connections per user"
        return None

    async def serve_connection(
        self,
        transport: Transport,
        user_id: str,
        last_seq: int | None = None,
        epoch: str | None = None,
        *,
        credentials: Credentials | None = None,
    ) -> None:
        """Serve one authenticated WebSocket of ``user_id`` until it ends (see session).

        ``credentials`` (optional) bound the connection to its token's expiry: it is
        closed with 4401 then, unless the client sent a fresh token in an ``auth`` frame.
        """
        refusal = "server shutting down" if self.closing else self.capacity_refusal(user_id)
        if refusal is not None:
            code = CLOSE_GOING_AWAY if self.closing else CLOSE_TRY_AGAIN_LATER
            await transport.close(code, refusal[:120])
            return
        await ConnectionSession(self, transport, user_id, credentials).serve(last_seq, epoch)

    # -- upkeep and lifecycle -----------------------------------------------------------

    async def cleanup_stale_contexts(self) -> int:
        """Cancel orphaned and overdue runs now; return how many were cancelled."""
        await trio.lowlevel.checkpoint()
        return self.janitor.sweep()

    def prune(self) -> None:
        """Forget expired dedup keys, idle event logs and bookkeeping of gone users."""
        self._dedup.prune(trio.current_time())
        active = set(self._user_runs) | {c.user_id for c in self.hub.all_connections()}
        self.backplane.forget_idle(active)
        for user_id in self.hub.known_detached():
            if user_id not in active:
                self.hub.forget_user(user_id)

    def health(self) -> dict[str, Any]:
        """A JSON-able snapshot: runs by state, connections, events, latency, drops."""
        return build_health(self, trio.current_time() - self._started_at)

    def status(self) -> dict[str, Any]:
        """``status`` and ``store`` of :meth:`health` without the rest (O(1))."""
        return build_status(self)

    async def aclose(self) -> None:
        """Shut down: cancel runs (``shutdown``), flush, close connections with 1001.

        Idempotent. Bounded by ``shutdown_grace`` for the flush; runs get the same
        grace to finish their terminal event before the root nursery is cancelled.
        """
        if self.closing:
            await self.closed.wait()
            return
        self.closing = True
        with trio.CancelScope(shield=True):
            await self._drain()
        self.closed.set()

    async def _drain(self) -> None:
        grace = self.settings.shutdown_grace
        for ctx in self.runs():
            self.cancel_run(ctx, "shutdown")
        with trio.move_on_after(grace):
            for ctx in self.runs():
                await ctx.done.wait()
        for conn in self.hub.all_connections():
            conn.close_when_flushed(CLOSE_GOING_AWAY, "server shutting down")
        with trio.move_on_after(grace):
            await self.hub.wait_empty()
        for conn in self.hub.all_connections():
            conn.fail(CLOSE_GOING_AWAY, "server shutting down")

    def _attach_nursery(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        nursery.start_soon(self.janitor.run)
        nursery.start_soon(self.loop_lag.run)


def check_default_agent(registry: AgentRegistry, settings: Settings) -> None:
    """Refuse a default agent that is not registered (ConfigError, a ValueError).

    Without this check every ``user_message`` without ``agent_type`` would only get an
    ``error`` frame, and a test waiting for its run would hang until its timeout.
    """
    if registry.has_agent(settings.default_agent):
        return
    known = ", ".join(repr(name) for name in registry.agent_types) or "none"
    raise ConfigError(
        f"the default agent {settings.default_agent!r} is not registered "
        f"(registered agents: {known}); register it, or pass "
        "Settings(default_agent=...) / set WSAO_DEFAULT_AGENT to one of them"
    )


def _sender(hub: ConnectionHub, stats: OrchestratorStats, settings: Settings) -> Sender:
    """The one sender every connection's sender task runs (it keeps no per-connection
    state), so a connection costs no sender object of its own."""
    return Sender(
        hub,
        stats,
        send_deadline=settings.send_deadline,
        batch_max=settings.batch_max,
        linger=settings.sender_linger,
    )


def _dispatcher(registry: AgentRegistry, settings: Settings) -> ToolDispatcher:
    return ToolDispatcher(
        registry,
        threads=settings.tool_threads,
        max_argument_bytes=settings.max_tool_argument_bytes,
    )


@asynccontextmanager
async def open_orchestrator(
    registry: AgentRegistry, settings: Settings | None = None
) -> AsyncIterator[Orchestrator]:
    """Open an orchestrator holding its root nursery; close it on exit.

    Raises :class:`~wsao_trio.errors.ConfigError` (a ``ValueError``) at once if
    ``settings.default_agent`` is not registered in ``registry``.

    On exit every run ends with its terminal event (``agent_cancelled``, reason
    ``shutdown``, for those still running) and no task is left behind.
    """
    orch = Orchestrator(registry, settings or Settings())
    async with trio.open_nursery() as nursery:
        await nursery.start(orch.backplane.run)
        orch._attach_nursery(nursery)
        try:
            yield orch
        finally:
            await orch.aclose()
            nursery.cancel_scope.cancel()
