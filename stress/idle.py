"""``python -m stress idle``: the server's memory per idle authenticated connection.

Starts the real app (``python -m app``) on a free loopback port, opens and closes a
few connections to warm it up, reads its RSS, opens ``--connections`` idle
authenticated WebSockets (one user each by default: a browser tab per user, so each
also costs the server a user log), waits for the RSS to settle, reads it again,
and reports ``(after - before) / connections`` in KiB. Then it closes them all and
reports how much of that memory the server gave back.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
from pathlib import Path
from typing import Any

import psutil
import trio

from stress.bench import app_settings
from stress.holders import open_many, raise_own_fd_limit
from stress.report import format_table, machine, out_prefix, write_json
from stress.server_proc import ServerProcess, app_command, free_port, running_server
from stress.spec import parse_target
from stress.tokens import mint

SETTLE = 3.0
WARM_UP = 50
TARGET_KIB = 40.0


def idle_args(parser: argparse.ArgumentParser) -> None:
    """The ``idle`` command's options."""
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--users", type=int, default=None, help="default: one per connection")
    parser.add_argument("--app-env", action="append", default=[], metavar="WSAO_NAME=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="results path prefix")


async def settled_rss_mb(pid: int, seconds: float = SETTLE) -> float:
    """The server's RSS in MB: the median of samples over the last second of ``seconds``."""
    await trio.sleep(max(0.0, seconds - 1.0))
    process = psutil.Process(pid)
    samples = []
    for _ in range(5):
        samples.append(process.memory_info().rss / 2**20)
        await trio.sleep(0.2)
    return float(statistics.median(samples))


def idle_tokens(secret: str, connections: int, users: int | None, prefix: str) -> list[str]:
    """One token per connection; connection ``i`` belongs to user ``i % users``."""
    users = users or connections
    return [mint(secret, f"{prefix}-{i % users}") for i in range(connections)]


async def measure_idle(
    server: ServerProcess, secret: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Warm up, then RSS before, with and after ``--connections`` idle connections."""
    target = parse_target(server.url)
    tokens = idle_tokens(secret, args.connections, args.users, "idle")
    async with trio.open_nursery() as nursery:
        warm = await open_many(nursery, target, idle_tokens(secret, WARM_UP, None, "warm"))
        await warm.aclose()
        before = await settled_rss_mb(server.pid)
        held = await open_many(nursery, target, tokens)
        with_conns = await settled_rss_mb(server.pid)
        opened = len(held.connections)
        await held.aclose()
        after = await settled_rss_mb(server.pid)
        nursery.cancel_scope.cancel()
    per_conn = (with_conns - before) * 1024 / max(1, opened)
    return {
        "connections": opened, "refused": held.refused, "users": args.users or args.connections,
        "rss_mb_before": round(before, 1), "rss_mb_with": round(with_conns, 1),
        "rss_mb_after_close": round(after, 1), "kib_per_connection": round(per_conn, 1),
        "target_kib": TARGET_KIB, "machine": machine(),
    }  # fmt: skip


def idle_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The printed table."""
    return [
        ("idle connections held", f"{report['connections']} ({report['users']} users)"),
        ("refused / failed", str(report["refused"] or "none")),
        ("server RSS before / with / after close", f"{report['rss_mb_before']} / "
         f"{report['rss_mb_with']} / {report['rss_mb_after_close']} MiB"),
        ("memory per idle connection", f"{report['kib_per_connection']} KiB "
         f"(target <= {TARGET_KIB:g} KiB)"),
    ]  # fmt: skip


async def run_idle_command(args: argparse.Namespace) -> int:
    """``stress idle``: measure, print, write JSON; exit 1 over the target."""
    raise_own_fd_limit(args.connections * 2 + 256)
    secret, port = secrets.token_urlsafe(32), free_port()
    per_user = -(-args.connections // (args.users or args.connections))
    settings = {
        "WSAO_MAX_CONNECTIONS": str(args.connections + WARM_UP + 100),
        "WSAO_MAX_CONNECTIONS_PER_USER": str(max(20, per_user)),
    }
    argv, env = app_command(port, secret, {**settings, **app_settings(args)})
    prefix = out_prefix(args, "idle")
    async with running_server("app", argv, env, port, Path(f"{prefix}.log")) as server:
        report = await measure_idle(server, secret, args)
    print(format_table(idle_rows(report), "stress idle"))
    print(f"wrote {write_json(report, Path(f'{prefix}.json'))}")
    return 0 if report["kib_per_connection"] <= TARGET_KIB and not report["refused"] else 1
