"""``python -m stress bench``: the real app against the raw-push baseline.

Starts, one after the other on a free loopback port, (1) the real app
(``python -m app``) and (2) :mod:`stress.baseline_app` (with ``--pin``: the server on
CPU 0, this load generator on CPU 1), and sends each the same two loads:

- ``latency``: ``--users`` connections, runs sent open loop at ``--rate`` runs/s —
  delivery latency under a load the server can carry (target: app p99 < 50 ms);
- ``throughput``: the same users in closed loop (each sends its next run when the
  previous one ended) — the events/s ceiling (target: app >= 70 % of baseline).

It prints both servers' figures with the app/baseline ratios and checks the targets.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import trio

from stress.load import run_load
from stress.plot import write_png
from stress.report import build, machine, out_prefix, write_json
from stress.scripted import parse_profile
from stress.server_proc import app_command, baseline_command, free_port, pin, running_server
from stress.spec import LoadSpec, parse_target

SERVER_CPU = 0
CLIENT_CPU = 1
SETTLE = 2.0
P99_TARGET_MS = 50.0
RATIO_TARGET = 0.70


@attrs.frozen
class Phase:
    """One load of the bench: open loop at ``rate`` runs/s, or closed loop (None)."""

    name: str
    rate: float | None


def phases(args: argparse.Namespace) -> tuple[Phase, ...]:
    """The latency phase (open loop at ``--rate``) and the throughput phase."""
    return (Phase("latency", args.rate), Phase("throughput", None))


def bench_spec(args: argparse.Namespace, url: str, pid: int, secret: str, phase: Phase) -> LoadSpec:
    """The load of one phase against one server."""
    return LoadSpec(
        target=parse_target(url), users=args.users, runs_per_user=args.runs_per_user,
        profile=parse_profile(args.profile), rate=phase.rate, think_ms=args.think_ms,
        duration_limit=args.duration_limit, run_timeout=args.run_timeout,
        connect_concurrency=args.connect_concurrency, secret=secret, server_pid=pid,
        seed=args.seed, ack_interval=args.ack_interval,
    )  # fmt: skip


def app_settings(args: argparse.Namespace) -> dict[str, str]:
    """``--app-env WSAO_NAME=VALUE`` pairs as a mapping."""
    out: dict[str, str] = {}
    for item in args.app_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("WSAO_"):
            raise ValueError(f"--app-env wants WSAO_NAME=VALUE, got {item!r}")
        out[name] = value
    return out


async def bench_server(
    kind: str, args: argparse.Namespace, secret: str, out: Path
) -> list[dict[str, Any]]:
    """Start one server, run every phase against it, stop it; the phase reports."""
    port = free_port()
    if kind == "app":
        argv, env = app_command(port, secret, app_settings(args))
    else:
        argv, env = baseline_command(port, secret)
    cpu = SERVER_CPU if args.pin else None
    reports = []
    async with running_server(kind, argv, env, port, out / f"{kind}.log", cpu) as server:
        for phase in phases(args):
            spec = bench_spec(args, server.url, server.pid, secret, phase)
            outcome = await run_load(spec, progress=not args.no_progress)
            reports.append(build(outcome, f"{kind} {phase.name}"))
            await trio.sleep(SETTLE)
    return reports


def ratio(app: float, baseline: float) -> float | None:
    """``app / baseline`` rounded, or None when the baseline is 0."""
    return round(app / baseline, 3) if baseline else None


def compare(app: list[dict[str, Any]], base: list[dict[str, Any]]) -> dict[str, Any]:
    """Ratios per phase and the issue's targets, judged."""
    lat_app, lat_base = app[0], base[0]
    thr_app, thr_base = app[1], base[1]
    eps = ratio(thr_app["events_per_second"], thr_base["events_per_second"])
    p99 = ratio(lat_app["latency_ms"]["p99"], lat_base["latency_ms"]["p99"])
    clean = all(r["duplicates"] == 0 and r["violations"]["count"] == 0 for r in app)
    return {
        "events_per_second_ratio": eps,
        "p99_ratio": p99,
        "targets": {
            "app_p99_under_50ms": lat_app["latency_ms"]["p99"] < P99_TARGET_MS,
            "all_critical_delivered": all(r["delivery_success"] >= 1.0 for r in app),
            "zero_duplicates_and_violations": clean,
            "events_per_second_at_least_70pct": eps is not None and eps >= RATIO_TARGET,
        },
    }


ROWS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("events/s", lambda r: r["events_per_second"]),
    ("latency p50 ms", lambda r: r["latency_ms"]["p50"]),
    ("latency p95 ms", lambda r: r["latency_ms"]["p95"]),
    ("latency p99 ms", lambda r: r["latency_ms"]["p99"]),
    ("latency max ms", lambda r: r["latency_ms"]["max"]),
    ("delivery success %", lambda r: round(r["delivery_success"] * 100, 3)),
    ("duplicates", lambda r: r["duplicates"]),
    ("violations", lambda r: r["violations"]["count"]),
    ("server RSS max MB", lambda r: r["server"]["rss_mb_max"]),
    ("server CPU mean %", lambda r: r["server"]["server_cpu_mean"]),
    ("client CPU mean %", lambda r: r["server"]["client_cpu_mean"]),
)


def format_bench(app: list[dict[str, Any]], base: list[dict[str, Any]]) -> str:
    """The side-by-side table of both servers, phase by phase."""
    lines = [f"{'':26}{'app':>14}{'baseline':>14}{'app/baseline':>14}"]
    for a, b in zip(app, base, strict=True):
        rate = a["spec"]["rate"]
        load = f"{rate:g} runs/s open loop" if rate else "closed loop"
        lines.append(f"-- {a['name'].split()[-1]} ({a['spec']['users']} users, {load})")
        for label, get in ROWS:
            x, y = get(a), get(b)
            both = isinstance(x, int | float) and isinstance(y, int | float)
            r = ratio(float(x), float(y)) if both else None
            lines.append(f"{label:26}{x!s:>14}{y!s:>14}{'' if r is None else r:>14}")
    return "\n".join(lines)


async def run_bench_command(args: argparse.Namespace) -> int:
    """``stress bench``: app then baseline; print, write JSON/PNGs; 1 if a target fails."""
    if args.pin:
        pin(os.getpid(), CLIENT_CPU)
    prefix = out_prefix(args, "bench")
    secret = secrets.token_urlsafe(32)
    app = await bench_server("app", args, secret, prefix)
    base = await bench_server("baseline", args, secret, prefix)
    verdict = compare(app, base)
    print(format_bench(app, base))
    for name, ok in verdict["targets"].items():
        print(f"target {name}: {'PASS' if ok else 'FAIL'}")
    summary = {"machine": machine(), "app": app, "baseline": base, **verdict}
    write_json(summary, prefix / "bench.json")
    for i, phase in enumerate(phases(args)):
        write_png([app[i], base[i]], prefix / f"bench-{phase.name}.png", f"bench: {phase.name}")
    print(f"wrote {prefix}/bench.json and bench-*.png")
    return 0 if all(verdict["targets"].values()) else 1
