"""The PNG of one or several reports: latency histogram, events/s and server RSS.

Drawn from the JSON reports alone (matplotlib's Agg backend, no display), so a
figure can be redrawn from saved results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


def _histogram(ax: Any, reports: Sequence[dict[str, Any]]) -> None:
    width = 0.8 / len(reports)
    for i, report in enumerate(reports):
        buckets = report["latency_histogram_ms"]
        total = max(1, sum(count for _, count in buckets))
        xs = [j + i * width for j in range(len(buckets))]
        ax.bar(xs, [100 * c / total for _, c in buckets], width=width, label=report["name"])
    labels = [
        f"≤{edge}" if edge != "inf" else ">5000" for edge, _ in reports[0]["latency_histogram_ms"]
    ]
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))], labels, rotation=45)
    ax.set_xlabel("delivery latency, ms (server timestamp → client receipt)")
    ax.set_ylabel("% of live events")
    ax.set_title("Latency distribution")
    ax.legend(fontsize="small")


def _timeline(ax: Any, reports: Sequence[dict[str, Any]]) -> None:
    for report in reports:
        points = report["timeline"]
        ax.plot([s for s, _ in points], [n for _, n in points], label=report["name"])
    ax.set_xlabel("seconds since the harness started")
    ax.set_ylabel("events received per second")
    ax.set_title("Throughput")
    ax.legend(fontsize="small")


def _rss(ax: Any, reports: Sequence[dict[str, Any]]) -> None:
    for report in reports:
        samples = report["server"]["samples"]
        ax.plot([s[0] for s in samples], [s[1] for s in samples], label=report["name"])
    ax.set_xlabel("seconds since the harness started")
    ax.set_ylabel("server RSS, MB")
    ax.set_title("Server memory")
    ax.legend(fontsize="small")


def write_png(reports: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Draw the three panels for ``reports`` (overlaid) into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    try:
        _histogram(axes[0], reports)
        _timeline(axes[1], reports)
        _rss(axes[2], reports)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def write_ramp_png(steps: Sequence[dict[str, Any]], path: Path, bound_ms: float) -> Path:
    """Latency percentiles and events/s against users for a ramp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    try:
        users = [s["users"] for s in steps]
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            left.plot(users, [s[key] for s in steps], marker="o", label=key[:-3])
        left.axhline(bound_ms, color="red", linestyle="--", label=f"bound {bound_ms:g} ms")
        left.set_yscale("log")
        left.set(xlabel="concurrent users (connections)", ylabel="latency, ms", title="Latency")
        left.legend(fontsize="small")
        right.plot(users, [s["events_per_s"] for s in steps], marker="o")
        right.set(xlabel="concurrent users (connections)", ylabel="events/s", title="Throughput")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
