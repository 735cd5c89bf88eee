"""``python -m stress tokens``: token streaming, the raw-push baseline beside the app.

R users x T tabs, each user one scripted run streaming K tokens/s for D s
(``tokens=K*D rate=K``, :mod:`app.agents.scripted`), against, in one run and in this
order, freshly started each time:

- ``baseline``: :mod:`stress.baseline_app`, the same hypercorn + Quart-Trio stack
  pushing one event per token from templates (no log, no run, no fan-out: each tab
  asks for, and gets, its own stream);
- ``memory``: ``python -m app`` on its in-memory backplane;
- ``redis1``: one app process on a child ``redis-server``;
- ``redis2``: two app processes on one Redis; tab ``j`` of user ``u`` on process
  ``(u + j) % 2``, so with T >= 2 every user has tabs on both and half of the
  deliveries cross processes.

``--repeats N`` runs the whole sequence N times (the figures: the median of each);
``--knee`` then searches each mode for the largest R that keeps token p99 < 50 ms,
delivered >= 95 %, slowdown <= 1.1 and every tab's text identical (R x ``--knee-factor``
while it holds, then bisection; an R holds when most of ``--knee-tries`` loads of it
do; at most ``--knee-steps`` values of R and ``--knee-time`` s per mode).
``--server-env WSAO_NAME=VALUE`` goes to the app's processes only (never
by default: an unknown ``WSAO_*`` name stops the app from starting). Writes
``tokens.json`` and ``tokens.png``; the figures' meaning is in :mod:`stress.tokenreport`.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import psutil
import trio

from stress.redis_proc import running_redis
from stress.report import machine, out_prefix, write_json
from stress.scale import cpu_seconds
from stress.server_proc import (
    ROOT,
    ServerProcess,
    app_command,
    baseline_command,
    free_port,
    running_server,
)
from stress.spec import parse_target
from stress.tokenload import TokenSpec, run_token_load
from stress.tokenreport import load_figures, verdict

MODES = ("baseline", "memory", "redis1", "redis2")
SETTLE = 2.0
SAMPLE_INTERVAL = 0.5


@attrs.frozen
class Mode:
    """How to start one mode's servers: which program, how many, on Redis or not."""

    name: str
    program: str
    processes: int
    redis: bool


def mode(name: str) -> Mode:
    """The :class:`Mode` called ``name`` (one of :data:`MODES`)."""
    table = {
        "baseline": Mode("baseline", "baseline", 1, False),
        "memory": Mode("memory", "app", 1, False),
        "redis1": Mode("redis1", "app", 1, True),
        "redis2": Mode("redis2", "app", 2, True),
    }
    if name not in table:
        raise ValueError(f"unknown mode {name!r}; expected some of {', '.join(MODES)}")
    return table[name]


def server_settings(items: list[str]) -> dict[str, str]:
    """``--server-env WSAO_NAME=VALUE`` pairs as a mapping."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("WSAO_"):
            raise ValueError(f"--server-env wants WSAO_NAME=VALUE, got {item!r}")
        out[name] = value
    return out


@attrs.frozen
class Stack:
    """A mode's running processes: the servers, and every pid whose CPU counts."""

    servers: list[ServerProcess]
    pids: list[int]


@asynccontextmanager
async def running_stack(
    chosen: Mode, secret: str, settings: dict[str, str], out: Path
) -> AsyncIterator[Stack]:
    """Start ``chosen``'s servers (and its Redis); stop them on exit."""
    async with AsyncExitStack() as stack:
        extra: list[int] = []
        env = dict(settings)
        if chosen.redis:
            redis = await stack.enter_async_context(running_redis())
            env["WSAO_REDIS_URL"], extra = redis.url, [redis.pid]
        servers = []
        for i in range(chosen.processes):
            port = free_port()
            argv, child = (
                app_command(port, secret, env) if chosen.program == "app"
                else baseline_command(port, secret)
            )  # fmt: skip
            log = out / f"{chosen.name}-{i}-{port}.log"
            servers.append(
                await stack.enter_async_context(running_server(chosen.name, argv, child, port, log))
            )
        yield Stack(servers, [s.pid for s in servers] + extra)


