"""``python -m stress attack``: each attack against a fresh ``python -m app``, with a bystander.

For every attack (``--kind``, or all four) the harness starts the real app on a free
loopback port, then:

1. probes a bystander for ``BASELINE`` seconds (connect latency, trivial-run latency:
   see :mod:`stress.bystander`);
2. runs the attack (:mod:`stress.attacks`, at most ``--duration`` seconds, 20 at most)
   with the bystander probing beside it, while sampling the server's RSS and reading
   its loop lag from ``/metrics``;
3. waits ``SETTLE`` seconds and reads the RSS again.

It prints a table per attack and writes every figure to ``OUT.json``. The exit status
is 1 when the bystander's p95 connect or run latency during an attack was over
``--bound-ms``, or a probe failed (other than the flood's expected HTTP 503 while
the global cap is full).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import trio

from stress.attacks import ATTACKS, AttackContext
from stress.holders import raise_own_fd_limit
from stress.http_client import request
from stress.report import format_table, machine, out_prefix, write_json
from stress.sampler import ProcessSamples, sample_forever
from stress.server_proc import ROOT, ServerProcess, app_command, free_port, running_server
from stress.spec import parse_target
from stress.tokens import mint

BASELINE = 3.0
SETTLE = 3.0
MAX_DURATION = 20.0
FLOOD_CAP = 1000
SCALE: Mapping[str, int] = MappingProxyType(
    {"slowloris": 3000, "bomb": 2000, "agent": 1, "flood": 60}
)
SETTINGS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"flood": MappingProxyType({"WSAO_MAX_CONNECTIONS": str(FLOOD_CAP)})}
)
LAG_METRIC = "wsao_loop_lag_recent_max_seconds"


def attack_args(parser: argparse.ArgumentParser) -> None:
    """The ``attack`` command's options."""
    parser.add_argument("--kind", choices=[*ATTACKS, "all"], default="all")
    parser.add_argument("--duration", type=float, default=15.0, help="s per attack (<= 20)")
    parser.add_argument("--bound-ms", type=float, default=1000.0, help="bystander p95 bound")
    parser.add_argument("--scale", type=int, default=None, help="override the attack's size")
    parser.add_argument("--out", type=Path, default=None, help="results path prefix")


async def watch_lag(server: ServerProcess, seen: list[float]) -> None:
    """Append the server's recent max loop lag (s) from ``/metrics`` every 0.5 s."""
    while True:
        try:
            _, body = await request("127.0.0.1", server.port, "GET", "/metrics", timeout=5.0)
        except (OSError, trio.TooSlowError):
            body = b""
        for line in body.decode(errors="replace").splitlines():
            if line.startswith(LAG_METRIC + " "):
                seen.append(float(line.split()[1]))
        await trio.sleep(0.5)


async def bystander(server: ServerProcess, token: str, seconds: float) -> dict[str, Any]:
    """The bystander's probes over ``seconds``, from its own process."""
    argv = [sys.executable, "-m", "stress.bystander", server.url, token, str(seconds)]
    done = await trio.run_process(argv, capture_stdout=True, cwd=str(ROOT))
    summary: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return summary


async def attack_beside_probes(
    kind: str, ctx: AttackContext, server: ServerProcess, token: str
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Run the attack with the bystander probing; its probes, figures and seconds."""
    async with trio.open_nursery() as nursery:
        during = _Result()
        nursery.start_soon(during.fill, bystander(server, token, ctx.duration + 1))
        started = time.perf_counter()
        figures = await ATTACKS[kind](ctx)
        took = time.perf_counter() - started
    return during.value, figures, took


class _Result:
    """The result of a coroutine run as a task."""

    value: dict[str, Any]

    async def fill(self, coro: Awaitable[dict[str, Any]]) -> None:
        self.value = await coro


def rss_figures(samples: ProcessSamples, attack_window: tuple[float, float]) -> dict[str, Any]:
    """Server RSS (MiB): at the attack's start, its peak during, and after settling."""
    start, end = attack_window
    rss = samples.server
    before = [r for t, r, _ in rss if t <= start] or [rss[0][1]]
    during = [r for t, r, _ in rss if start < t <= end] or before
    return {
        "rss_mb_before": round(before[-1], 1),
        "rss_mb_peak": round(max(during), 1),
        "rss_mb_after": round(rss[-1][1], 1),
    }


async def measure(kind: str, server: ServerProcess, ctx: AttackContext) -> dict[str, Any]:
    """Baseline, attack beside the bystander, settle: the attack's whole report."""
    token, lag = mint(ctx.secret, "bystander"), list[float]()
    samples, origin = ProcessSamples(server.pid), time.time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample_forever, samples, origin, 0.25)
        nursery.start_soon(watch_lag, server, lag)
        baseline = await bystander(server, token, BASELINE)
        start = time.time() - origin
        during, figures, took = await attack_beside_probes(kind, ctx, server, token)
        await trio.sleep(SETTLE)
        nursery.cancel_scope.cancel()
    return {
        "attack": kind, "scale": ctx.scale, "seconds": round(took, 1), "figures": figures,
        "bystander_baseline": baseline, "bystander_during": during,
        "server": {**rss_figures(samples, (start, start + took)),
                   "loop_lag_ms_max": round(max(lag, default=0.0) * 1000, 1)},
    }  # fmt: skip


