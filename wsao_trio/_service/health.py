"""The health snapshot: what runs, what is connected, how delivery is doing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import trio

from wsao_trio._service.host import ServiceHost
from wsao_trio._state.runstate import RunState
from wsao_trio._state.stats import OrchestratorStats

MAX_LISTED_RUNS = 50


def _runs_by_state(orch: ServiceHost) -> dict[str, int]:
    counts = {state.value: 0 for state in RunState}
    for ctx in orch.runs():
        counts[ctx.state.value] += 1
    for state, total in orch.stats.runs_finished.items():
        counts[state] = total
    return counts


def _queues(orch: ServiceHost) -> dict[str, int]:
    depths = [conn.queue_depth for conn in orch.hub.all_connections()]
    return {"max_depth": max(depths, default=0), "total_depth": sum(depths)}


def _events(orch: ServiceHost) -> dict[str, Any]:
    emitted = orch.stats.events_emitted
    return {
        "emitted": sum(emitted.values()),
        "delivered": orch.stats.events_delivered,
        "held": orch.backplane.held_events,
        "by_type": dict(emitted),
    }


def _drops(stats: OrchestratorStats) -> dict[str, int]:
    return {
        "slow_consumer_closes": stats.slow_consumer_closes,
        "deadline_misses": stats.deadline_misses,
        "buffer_overflows": stats.buffer_overflows,
        "after_terminal": stats.after_terminal_drops,
    }


def _cleanups(stats: OrchestratorStats) -> dict[str, int]:
    counts = {"orphaned": stats.cleanups["orphaned"], "stale": stats.cleanups["stale"]}
    return {**counts, "total": sum(stats.cleanups.values())}


def _loop_lag(orch: ServiceHost) -> dict[str, Any]:
    lag = orch.loop_lag.statistics()
    return {
        "last": round(lag.last * 1000, 3),
        "recent_max": round(lag.recent_max * 1000, 3),
        "stalls": lag.stalls,
        "warning_ms": round(orch.loop_lag.warning * 1000, 3),
    }


def task_counts() -> dict[str, Any]:
    """Live trio tasks of this process, in all and by top-level package of their
    function (walks the task tree: for health, not per event)."""
    root = trio.lowlevel.current_root_task()
    nurseries = list(root.child_nurseries if root is not None else ())
    by_package: Counter[str] = Counter()
    while nurseries:
        for task in nurseries.pop().child_tasks:
            package = task.name.partition(".")[0]
            by_package[package if package.isidentifier() else "trio"] += 1
            nurseries.extend(task.child_nurseries)
    return {"total": by_package.total() + 1, "by_package": dict(by_package)}


def _status(orch: ServiceHost) -> str:
    if orch.closing:
        return "stopping"
    return "ok" if orch.backplane.available else "degraded"


def build_status(orch: ServiceHost) -> dict[str, Any]:
    """Status and store only: O(1), for the public, unauthenticated ``/health``."""
    return {"status": _status(orch), "store": orch.backplane.health()}


def build_health(orch: ServiceHost, uptime: float) -> dict[str, Any]:
    """A JSON-able snapshot of one orchestrator (O(runs + connections))."""
    now = trio.current_time()
    return {
        "status": _status(orch),
        "store": orch.backplane.health(),
        "uptime_seconds": round(uptime, 3),
        "connections": orch.hub.connection_count,
        "users_connected": orch.hub.user_count,
        "runs": _runs_by_state(orch),
        "events": _events(orch),
        "delivery_latency_ms": attrs.asdict(orch.stats.delivery_latency.summary()),
        "drops": _drops(orch.stats),
        "dedup_hits": orch.stats.dedup_hits,
        "cleanups": _cleanups(orch.stats),
        "queues": _queues(orch),
        "loop_lag_ms": _loop_lag(orch),
        "tasks": task_counts(),
        "active_runs": [ctx.describe(now) for ctx in orch.runs()[:MAX_LISTED_RUNS]],
    }
