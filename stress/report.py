"""Turn a load run's observations into a report: a dict (JSON), a table, files.

``delivery_success`` is critical events received over critical events expected from
the profile (``users x runs_per_user x critical_per_run`` for every connection
lineage), so a run that never started counts as undelivered rather than vanishing.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from stress.checker import Violations
from stress.load import LoadOutcome
from stress.recorder import Recorder
from stress.stats import summarize

HISTOGRAM_EDGES_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = ""
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def histogram(values: Any) -> list[list[Any]]:
    """Counts of latencies (ms) per bucket ``[upper_edge, count]``; the last is ``inf``."""
    counts = [0] * (len(HISTOGRAM_EDGES_MS) + 1)
    for value in values:
        for i, edge in enumerate(HISTOGRAM_EDGES_MS):
            if value <= edge:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
    edges: list[Any] = [*HISTOGRAM_EDGES_MS, "inf"]
    return [[e, c] for e, c in zip(edges, counts, strict=True)]


def _tally(outcome: LoadOutcome) -> dict[str, Any]:
    violations = Violations()
    errors: Counter[str] = Counter(outcome.recorder.errors)
    totals: Counter[str] = Counter()
    terminals: Counter[str] = Counter()
    for user in outcome.users:
        violations.merge(user.ledger.violations)
        expected = outcome.spec.runs_per_user * user.profile.critical_per_run
        for lineage in user.lineages:
            c = lineage.checker
            violations.merge(c.violations)
            totals.update(events=c.events, critical=c.critical, duplicates=c.duplicates)
            totals.update(lost=c.lost, replayed=c.replayed, expected=expected)
            totals.update(empty_epoch_resets=c.empty_epoch_resets)
            errors.update({f"error_frame:{k}": v for k, v in c.errors.items()})
        terminals.update(user.lineages[0].checker.terminals)
        if user.profile.fail == 0 and terminals_bad(user.lineages[0].checker.terminals):
            errors["unexpected_terminal"] += terminals_bad(user.lineages[0].checker.terminals)
    return {"violations": violations, "errors": errors, "totals": totals, "terminals": terminals}


def terminals_bad(terminals: Counter[str]) -> int:
    """Runs that ended otherwise than ``agent_completed``."""
    return terminals["agent_error"] + terminals["agent_cancelled"]


def build(outcome: LoadOutcome, name: str) -> dict[str, Any]:
    """The JSON-able report of one load run."""
    rec, tally = outcome.recorder, _tally(outcome)
    totals, violations = tally["totals"], tally["violations"]
    elapsed = max(1e-9, (rec.last_event or outcome.ended_at) - outcome.go_at)
    timeline: Counter[int] = rec.fast.per_second + rec.slow.per_second + rec.replayed.per_second
    return {
        "name": name,
        "spec": outcome.spec.describe(),
        "machine": machine(),
        "connections": _connections(outcome),
        "runs": _runs(outcome, tally["terminals"]),
        "events": dict(totals),
        **_frames(rec, totals["events"]),
        **_delivery(totals),
        "events_per_second": round(totals["events"] / elapsed, 1),
        "elapsed_s": round(elapsed, 3),
        **_latency(rec),
        "violations": _violations(violations),
        "errors": {"count": sum(tally["errors"].values()), "by_kind": dict(tally["errors"])},
        "server": outcome.samples.summary(_window(outcome)),
        "timeline": sorted(timeline.items()),
        "timed_out": outcome.timed_out,
    }


def _delivery(totals: Counter[str]) -> dict[str, Any]:
    return {
        "delivery_success": round(totals["critical"] / max(1, totals["expected"]), 6),
        "duplicates": totals["duplicates"],
    }


def _frames(rec: Recorder, events: int) -> dict[str, Any]:
    return {
        "frames_received": rec.frames_received,
        "events_per_frame": round(events / max(1, rec.frames_received), 2),
        "acks_sent": rec.acks_sent,
    }


def _window(outcome: LoadOutcome) -> tuple[float, float]:
    rec = outcome.recorder
    return (outcome.go_at - rec.origin, (rec.last_event or outcome.ended_at) - rec.origin)


def _latency(rec: Recorder) -> dict[str, Any]:
    return {
        "latency_ms": summarize(rec.fast.values).as_dict(),
        "latency_slow_clients_ms": summarize(rec.slow.values).as_dict(),
        "latency_histogram_ms": histogram(rec.fast.values),
    }


def _connections(outcome: LoadOutcome) -> dict[str, Any]:
    rec = outcome.recorder
    return {
        "lineages": sum(len(u.lineages) for u in outcome.users),
        "connected": rec.connected,
        "connect_failures": rec.connect_failures,
        "peak_open": rec.peak_connections,
        "sessions": rec.sessions,
        "client_drops": rec.drops,
        "server_closes": dict(rec.closes),
        "connect_seconds": round(outcome.connect_seconds, 3),
    }


def _runs(outcome: LoadOutcome, terminals: Counter[str]) -> dict[str, Any]:
    spec = outcome.spec
    return {
        "planned": spec.users * spec.runs_per_user,
        "sent": sum(len(u.ledger.sent) for u in outcome.users),
        "frames_sent": outcome.recorder.messages_sent,
        "accepted_fresh": sum(sum(u.ledger.fresh.values()) for u in outcome.users),
        "accepted_duplicate": sum(u.ledger.duplicate_answers for u in outcome.users),
        "ended": sum(terminals.values()),
        "completed": terminals["agent_completed"],
        "errored": terminals["agent_error"],
        "cancelled": terminals["agent_cancelled"],
    }


def _violations(violations: Violations) -> dict[str, Any]:
    return {
        "count": violations.count,
        "by_kind": dict(violations.by_kind),
        "examples": violations.examples,
    }


def table_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline figures of one report as ``(label, value)`` rows."""
    lat, runs, conns = report["latency_ms"], report["runs"], report["connections"]
    server = report["server"]
    return [
        ("connections (peak open)", f"{conns['peak_open']} ({conns['connect_failures']} failed)"),
        ("runs ended / planned", f"{runs['ended']} / {runs['planned']}"),
        ("events received", f"{report['events'].get('events', 0)}"),
        ("events/s", f"{report['events_per_second']:,.0f}"),
        ("latency p50/p95/p99/max ms", f"{lat['p50']:.1f} / {lat['p95']:.1f} / "
         f"{lat['p99']:.1f} / {lat['max']:.1f}"),
        ("delivery success", f"{report['delivery_success'] * 100:.3f} %"),
        ("duplicates", str(report["duplicates"])),
        ("violations", str(report["violations"]["count"])),
        ("errors", f"{report['errors']['count']} {report['errors']['by_kind'] or ''}"),
        ("server closes", str(conns["server_closes"] or "-")),
        ("server RSS MB start/max/end", f"{server['rss_mb_start']} / {server['rss_mb_max']} / "
         f"{server['rss_mb_end']}"),
        ("CPU % server / client", f"{server['server_cpu_mean']} / {server['client_cpu_mean']}"),
    ]  # fmt: skip


def format_table(rows: list[tuple[str, str]], title: str) -> str:
    """Rows as an aligned two-column text table."""
    width = max(len(label) for label, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(lines)


def write_json(report: dict[str, Any], path: Path) -> Path:
    """Write ``report`` as indented JSON, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path


RESULTS = Path("stress/results")


def out_prefix(args: argparse.Namespace, default: str) -> Path:
    """Where results go: ``--out`` or ``stress/results/<default>-<time>``."""
    if args.out is not None:
        return Path(args.out)
    return RESULTS / f"{default}-{time.strftime('%Y%m%d-%H%M%S')}"


def passed(report: dict[str, Any]) -> bool:
    """No violation, no duplicate, every critical event delivered."""
    return bool(
        report["violations"]["count"] == 0
        and report["duplicates"] == 0
        and report["delivery_success"] >= 1.0
    )