def within_bound(report: dict[str, Any], bound_ms: float) -> bool:
    """The bystander's p95s during the attack are within the bound, no probe failed."""
    during = report["bystander_during"]
    allowed = {"connect http 503"} if report["attack"] == "flood" else set()
    failed = set(during["failures"]) - allowed
    latency_ok = max(during["connect_ms"]["p95"], during["run_ms"]["p95"]) <= bound_ms
    return latency_ok and not failed and during["run_ms"]["count"] > 0


async def run_attack(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start a fresh app, measure one attack against it, stop it."""
    secret, port = secrets.token_urlsafe(32), free_port()
    argv, env = app_command(port, secret, SETTINGS.get(kind, {}))
    prefix = out_prefix(args, "attack")
    scale = args.scale or SCALE[kind]
    async with running_server("app", argv, env, port, Path(f"{prefix}-{kind}.log")) as server:
        duration = min(args.duration, MAX_DURATION)
        ctx = AttackContext(parse_target(server.url), secret, duration, scale)
        report = await measure(kind, server, ctx)
    report["within_bound"] = within_bound(report, args.bound_ms)
    return report


def _probe_row(probe: str, base: dict[str, Any], during: dict[str, Any]) -> tuple[str, str]:
    b, d = base[probe], during[probe]
    return (
        f"bystander {probe[:-3]} p50/p95/max ms",
        f"{b['p50']:.1f}/{b['p95']:.1f}/{b['max']:.1f} before, "
        f"{d['p50']:.1f}/{d['p95']:.1f}/{d['max']:.1f} during ({d['count']})",
    )


def attack_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The printed table of one attack."""
    base, during = report["bystander_baseline"], report["bystander_during"]
    server = report["server"]
    rows = [(key, str(value)) for key, value in report["figures"].items()]
    rows += [_probe_row(probe, base, during) for probe in ("connect_ms", "run_ms")]
    rows.append(("bystander failures during", str(during["failures"] or "none")))
    rows.append(
        (
            "server RSS before / peak / after MiB",
            f"{server['rss_mb_before']} / {server['rss_mb_peak']} / {server['rss_mb_after']}",
        )
    )
    rows.append(("server loop lag max ms", str(server["loop_lag_ms_max"])))
    rows.append(("within bound", str(report["within_bound"])))
    return rows  # fmt: skip


async def run_attack_command(args: argparse.Namespace) -> int:
    """``stress attack``: each chosen attack in turn; exit 1 if any broke the bound."""
    raise_own_fd_limit(16384)
    args.out = out_prefix(args, "attack")  # one prefix for the logs and the JSON
    kinds = list(ATTACKS) if args.kind == "all" else [args.kind]
    reports = []
    for kind in kinds:
        report = await run_attack(kind, args)
        print(format_table(attack_rows(report), f"stress attack {kind} ({report['seconds']} s)"))
        reports.append(report)
    path = Path(f"{out_prefix(args, 'attack')}.json")
    summary = {"bound_ms": args.bound_ms, "machine": machine(), "attacks": reports}
    print(f"wrote {write_json(summary, path)}")
    return 0 if all(r["within_bound"] for r in reports) else 1
