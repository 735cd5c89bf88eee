"""``python -m stress scale`` and ``python -m stress chaos``: the Redis scale-out, measured.

``scale`` runs the same closed-loop load (the throughput ceiling) against, in one run:
the in-memory app, one app process on Redis, and two app processes on one Redis (users
split; each user's lineages start on different processes so deliveries cross). For
each it reports events/s, delivery p50/p99 and CPU per event summed over every
process, ``redis-server`` included. Then an open-loop phase at ``--rate`` with
``--tabs 2`` connections per user, one on each process: half of all deliveries cross
processes (send on one, read on the other), the p99 the contract's target is about.

``chaos`` runs two processes on one Redis and SIGKILLs one of them every
``--kill-every`` seconds (restarting it on its port), while the users' clients resume
on the other process; it reports losses, duplicates and terminals per run, and what
Redis still holds once the keys' TTLs have passed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import psutil
import trio

from stress.http_client import request
from stress.load import LoadOutcome, run_load
from stress.redis_proc import RedisProcess, running_redis
from stress.report import build, machine, out_prefix, write_json
from stress.scripted import parse_profile
from stress.server_proc import (
    HOST,
    ROOT,
    ServerProcess,
    app_command,
    free_port,
    running_server,
    wait_ready,
)
from stress.spec import LoadSpec, Target, parse_target
from stress.tokens import mint

NODE_TIMEOUT = 2.0
"""Chaos only (a killed node's runs end within seconds); ``scale`` runs the defaults."""
REAP_SLACK = 0.5
"""Seconds the reaper may take beyond lease expiry + one reap interval (its own work)."""
TASK_SLACK = 1
"""Tasks a node may hold over its idle level at the end (an upkeep step in progress)."""
NODE_SETTINGS = (("WSAO_NODE_TIMEOUT", str(NODE_TIMEOUT)), ("WSAO_JANITOR_INTERVAL", "0.5"))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (gone processes count 0)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@asynccontextmanager
async def app_nodes(
    count: int, secret: str, out: Path, redis: RedisProcess | None
) -> AsyncIterator[list[ServerProcess]]:
    """``count`` app processes (on Redis when given); stopped on exit."""
    settings = {"WSAO_REDIS_URL": redis.url} if redis else {}  # defaults otherwise
    async with AsyncExitStack() as stack:
        nodes = []
        for i in range(count):
            port = free_port()
            argv, env = app_command(port, secret, settings)
            log = out / f"app-{i}-{port}.log"
            nodes.append(
                await stack.enter_async_context(running_server("app", argv, env, port, log))
            )
        yield nodes


def spec_for(
    args: argparse.Namespace, targets: list[Target], secret: str, **changes: Any
) -> LoadSpec:
    """A load over the processes at ``targets``: the first is the target, the others
    alternates (each reconnect moves to the next)."""
    fields: dict[str, Any] = dict(
        target=targets[0], alternates=tuple(targets[1:]), users=args.users,
        runs_per_user=args.runs_per_user, profile=parse_profile(args.profile),
        duration_limit=args.duration_limit, run_timeout=args.run_timeout, secret=secret,
        connect_concurrency=64, seed=args.seed,
    )  # fmt: skip
    fields.update(changes)
    return LoadSpec(**fields)


async def measured(spec: LoadSpec, pids: list[int], name: str) -> dict[str, Any]:
    """Run one load and add the CPU all ``pids`` used per delivered event."""
    before = cpu_seconds(pids)
    report = build(await run_load(spec, progress=False), name)
    used = cpu_seconds(pids) - before
    events = max(1, report["events"].get("events", 0))
    report["cpu_ms_per_event_all_processes"] = round(used / events * 1000, 4)
    report["cpu_seconds_all_processes"] = round(used, 3)
    return report


async def scale_mode(
    args: argparse.Namespace, name: str, count: int, redis: RedisProcess | None, out: Path
) -> list[dict[str, Any]]:
    """The closed-loop load (and for two nodes the cross-process phase) of one mode."""
    secret = secrets.token_urlsafe(32)
    async with app_nodes(count, secret, out, redis) as nodes:
        pids = [n.pid for n in nodes] + ([redis.pid] if redis else [])
        targets = [parse_target(node.url) for node in nodes]
        reports = [await measured(spec_for(args, targets, secret), pids, f"{name} closed loop")]
        if count > 1:
            cross = spec_for(args, targets, secret, rate=args.rate, duplicate_sends=2)
            reports.append(await measured(cross, pids, f"{name} cross-process"))
    return reports


def row(report: dict[str, Any]) -> str:
    """One line of the printed table."""
    latency = report["latency_ms"]
    return (
        f"{report['name']:28}{report['events_per_second']:>12}{latency['p50']:>10}"
        f"{latency['p99']:>10}{report['cpu_ms_per_event_all_processes']:>12}"
        f"{report['delivery_success']:>10}{report['duplicates']:>6}{report['violations']['count']:>6}"
    )


async def run_scale_command(args: argparse.Namespace) -> int:
    """``stress scale``: memory, Redis x1, Redis x2 in one run; print and write JSON."""
    prefix = out_prefix(args, "scale")
    reports = await scale_mode(args, "memory x1", 1, None, prefix)
    async with running_redis() as redis:
        reports += await scale_mode(args, "redis x1", 1, redis, prefix)
        reports += await scale_mode(args, "redis x2", 2, redis, prefix)
    header = f"{'mode':28}{'events/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'cpu ms/ev':>12}"
    print(header + f"{'delivered':>10}{'dup':>6}{'viol':>6}")
    for report in reports:
        print(row(report))
    verdict = judge(reports)
    for target, ok in verdict.items():
        print(f"target {target}: {'PASS' if ok else 'FAIL'}")
    write_json(
        {"machine": machine(), "reports": reports, "targets": verdict}, prefix / "scale.json"
    )
    print(f"wrote {prefix}/scale.json")
    return 0 if all(verdict.values()) else 1


def judge(reports: list[dict[str, Any]]) -> dict[str, bool]:
    """The issue's targets, from the reports of one run."""
    by_name = {r["name"]: r for r in reports}
    memory, one = by_name["memory x1 closed loop"], by_name["redis x1 closed loop"]
    cross = by_name["redis x2 cross-process"]
    cpu = one["cpu_ms_per_event_all_processes"] / max(
        1e-9, memory["cpu_ms_per_event_all_processes"]
    )
    return {
        "redis x1 >= 60% of memory events/s": one["events_per_second"]
        >= 0.6 * memory["events_per_second"],
        "cpu per event <= 2x memory": cpu <= 2.0,
        "cross-process p99 < 50 ms": cross["latency_ms"]["p99"] < 50.0,
        "nothing lost or doubled": all(
            r["delivery_success"] == 1.0 and r["duplicates"] == 0 for r in reports
        ),
    }


@attrs.define
class ChaosNode:
    """An app process that the chaos run kills and starts again on the same port."""

    port: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: trio.Process | None = None
    starts: int = 0

    async def start(self) -> None:
        """Start (again) and wait until ``/health`` answers 200."""
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = await trio.lowlevel.open_process(
                self.argv, env=self.env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT
            )
        await wait_ready(self.process, self.port, self.log)

    async def kill(self) -> None:
        """SIGKILL: no drain, no terminal events from this process."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    @property
    def target(self) -> Target:
        """Its WebSocket endpoint."""
        return parse_target(f"ws://{HOST}:{self.port}/ws")


async def kill_and_restart(nodes: list[ChaosNode], every: float, kills: list[float]) -> None:
    """SIGKILL the nodes in turn every ``every`` s and start each again on its port.

    ``kills`` gets the wall-clock time of each kill (events carry wall-clock stamps).
    """
    turn = 0
    while True:
        await trio.sleep(every)
        node = nodes[turn % len(nodes)]
        await node.kill()
        kills.append(time.time())
        await node.start()
        turn += 1


async def task_count(node: ChaosNode, secret: str) -> int:
    """The node's live trio tasks outside the Redis client's connection pool (which
    keeps up to ``WSAO_REDIS_MAX_CONNECTIONS`` for reuse), from ``/health/details``."""
    headers = {"Authorization": f"Bearer {mint(secret, 'chaos-observer')}"}
    status, body = await request(HOST, node.port, "GET", "/health/details", headers=headers)
    if status != 200:
        raise RuntimeError(f"/health/details answered {status}: {body[:200]!r}")
    tasks = json.loads(body)["tasks"]
    return int(tasks["total"]) - int(tasks["by_package"].get("coredis", 0))


def node_lost_delays(outcome: LoadOutcome, kills: list[float]) -> list[float]:
    """Seconds from each kill to every ``node_lost`` terminal that followed it."""
    delays = []
    for user in outcome.users:
        for stamp in user.lineages[0].checker.node_lost_stamps:
            before = [kill for kill in kills if kill <= stamp]
            if before:
                delays.append(stamp - before[-1])
    return sorted(delays)


async def redis_leftovers(url: str) -> dict[str, int]:
    """What Redis holds after the run: leases, run bookkeeping, presence, logs."""
    import coredis

    client: coredis.Redis[str] = coredis.Redis.from_url(url, decode_responses=True)
    async with client:
        keys = [key async for key in client.scan_iter(match="wsao:*")]
    kinds = {"lease": 0, "runs": 0, "tools": 0, "presence": 0, "log": 0, "meta": 0, "msg": 0}
    for key in keys:
        for kind in kinds:
            if key.endswith(":" + kind) or f":{kind}:" in key:
                kinds[kind] += 1
    return kinds


async def run_chaos_command(args: argparse.Namespace) -> int:
    """``stress chaos``: kill one of two processes every S s; nothing may be lost."""
    prefix = out_prefix(args, "chaos")
    prefix.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    kills: list[float] = []
    async with running_redis() as redis:
        nodes = [chaos_node(redis, secret, prefix) for _ in range(2)]
        try:
            report = await _chaos_load(args, nodes, secret, kills)
            await trio.sleep(NODE_TIMEOUT * 3 + 1)
            report["redis_after_ttl"] = await redis_leftovers(redis.url)
            report["tasks_after"] = [await task_count(node, secret) for node in nodes]
        finally:
            for node in nodes:
                await node.kill()
    report["kills"] = len(kills)
    print(format_chaos(report))
    write_json(report, prefix / "chaos.json")
    print(f"wrote {prefix}/chaos.json")
    return 0 if _chaos_ok(report) else 1


def chaos_node(redis: RedisProcess, secret: str, out: Path) -> ChaosNode:
    """One chaos process on a free port of the shared Redis."""
    port = free_port()
    settings = dict(NODE_SETTINGS) | {"WSAO_REDIS_URL": redis.url}
    argv, env = app_command(port, secret, settings)
    return ChaosNode(port, argv, env, out / f"app-{port}.log")


async def _chaos_load(
    args: argparse.Namespace, nodes: list[ChaosNode], secret: str, kills: list[float]
) -> dict[str, Any]:
    for node in nodes:
        await node.start()
    await trio.sleep(NODE_TIMEOUT)  # both leases and subscriptions settled: idle
    tasks_idle = [await task_count(node, secret) for node in nodes]
    spec = spec_for(args, [node.target for node in nodes], secret)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(kill_and_restart, nodes, args.kill_every, kills)
        outcome = await run_load(spec, progress=False)
        nursery.cancel_scope.cancel()
    report = build(outcome, "chaos")
    delays = node_lost_delays(outcome, kills)
    report["node_lost_seconds_after_kill"] = {
        "count": len(delays),
        "max": round(max(delays, default=0.0), 3),
        "bound": NODE_TIMEOUT + NODE_TIMEOUT / 2,  # lease expiry + one reap interval
    }
    report["tasks_idle"] = tasks_idle
    report["machine"] = machine()
    return report


def _chaos_ok(report: dict[str, Any]) -> bool:
    """No seq gap or other violation, no duplicate, every run sent ended exactly once,
    dead nodes' runs ended in time, tasks back to the idle level."""
    runs = report["runs"]
    clean = report["violations"]["count"] == 0 and report["duplicates"] == 0
    lost = report["node_lost_seconds_after_kill"]
    in_time = lost["max"] <= lost["bound"] + REAP_SLACK
    idle = max(report["tasks_idle"]) + TASK_SLACK
    return bool(clean and runs["ended"] == runs["sent"] and in_time and
                max(report["tasks_after"]) <= idle)  # fmt: skip


def format_chaos(report: dict[str, Any]) -> str:
    """The chaos run's figures, one per line."""
    runs = report["runs"]
    lines = [
        f"kills: {report['kills']}  sessions: {report['connections']['sessions']}",
        f"runs sent {runs['sent']}, ended {runs['ended']} (completed {runs['completed']}, "
        f"node_lost/errors {runs['errored']}, cancelled {runs['cancelled']})",
        f"lost (seq gaps) and other violations: {report['violations']['count']}  "
        f"duplicates: {report['duplicates']}  (planned critical events received: "
        f"{report['delivery_success']:.4f}; runs that ended node_lost emit fewer)",
        f"redis keys after TTLs: {report['redis_after_ttl']}",
        f"node_lost terminals, seconds after the kill: {report['node_lost_seconds_after_kill']}",
        f"trio tasks per node (without the Redis pool's): idle {report['tasks_idle']}, "
        f"after {report['tasks_after']}",
    ]
    return "\n".join(lines)
