"""Counters the orchestrator keeps about itself, read by health() and /metrics.

One :class:`OrchestratorStats` per orchestrator (never a module global). The hot path
only increments plain integers here; Prometheus reads them at scrape time through
:mod:`wsao_trio.metrics`, so a scrape costs nothing per event.
"""

from __future__ import annotations

from collections import Counter

import attrs

from wsao_trio._state.latency import LatencyWindow


@attrs.define
class OrchestratorStats:
    """Lifetime counters of one orchestrator."""

    events_emitted: Counter[str] = attrs.field(factory=Counter)
    events_delivered: int = 0
    frames_sent: int = 0
    runs_started: int = 0
    runs_finished: Counter[str] = attrs.field(factory=Counter)
    dedup_hits: int = 0
    slow_consumer_closes: int = 0
    deadline_misses: int = 0
    buffer_overflows: int = 0
    after_terminal_drops: int = 0
    deltas_merged: int = 0  # answer deltas that went out inside another (under load)
    cleanups: Counter[str] = attrs.field(factory=Counter)
    client_errors: Counter[str] = attrs.field(factory=Counter)
    connections_opened: int = 0
    delivery_latency: LatencyWindow = attrs.field(factory=LatencyWindow)
