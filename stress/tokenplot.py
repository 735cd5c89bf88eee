"""The PNG of a ``stress tokens`` run, drawn from its JSON summary alone (Agg backend).

Left: token latency p50/p95/p99 per mode (the median run). Middle: with ``--knee``,
token p99 against R for every mode (the median of the loads of each R), with
the 50 ms bound. Right: server CPU per token
per mode.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

PERCENTILES = ("p50", "p95", "p99")
BOUND_MS = 50.0


def _latency(ax: Any, medians: list[dict[str, Any]]) -> None:
    width = 0.8 / len(PERCENTILES)
    for i, key in enumerate(PERCENTILES):
        xs = [j + i * width for j in range(len(medians))]
        ax.bar(xs, [m["token_latency_ms"][key] for m in medians], width=width, label=key)
    ax.set_xticks([j + width for j in range(len(medians))], [m["name"] for m in medians])
    ax.axhline(BOUND_MS, color="red", linestyle="--", label=f"{BOUND_MS:g} ms")
    ax.set_yscale("log")
    first = medians[0]
    ax.set_title(f"token latency, {first['users']} users x {first['tabs']} tabs, "
                 f"{first['rate']} tok/s")  # fmt: skip
    ax.set_ylabel("due time → tab receipt, ms")
    ax.legend(fontsize="small")


def _knees(ax: Any, knees: list[dict[str, Any]]) -> None:
    for found in knees:
        by_users: dict[int, list[float]] = {}
        for step in found["steps"]:
            by_users.setdefault(step["users"], []).append(step["token_latency_ms"]["p99"])
        users = sorted(by_users)
        ax.plot(users, [statistics.median(by_users[u]) for u in users], marker="o",
                label=f"{found['mode']} (knee {found['knee_users']})")  # fmt: skip
    ax.axhline(BOUND_MS, color="red", linestyle="--")
    ax.set_yscale("log")
    ax.set(xlabel="R: concurrent streams (users)", ylabel="token p99, ms", title="knee search")
    if knees:
        ax.legend(fontsize="small")


def _cpu(ax: Any, medians: list[dict[str, Any]]) -> None:
    ax.bar([m["name"] for m in medians], [m["server"]["cpu_ms_per_token"] for m in medians])
    ax.set(ylabel="server CPU ms per token produced", title="CPU per token (all processes)")


def write_tokens_png(summary: dict[str, Any], path: Path) -> Path:
    """Draw the three panels of ``summary`` (``stress tokens``'s JSON) into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    try:
        _latency(axes[0], summary["medians"])
        _knees(axes[1], summary.get("knees", []))
        _cpu(axes[2], summary["medians"])
        fig.suptitle("stress tokens: raw-push baseline vs the orchestrator")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
