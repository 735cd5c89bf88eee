"""``python -m stress chaos --workers N``: SIGKILL workers of one supervised bind, repeatedly.

One ``python -m app --workers N`` on one redis-server; every client (the load's users,
a bystander in its own process, a ``/health`` prober) connects to its single bind.
Every ``--kill-every`` seconds the oldest worker is SIGKILLed (found with psutil among
the parent's children); the run then waits until the parent's replacement *answers*:
a fresh connection's ``GET /health`` is answered by the new pid (the server side of
that very connection is among the new pid's sockets). Meanwhile the users' clients
resume on the same bind (the kernel hands them to a live worker) and the dead
worker's runs end ``node_lost`` on the others.

It reports, per kill and as a maximum, the seconds from the SIGKILL to the new worker
process (``spawned``) and to its first answer (``serving``); events lost (seq gaps)
and duplicated; runs sent and ended with exactly one terminal; the load's delivery
p99 and the bystander's connect and trivial-run p99; ``/health`` probes that failed;
and how the parent ended on SIGTERM (exit code, workers left). Exit status 0 when
nothing was lost or doubled, every run ended once, every replacement answered within
``REPLACED_WITHIN`` s and the parent exited 0 leaving no worker.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import psutil
import trio

from stress.http_client import is_healthy
from stress.load import run_load
from stress.redis_proc import running_redis
from stress.report import build, machine, out_prefix, write_json
from stress.scale import NODE_SETTINGS, NODE_TIMEOUT, redis_leftovers, run_chaos_command, spec_for
from stress.server_proc import HOST, ROOT, app_command, free_port, running_server
from stress.spec import parse_target
from stress.tokens import mint

REPLACED_WITHIN = 5.0
"""Seconds from a SIGKILL to the replacement's first answer (issue 15's bound)."""
GIVE_UP = 30.0
NODE_TTL_WAIT = NODE_TIMEOUT * 3 + 1
HEALTH_REQUEST = b"GET /health HTTP/1.1\r\nHost: chaos\r\n\r\n"


@attrs.define
class Kill:
    """One SIGKILL: the victim, when, and seconds until its replacement spawned/answered."""

    pid: int
    at: float
    spawned: float | None = None
    serving: float | None = None


def live_workers(parent: int) -> list[psutil.Process]:
    """The parent's children that are running (not zombies), oldest first."""
    alive = []
    for child in psutil.Process(parent).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append((child.create_time(), child.pid, child))
        except psutil.Error:
            continue
    return [child for _, _, child in sorted(alive)]


def owns(pid: int, port: int, client_port: int) -> bool:
    """Whether ``pid`` holds the server side of the connection from ``client_port``."""
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.laddr.port == port and c.raddr and c.raddr.port == client_port for c in conns)


async def answered_by(pid: int, port: int) -> bool:
    """One ``GET /health`` on a fresh connection: True if ``pid`` answered it 200."""
    try:
        with trio.fail_after(2):
            stream = await trio.open_tcp_stream(HOST, port)
    except (OSError, trio.TooSlowError):
        return False
    async with stream:
        with trio.move_on_after(2):
            await stream.send_all(HEALTH_REQUEST)
            if (await stream.receive_some(4096)).startswith(b"HTTP/1.1 200"):
                return owns(pid, port, stream.socket.getsockname()[1])
    return False


async def await_replacement(parent: int, before: set[int], port: int, kill: Kill) -> None:
    """Fill ``kill.spawned`` and ``kill.serving`` (None when not within ``GIVE_UP`` s)."""
    start = time.monotonic()
    with trio.move_on_after(GIVE_UP):
        while not (new := {w.pid for w in live_workers(parent)} - before):
            await trio.sleep(0.01)
        kill.spawned = round(time.monotonic() - start, 3)
        while not any([await answered_by(pid, port) for pid in new]):
            await trio.sleep(0.02)  # a replacement that died is replaced in turn:
            new = {w.pid for w in live_workers(parent)} - before
        kill.serving = round(time.monotonic() - start, 3)


async def kill_workers(
    parent: int, port: int, every: float, kills: list[Kill], done: trio.Event
) -> None:
    """Every ``every`` s SIGKILL the oldest worker and wait for its replacement's answer;
    returns once ``done`` is set (a kill in progress is waited for first)."""
    while True:
        with trio.move_on_after(every):
            await done.wait()
        if done.is_set():
            return
        workers = live_workers(parent)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        kill = Kill(victim.pid, time.time())
        kills.append(kill)
        await await_replacement(parent, {w.pid for w in workers}, port, kill)


async def probe_health(port: int, counts: Counter[str]) -> None:
    """``GET /health`` on a fresh connection every 50 ms until cancelled; ok/failed."""
    while True:
        counts["ok" if await is_healthy(HOST, port) else "failed"] += 1
        await trio.sleep(0.05)


async def start_bystander(port: int, token: str) -> trio.Process:
    """The reconnecting bystander (:mod:`stress.bystander`) in its own process, so the
    load's client work in this loop does not count as its latency."""
    url = f"ws://{HOST}:{port}/ws"
    argv = [sys.executable, "-m", "stress.bystander", url, token, str(GIVE_UP * 100)]
    return await trio.lowlevel.open_process(
        [*argv, "reconnect"], cwd=str(ROOT), stdout=subprocess.PIPE
    )