def rss_mb(pids: list[int]) -> float:
    """The summed RSS of ``pids``, MB (gone processes count 0)."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return total / 1e6


async def _sample_rss(pids: list[int], peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], rss_mb(pids))
        await trio.sleep(SAMPLE_INTERVAL)


async def measure(spec: TokenSpec, stack: Stack, name: str) -> dict[str, Any]:
    """One load against ``stack``: its figures plus server CPU, client CPU and RSS."""
    servers = [s.pid for s in stack.servers]
    peak, me = [rss_mb(servers)], psutil.Process()
    before, mine, started = cpu_seconds(stack.pids), me.cpu_times(), time.monotonic()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_sample_rss, servers, peak)
        outcome = await run_token_load(spec)
        nursery.cancel_scope.cancel()
    used, wall = cpu_seconds(stack.pids) - before, time.monotonic() - started
    figures = {"name": name, **load_figures(outcome)}
    produced = spec.users * spec.tokens
    figures["server"] = {
        "cpu_seconds": round(used, 3),
        "cpu_ms_per_token": round(used / produced * 1000, 4),
        "cpu_us_per_delivery": round(used / (produced * spec.tabs) * 1e6, 2),
        "rss_mb_max": round(peak[0], 1),
        "client_cpu_percent": round(_cpu(me) - _cpu_of(mine), 3) / max(1e-9, wall) * 100,
    }
    figures["verdict"] = verdict(figures)
    return figures


def _cpu(process: psutil.Process) -> float:
    return _cpu_of(process.cpu_times())


def _cpu_of(times: Any) -> float:
    return float(times.user + times.system)


def token_spec(args: argparse.Namespace, stack: Stack, secret: str, users: int) -> TokenSpec:
    """The load of ``users`` users against ``stack``'s servers."""
    targets = tuple(parse_target(s.url) for s in stack.servers)
    return TokenSpec(
        targets=targets, users=users, tabs=args.tabs, rate=args.token_rate,
        duration=args.duration, secret=secret, spread=args.spread, seed=args.seed,
    )  # fmt: skip


async def one_mode(args: argparse.Namespace, name: str, out: Path) -> dict[str, Any]:
    """Start ``name``'s stack, run one load of ``--users``, stop it."""
    secret, chosen = secrets.token_urlsafe(32), mode(name)
    settings = server_settings(args.server_env) if chosen.program == "app" else {}
    async with running_stack(chosen, secret, settings, out) as stack:
        return await measure(token_spec(args, stack, secret, args.users), stack, name)


async def knee(args: argparse.Namespace, name: str, out: Path) -> dict[str, Any]:
    """The largest R that holds the bounds (see the module docstring), and every load."""
    secret, chosen = secrets.token_urlsafe(32), mode(name)
    settings = server_settings(args.server_env) if chosen.program == "app" else {}
    steps: list[dict[str, Any]] = []
    search = KneeSearch(args.knee_start, args.knee_factor)
    deadline, tried = time.monotonic() + args.knee_time, 0
    async with running_stack(chosen, secret, settings, out) as stack:
        while (users := search.next()) is not None and tried < args.knee_steps:
            if time.monotonic() > deadline:
                break
            spec = token_spec(args, stack, secret, users)
            search.record(users, await knee_step(spec, stack, name, args.knee_tries, steps))
            tried += 1
    return {"mode": name, "knee_users": search.best, "steps": steps}


async def knee_step(
    spec: TokenSpec, stack: Stack, name: str, tries: int, steps: list[dict[str, Any]]
) -> bool:
    """Whether R = ``spec.users`` holds the bounds in most of ``tries`` loads (stopping
    once the majority is decided); every load is appended to ``steps``."""
    passes = fails = 0
    while max(passes, fails) <= tries // 2:
        step = await measure(spec, stack, name)
        step["attempt"] = passes + fails + 1
        steps.append(step)
        ok = all(step["verdict"].values())
        passes, fails = passes + ok, fails + (not ok)
        await trio.sleep(SETTLE)
    return passes > fails


@attrs.define
class KneeSearch:
    """Sans-IO: grow R by ``factor`` while the bounds hold, then bisect (to 5 %)."""

    start: int
    factor: float
    best: int | None = None
    failed: int | None = None

    def next(self) -> int | None:
        """The next R to try, or None when the knee is found."""
        if self.best is None and self.failed is None:
            return self.start
        if self.failed is None:
            return max(int(self.best or 0) + 1, round((self.best or 0) * self.factor))
        low = self.best or 0
        if self.failed - low <= max(1, round(self.failed * 0.05)):
            return None
        return (low + self.failed) // 2 if low else max(1, self.failed // 2)

    def record(self, users: int, passed: bool) -> None:
        """The outcome of a load of ``users``."""
        if passed:
            self.best = max(self.best or 0, users)
        else:
            self.failed = min(self.failed or users, users)


HEADLINE: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("users x tabs", lambda r: f"{r['users']}x{r['tabs']}"),
    ("offered tok/s", lambda r: r["offered_tokens_per_s"]),
    ("deliveries/s offered", lambda r: r["offered_deliveries_per_s"]),
    ("deliveries/s delivered", lambda r: r["delivered_deliveries_per_s"]),
    ("delivered %", lambda r: round(r["delivered"] * 100, 2)),
    ("token p50 ms", lambda r: r["token_latency_ms"]["p50"]),
    ("token p95 ms", lambda r: r["token_latency_ms"]["p95"]),
    ("token p99 ms", lambda r: r["token_latency_ms"]["p99"]),
    ("token max ms", lambda r: r["token_latency_ms"]["max"]),
    ("tabs mismatched", lambda r: r["text"]["mismatched"]),
    ("slowdown max", lambda r: r["slowdown"]["max"]),
    ("tokens per delta", lambda r: r["tokens_per_delta"]),
    ("server CPU ms/token", lambda r: r["server"]["cpu_ms_per_token"]),
    ("server RSS max MB", lambda r: r["server"]["rss_mb_max"]),
    ("client CPU %", lambda r: round(r["server"]["client_cpu_percent"], 1)),
)


