"""What the orchestrator's helpers see of it: the :class:`ServiceHost` Protocol.

The session (one connection), the janitor (stale runs) and the health snapshot are
typed against this Protocol, never the concrete :class:`~wsao_trio.Orchestrator`:
they use these members and no others, and the orchestrator is the one class that
provides them. :class:`RunTicket`, the answer to a run request, lives here because
the session receives it and hands it back.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from wsao_trio._backplane.base import Backplane
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._delivery.sender import Sender
from wsao_trio._runs.context import ExecutionContext
from wsao_trio._runs.notifier import Notifier
from wsao_trio._service.looplag import LoopLagMonitor
from wsao_trio._state.stats import OrchestratorStats
from wsao_trio.config import Settings
from wsao_trio.protocol import UserMessage


@attrs.frozen
class RunTicket:
    """The answer to a run request: the run (new or the original one) and whether it is a copy.

    ``context`` and ``notifier`` are None for a duplicate whose original run has ended.
    """

    run_id: str
    thread_id: str
    message_id: str
    duplicate: bool
    context: ExecutionContext | None = None
    notifier: Notifier | None = None


class ServiceHost(Protocol):
    """The orchestrator as its session, janitor and health snapshot use it."""

    settings: Settings
    stats: OrchestratorStats
    hub: ConnectionHub
    sender: Sender
    backplane: Backplane
    loop_lag: LoopLagMonitor
    closing: bool

    async def accept(self, user_id: str, message: UserMessage) -> RunTicket:
        """Create (or find) the run for a ``user_message`` frame without starting it."""
        ...

    def start_execution(self, ticket: RunTicket) -> None:
        """Start a new run's task in the root nursery (no-op for duplicates)."""
        ...

    async def stop_run(self, user_id: str, run_id: str, reason: str = "user") -> None:
        """Cancel a run of this user wherever it runs."""
        ...

    def cancel_run(self, ctx: ExecutionContext, reason: str) -> bool:
        """Cancel a registered run for ``reason``; False if it has already ended."""
        ...

    def capacity_refusal(self, user_id: str) -> str | None:
        """Why one more connection of ``user_id`` is refused now, or None if it fits."""
        ...

    def runs(self) -> list[ExecutionContext]:
        """Every registered run (for cleanup and health; never per event)."""
        ...

    def prune(self) -> None:
        """Forget expired dedup keys, idle event logs and bookkeeping of gone users."""
        ...