async def stop_bystander(process: trio.Process) -> dict[str, Any]:
    """SIGTERM the bystander and read the summary it prints (an error entry if none)."""
    process.send_signal(signal.SIGTERM)
    output = b""
    with trio.move_on_after(GIVE_UP):
        assert process.stdout is not None
        while chunk := await process.stdout.receive_some():
            output += chunk
        await process.wait()
    process.kill()
    try:
        return dict(json.loads(output))
    except ValueError:
        return {"error": f"bystander exited {process.returncode}: {output[-300:]!r}"}


async def _loaded(args: argparse.Namespace, port: int, parent: int, secret: str) -> dict[str, Any]:
    """The load with the killer, the prober and the bystander beside it: the report."""
    kills: list[Kill] = []
    health: Counter[str] = Counter()
    spec = spec_for(args, [parse_target(f"ws://{HOST}:{port}/ws")], secret)
    probing, done = await start_bystander(port, mint(secret, "bystander")), trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(probe_health, port, health)
        async with trio.open_nursery() as killer:
            killer.start_soon(kill_workers, parent, port, args.kill_every, kills, done)
            outcome = await run_load(spec, progress=False)
            done.set()
        nursery.cancel_scope.cancel()
    report = build(outcome, "chaos workers")
    report["bystander"] = await stop_bystander(probing)
    report.update(health_probes=dict(health), kills=[attrs.asdict(k) for k in kills])
    return report


async def stop_parent(process: trio.Process) -> dict[str, Any]:
    """SIGTERM the ``--workers`` parent: its exit code and how many workers outlived it."""
    workers = [w.pid for w in live_workers(process.pid)]
    process.send_signal(signal.SIGTERM)
    with trio.move_on_after(GIVE_UP * 2):
        await process.wait()
    left = [pid for pid in workers if psutil.pid_exists(pid)]
    return {"exit_code": process.returncode, "workers_left": len(left)}


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The run's headline figures (what docs/scaling.md quotes)."""
    kills, by = report["kills"], report["bystander"]
    serving = [k["serving"] for k in kills if k["serving"] is not None]
    spawned = [k["spawned"] for k in kills if k["spawned"] is not None]
    return {
        "kills": len(kills), "replaced_and_serving": len(serving),
        "serving_s": serving, "serving_max_s": max(serving, default=None),
        "spawned_max_s": max(spawned, default=None), "events": report["events"].get("events", 0),
        "lost": report["events"].get("lost", 0), "violations": report["violations"]["count"],
        "duplicates": report["duplicates"], "runs_sent": report["runs"]["sent"],
        "runs_ended_once": report["runs"]["ended"],
        "runs_node_lost": report["runs"]["errored"], "delivery_p99_ms": report["latency_ms"]["p99"],
        "bystander_run_p99_ms": by.get("run_ms", {}).get("p99"),
        "bystander_connect_p99_ms": by.get("connect_ms", {}).get("p99"),
        "bystander_failures": by.get("failures", by.get("error")),
        "restart_delays_s": report["restart_delays_s"],
        "health_probes": report["health_probes"], "parent_stop": report["parent_stop"],
    }  # fmt: skip


def passed(fig: dict[str, Any]) -> bool:
    """Nothing lost or doubled, every run ended once, each replacement answered in time,
    the parent exited 0 leaving no worker."""
    in_time = fig["replaced_and_serving"] == fig["kills"] > 0 and (
        fig["serving_max_s"] <= REPLACED_WITHIN
    )
    clean = fig["lost"] == fig["violations"] == fig["duplicates"] == 0
    stop = fig["parent_stop"] == {"exit_code": 0, "workers_left": 0}
    return bool(in_time and clean and fig["runs_sent"] == fig["runs_ended_once"] and stop)


async def _on_workers(args: argparse.Namespace, prefix: Path) -> dict[str, Any]:
    secret = secrets.token_urlsafe(32)
    async with running_redis() as redis:
        port = free_port()
        settings = dict(NODE_SETTINGS) | {"WSAO_REDIS_URL": redis.url}
        argv, env = app_command(port, secret, settings | {"WSAO_WORKERS": str(args.workers)})
        async with running_server("app", argv, env, port, prefix / "app.log") as server:
            report = await _loaded(args, port, server.pid, secret)
            await trio.sleep(NODE_TTL_WAIT)  # the dead workers' leases and runs expire
            report["redis_after_ttl"] = await redis_leftovers(redis.url)
            report["parent_stop"] = await stop_parent(server.process)
    log = (prefix / "app.log").read_text(errors="replace")
    report["restart_delays_s"] = [float(d) for d in re.findall(r"restarting in ([0-9.]+) s", log)]
    return report


async def run_worker_chaos(args: argparse.Namespace) -> int:
    """``stress chaos --workers N``: print the figures, write ``chaos-workers.json``."""
    prefix = out_prefix(args, "chaos-workers")
    prefix.mkdir(parents=True, exist_ok=True)
    report = await _on_workers(args, prefix)
    report["figures"], report["machine"] = figures(report), machine()
    for name, value in report["figures"].items():
        print(f"{name}: {value}")
    print(f"redis keys after TTLs: {report['redis_after_ttl']}")
    ok = passed(report["figures"])
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    write_json(report, prefix / "chaos-workers.json")
    print(f"wrote {prefix}/chaos-workers.json")
    return 0 if ok else 1


async def run_any_chaos(args: argparse.Namespace) -> int:
    """``stress chaos``: with ``--workers N`` this module's run, else two processes
    (:func:`stress.scale.run_chaos_command`)."""
    if args.workers:
        return await run_worker_chaos(args)
    return await run_chaos_command(args)