def format_modes(medians: list[dict[str, Any]]) -> str:
    """The side-by-side table: one column per mode."""
    lines = ["".join([f"{'':24}", *(f"{m['name']:>12}" for m in medians)])]
    for label, get in HEADLINE:
        lines.append("".join([f"{label:24}", *(f"{get(m)!s:>12}" for m in medians)]))
    return "\n".join(lines)


def median_report(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose token p99 is the median of ``runs`` (so its figures agree)."""
    ordered = sorted(runs, key=lambda r: r["token_latency_ms"]["p99"])
    return {**ordered[(len(ordered) - 1) // 2], "repeats": len(runs)}


def _spread(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {
        "token_p99_ms": [r["token_latency_ms"]["p99"] for r in runs],
        "delivered": [r["delivered"] for r in runs],
        "cpu_ms_per_token": [r["server"]["cpu_ms_per_token"] for r in runs],
    }


async def run_modes(args: argparse.Namespace, names: list[str], out: Path) -> dict[str, Any]:
    """Every mode ``--repeats`` times (modes interleaved), then the median per mode."""
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for _ in range(args.repeats):
        for name in names:
            runs[name].append(await one_mode(args, name, out))
            await trio.sleep(SETTLE)
    medians = [median_report(runs[n]) for n in names]
    return {"medians": medians, "runs": runs, "spread": {n: _spread(runs[n]) for n in names}}


def parse_modes(text: str) -> list[str]:
    """``baseline,memory`` → the modes, each checked."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        mode(name)
    return names


async def run_tokens_command(args: argparse.Namespace) -> int:
    """``stress tokens``: print the table (and knees), write JSON and PNG; 1 if the
    app's text was wrong anywhere."""
    names, prefix = parse_modes(args.modes), out_prefix(args, "tokens")
    server_settings(args.server_env)
    load_before = uptime()
    result = await run_modes(args, names, prefix)
    print(format_modes(result["medians"]))
    knees = [await knee(args, n, prefix) for n in names] if args.knee else []
    for found in knees:
        print(f"knee {found['mode']}: R = {found['knee_users']} "
              f"(steps {[s['users'] for s in found['steps']]})")  # fmt: skip
    summary = {"machine": machine(), "load_before": load_before, "load": uptime(),
               "code": code_state(),
               "argv": vars_of(args), **result, "knees": knees}  # fmt: skip
    write_json(summary, prefix / "tokens.json")
    from stress.tokenplot import write_tokens_png  # matplotlib only when it is needed

    write_tokens_png(summary, prefix / "tokens.png")
    print(f"wrote {prefix}/tokens.json and tokens.png")
    clean = all(r["text"]["mismatched"] == 0 for rs in result["runs"].values() for r in rs)
    return 0 if clean else 1


def code_state() -> dict[str, Any]:
    """The commit measured and the library files that differed from it (a shared
    working tree may hold another engineer's uncommitted changes)."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout

    dirty = git("status", "--porcelain", "--", "wsao_trio", "app").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted": [d[3:] for d in dirty]}


def uptime() -> list[float]:
    """The machine's 1/5/15-minute load averages when the run ended."""
    return [round(x, 2) for x in psutil.getloadavg()]


def vars_of(args: argparse.Namespace) -> dict[str, Any]:
    """The command's arguments, JSON-able."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def token_args(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``stress tokens``."""
    add = parser.add_argument
    add("--users", type=int, default=100, help="R: users, one run each")
    add("--tabs", type=int, default=2, help="T: connections per user")
    add("--token-rate", type=int, default=50, help="K: tokens/s of each run")
    add("--duration", type=float, default=10.0, help="D: s each run streams")
    add("--modes", default=",".join(MODES), help="comma-separated, of " + ",".join(MODES))
    add("--repeats", type=int, default=1, help="runs of every mode (figures: the median)")
    add("--spread", type=float, default=1.0, help="s over which the users start")
    add("--server-env", action="append", default=[], metavar="WSAO_NAME=VALUE",
        help="a setting for the app's processes (repeatable; none by default)")  # fmt: skip
    add("--knee", action="store_true", help="then search each mode's largest R")
    add("--knee-start", type=int, default=100)
    add("--knee-factor", type=float, default=1.5)
    add("--knee-steps", type=int, default=6, help="values of R per mode at most")
    add("--knee-tries", type=int, default=1, help="loads per R; it holds if most do")
    add("--knee-time", type=float, default=300.0, help="s per mode at most")
    add("--seed", type=int, default=1)
    add("--out", type=Path, default=None, help="results directory")
