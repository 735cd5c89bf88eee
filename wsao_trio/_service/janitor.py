"""The stale-run janitor: cancels runs nobody can see any more, and prunes state.

Every ``janitor_interval`` it cancels runs of users who have had no connection for
longer than ``orphan_timeout`` (reason ``orphaned``) and runs that outlived their
time limit without ending (reason ``stale`` — a safety net behind each run's own
timeout), then forgets expired dedup keys and idle event logs.
"""

from __future__ import annotations

import trio

from wsao_trio._runs.context import ExecutionContext
from wsao_trio._service.host import ServiceHost


class Janitor:
    """Finds stale runs of one orchestrator and cancels them."""

    def __init__(self, orchestrator: ServiceHost) -> None:
        self._orch = orchestrator

    async def run(self) -> None:
        """Sweep every ``janitor_interval`` seconds until cancelled.

        Each sweep cancels orphaned runs (no connection of the user, here or
        elsewhere, for ``orphan_timeout``) and overdue ones, then prunes dedup keys
        and idle logs. Runs in the orchestrator's root nursery, so it ends with it.
        """
        while True:
            await trio.sleep(self._orch.settings.janitor_interval)
            self.sweep()

    def sweep(self) -> int:
        """Cancel stale runs now and prune; return how many runs were cancelled."""
        now = trio.current_time()
        cancelled = 0
        for ctx in self._orch.runs():
            reason = self.stale_reason(ctx, now)
            if reason is not None and self._orch.cancel_run(ctx, reason):
                self._orch.stats.cleanups[reason] += 1
                cancelled += 1
        self._orch.prune()
        return cancelled

    def stale_reason(self, ctx: ExecutionContext, now: float) -> str | None:
        """Why ``ctx`` should be cleaned up now (``orphaned`` or ``stale``), or None."""
        settings = self._orch.settings
        hub = self._orch.hub
        present = hub.is_connected(ctx.user_id)
        if not present and not self._orch.backplane.present_elsewhere(ctx.user_id):
            since = max(hub.disconnected_since(ctx.user_id) or 0.0, ctx.created_at)
            if now - since > settings.orphan_timeout:
                return "orphaned"
        if now - ctx.created_at > settings.run_timeout + settings.janitor_interval:
            return "stale"
        return None
