"""Prometheus collectors owned by one orchestrator (never module globals).

:class:`OrchestratorCollector` reads the orchestrator's counters at scrape time, so
the event hot path pays nothing for metrics. Each orchestrator gets its own
``CollectorRegistry``; the app exposes it with ``prometheus_client.generate_latest``.

prometheus-client is the ``prometheus`` extra (``pip install 'wsao_trio[prometheus]'``):
``import wsao_trio`` never imports this module; importing it without the package
raises an ImportError that says which extra to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from wsao_trio.extras import require

require("prometheus_client", extra="prometheus", needed_by=__name__)

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.core import (  # noqa: E402
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector  # noqa: E402

from wsao_trio._state.latency import BUCKETS  # noqa: E402

if TYPE_CHECKING:
    from wsao_trio._service.orchestrator import Orchestrator

PREFIX = "wsao"


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _labelled(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class OrchestratorCollector(Collector):
    """Exposes one orchestrator's counters, gauges and latency histogram."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orch = orchestrator

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family, read from the orchestrator now."""
        yield from self._counters()
        yield from self._gauges()
        yield self._latency()
        yield from self._store()

    def _store(self) -> Iterator[Metric]:
        store = self._orch.backplane.health()
        if store.get("kind") != "redis":
            return
        yield GaugeMetricFamily(
            f"{PREFIX}_redis_available", "1 while Redis answers.", float(store["available"])
        )
        yield _counter("redis_calls", "Redis round trips.", store["calls"])
        yield _counter(
            "redis_round_trip_seconds",
            "Time spent in Redis round trips.",
            store["round_trip_seconds"],
        )
        yield _counter("redis_retries", "Redis calls retried after a failure.", store["retries"])
        yield _counter("redis_outages", "Times Redis became unreachable.", store["outages"])
        yield _counter(
            "redis_refusals", "Redis commands answered with an error.", store["refusals"]
        )
        yield _counter("redis_reconnects", "Times Redis answered again.", store["reconnects"])
        yield _counter("redis_gap_fills", "Event gaps filled from the stream.", store["gap_fills"])
        yield _counter("node_lost_runs", "Runs of dead nodes ended here.", store["node_lost_runs"])
        yield GaugeMetricFamily(f"{PREFIX}_nodes", "Live processes.", len(store["nodes"]))

    def _counters(self) -> Iterator[Metric]:
        stats = self._orch.stats
        yield _labelled("events_emitted", "Events emitted, by type.", "type", stats.events_emitted)
        yield _counter("events_delivered", "Events written to a socket.", stats.events_delivered)
        yield _counter("frames_sent", "WebSocket frames written (batched).", stats.frames_sent)
        yield _counter("runs_started", "Runs started.", stats.runs_started)
        yield _labelled("runs_finished", "Runs ended, by outcome.", "state", stats.runs_finished)
        yield _counter("dedup_hits", "Duplicate user_message frames.", stats.dedup_hits)
        yield _counter(
            "deltas_merged", "Answer deltas sent inside another (load).", stats.deltas_merged
        )
        yield _counter(
            "slow_consumer_closes", "Connections closed 4408.", stats.slow_consumer_closes
        )
        yield _counter("send_deadline_misses", "Sends past deadline.", stats.deadline_misses)
        yield _counter("buffer_overflows", "Connection buffers overflowed.", stats.buffer_overflows)
        yield _labelled(
            "stale_cleanups", "Runs cancelled by the janitor.", "reason", stats.cleanups
        )
        yield _labelled("client_errors", "Error frames sent, by code.", "code", stats.client_errors)

    def _gauges(self) -> Iterator[Metric]:
        hub = self._orch.hub
        yield GaugeMetricFamily(f"{PREFIX}_connections", "Open connections.", hub.connection_count)
        yield GaugeMetricFamily(f"{PREFIX}_users_connected", "Connected users.", hub.user_count)
        yield GaugeMetricFamily(f"{PREFIX}_active_runs", "Registered runs.", len(self._orch.runs()))
        lag = self._orch.loop_lag.statistics()
        yield GaugeMetricFamily(
            f"{PREFIX}_loop_lag_seconds", "Newest event-loop scheduling delay.", lag.last
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_loop_lag_recent_max_seconds", "Largest recent loop lag.", lag.recent_max
        )
        yield _counter("loop_stalls", "Loop lag samples over the warning.", lag.stalls)

    def _latency(self) -> Metric:
        window = self._orch.stats.delivery_latency
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), window.bucket_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(
            f"{PREFIX}_delivery_latency_seconds",
            "Event creation to socket write.",
            buckets=buckets,
            sum_value=window.total,
        )


def build_registry(orchestrator: Orchestrator) -> CollectorRegistry:
    """A fresh Prometheus registry holding this orchestrator's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OrchestratorCollector(orchestrator))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of ``registry``."""
    return generate_latest(registry)
