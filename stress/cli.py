"""``python -m stress load|bench|tokens|scale|chaos|agui|idle|attack``: the command line.

``load`` drives a running server (loopback only) in one of its modes and writes
``OUT.json`` and ``OUT.png``; ``bench`` starts the real app and the raw-push
baseline one after another, loads both the same way and prints app/baseline ratios;
``idle`` measures the app's memory per idle connection; ``attack`` runs slowloris,
compression bombs, pathological agent input and a connection flood against the app,
each beside a bystander whose latency it bounds (``scale``, ``chaos`` and ``agui``:
see their modules). The exit status is 1 when a run saw a violation, a duplicate or
lost a critical event (``tokens``: when a tab's text was wrong).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import trio

from stress.scripted import parse_profile
from stress.spec import LoadSpec, parse_target

DEFAULT_PROFILE = "thoughts=3 tools=3 delay_ms=20"


def _workload_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=100, help="simulated users (connections)")
    parser.add_argument("--runs-per-user", type=int, default=5)
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="scripted agent profile")
    parser.add_argument(
        "--rate", type=float, default=None,
        help="runs/s over all users (open loop); default: closed loop, next run on end",
    )  # fmt: skip
    parser.add_argument("--think-ms", type=float, default=0.0, help="closed-loop pause")
    parser.add_argument("--duration-limit", type=float, default=300.0, help="hard stop, s")
    parser.add_argument("--run-timeout", type=float, default=60.0)
    parser.add_argument("--connect-concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ack-interval", type=float, default=1.0, help="s between acks")
    parser.add_argument("--out", type=Path, default=None, help="results path prefix")
    parser.add_argument("--no-progress", action="store_true")


def _load_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT (loopback only)")
    parser.add_argument("--secret", default=None, help="JWT secret; default: dev tokens")
    parser.add_argument("--server-pid", type=int, default=None, help="sample its RSS/CPU")
    mode = parser.add_argument_group("modes")
    mode.add_argument("--disconnect-every", type=float, default=None, metavar="S")
    mode.add_argument("--duplicate-sends", type=int, default=1, metavar="K")
    mode.add_argument("--slow-clients", type=float, default=0.0, metavar="PCT")
    mode.add_argument("--slow-pause", type=float, default=8.0, help="s slow clients stop reading")
    mode.add_argument("--slow-profile", default=None, help="profile of slow users' runs")
    mode.add_argument("--slow-rcvbuf", type=int, default=4096, help="bytes; 0: system default")
    mode.add_argument("--ramp", action="store_true", help="step users up to the p99 knee")
    mode.add_argument("--p99-bound-ms", type=float, default=50.0)
    mode.add_argument("--ramp-start", type=int, default=250, help="users of the first step")
    mode.add_argument("--ramp-step", type=int, default=250, help="users added per step")
    mode.add_argument("--ramp-max", type=int, default=4000, help="users of the last step")
    mode.add_argument("--ramp-interval", type=float, default=2.0, help="s between a user's runs")


def _bench_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pin", action="store_true",
        help="pin the server to CPU 0 and the load generator to CPU 1 (off: on this 2-core "
        "box pinning lengthened the latency tail)",
    )  # fmt: skip
    parser.add_argument(
        "--app-env", action="append", default=[], metavar="WSAO_NAME=VALUE",
        help="extra settings for the real app (repeatable)",
    )  # fmt: skip


def _hardening_commands(commands: Any) -> None:
    """``idle`` (memory per idle connection) and ``attack`` (attacks beside a bystander)."""
    from stress.attack_cmd import attack_args
    from stress.idle import idle_args

    idle_args(commands.add_parser("idle", help="server memory per idle connection"))
    attack_args(commands.add_parser("attack", help="attacks beside a bystander"))


def _chaos_args(chaos: argparse.ArgumentParser) -> None:
    """``chaos``: two processes, or with ``--workers N`` one supervised bind."""
    _workload_args(chaos)
    chaos.add_argument("--kill-every", type=float, default=3.0, metavar="S")
    chaos.add_argument(
        "--workers", type=int, default=0, metavar="N",
        help="one `python -m app --workers N` bind; SIGKILL a worker every S s (issue 15)",
    )  # fmt: skip
    chaos.set_defaults(users=100, runs_per_user=20, profile="thoughts=2 tools=2 delay_ms=100")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m stress``."""
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load a running server")
    _workload_args(load)
    _load_args(load)
    bench = commands.add_parser("bench", help="real app vs raw-push baseline")
    _workload_args(bench)
    _bench_args(bench)
    bench.set_defaults(users=1000, rate=200.0)
    scale = commands.add_parser("scale", help="memory vs Redis x1 vs Redis x2 (scale-out)")
    _workload_args(scale)
    scale.set_defaults(users=500, rate=100.0, runs_per_user=5)
    _chaos_args(commands.add_parser("chaos", help="processes on Redis, one killed every S s"))
    agui = commands.add_parser("agui", help="time runs streamed through POST /agui")
    agui.add_argument("--runs", type=int, default=20, help="measured runs (after one warm-up)")
    agui.add_argument("--deltas", type=int, default=1000, help="text deltas per run (max 1000)")
    agui.add_argument("--out", type=Path, default=None, help="results directory")
    _hardening_commands(commands)
    _token_command(commands)
    return parser


def _token_command(commands: Any) -> None:
    """``tokens``: token streaming against the raw-push baseline (issue 17)."""
    from stress.tokenbench import token_args

    token_args(commands.add_parser("tokens", help="token streaming vs raw-push baseline"))


def load_spec(args: argparse.Namespace) -> LoadSpec:
    """The :class:`LoadSpec` described by ``load`` arguments."""
    slow = parse_profile(args.slow_profile) if args.slow_profile else None
    return LoadSpec(
        target=parse_target(args.url), users=args.users, runs_per_user=args.runs_per_user,
        profile=parse_profile(args.profile), rate=args.rate, think_ms=args.think_ms,
        disconnect_every=args.disconnect_every, duplicate_sends=args.duplicate_sends,
        slow_pct=args.slow_clients, slow_pause=args.slow_pause, slow_profile=slow,
        slow_rcvbuf=args.slow_rcvbuf,
        duration_limit=args.duration_limit, run_timeout=args.run_timeout,
        connect_concurrency=args.connect_concurrency, secret=args.secret,
        server_pid=args.server_pid, seed=args.seed, ack_interval=args.ack_interval,
    )  # fmt: skip


#: Each command's coroutine, imported only when it runs (``module``, ``function``).
COMMANDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "agui": ("stress.agui_bench", "run_agui_bench"),
        "bench": ("stress.bench", "run_bench_command"),
        "attack": ("stress.attack_cmd", "run_attack_command"),
        "idle": ("stress.idle", "run_idle_command"),
        "scale": ("stress.scale", "run_scale_command"),
        "chaos": ("stress.worker_chaos", "run_any_chaos"),
        "load": ("stress.modes", "run_load_command"),
        "tokens": ("stress.tokenbench", "run_tokens_command"),
    }
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    module, name = COMMANDS[args.command]
    command = getattr(importlib.import_module(module), name)
    try:
        return int(trio.run(command, args))
    except ValueError as exc:
        print(f"stress: {exc}", file=sys.stderr)
        return 2
