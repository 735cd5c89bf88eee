"""``stress load --ramp``: step users (and with them the run rate) up to the knee.

Every step is a fresh load of ``users`` users, each sending one run every
``--ramp-interval`` seconds (so the run rate grows with the connections). The ramp stops
at the first step whose p99 crosses ``--p99-bound-ms`` or which loses a critical event;
the knee is the last step under the bound.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import attrs
import trio

from stress.load import run_load
from stress.plot import write_ramp_png
from stress.report import build, machine, out_prefix, passed, write_json
from stress.spec import LoadSpec

MAX_STEPS = 40
SETTLE = 2.0


def step_row(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of one ramp step."""
    spec, lat, server = report["spec"], report["latency_ms"], report["server"]
    return {
        "users": spec["users"],
        "runs_per_s": spec["rate"],
        "events_per_s": report["events_per_second"],
        "p50_ms": lat["p50"],
        "p95_ms": lat["p95"],
        "p99_ms": lat["p99"],
        "max_ms": lat["max"],
        "delivery": report["delivery_success"],
        "passed": passed(report),
        "server_cpu": server["server_cpu_mean"],
        "client_cpu": server["client_cpu_mean"],
        "rss_mb_max": server["rss_mb_max"],
    }


def knee(steps: list[dict[str, Any]], bound: float) -> dict[str, Any] | None:
    """The last step under the bound with full delivery (None if the first failed)."""
    good = None
    for step in steps:
        if step["p99_ms"] > bound or not step["passed"]:
            break
        good = step
    return good


def format_step(step: dict[str, Any]) -> str:
    """One line of the ramp table."""
    return (
        f"{step['users']:6d} users {step['runs_per_s']:8.1f} runs/s "
        f"{step['events_per_s']:9.0f} ev/s  p50 {step['p50_ms']:7.1f}  p99 {step['p99_ms']:8.1f}"
        f"  max {step['max_ms']:8.1f} ms  delivery {step['delivery'] * 100:7.3f}%  "
        f"cpu srv {step['server_cpu']} cli {step['client_cpu']}"
    )


async def _steps(base: LoadSpec, args: argparse.Namespace) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    users = args.ramp_start
    for index in range(MAX_STEPS):
        if users > args.ramp_max:
            break
        spec = attrs.evolve(
            base, users=users, rate=users / args.ramp_interval, seed=base.seed + index
        )
        report = build(await run_load(spec, progress=not args.no_progress), f"ramp-{users}")
        step = step_row(report)
        steps.append(step)
        print(format_step(step), flush=True)
        if step["p99_ms"] > args.p99_bound_ms or not step["passed"]:
            break
        users += args.ramp_step
        await trio.sleep(SETTLE)
    return steps


async def run_ramp(base: LoadSpec, args: argparse.Namespace) -> int:
    """Run the ramp, print the knee, write ``PREFIX.json`` and ``PREFIX.png``."""
    steps = await _steps(base, args)
    found = knee(steps, args.p99_bound_ms)
    summary = {
        "name": "ramp", "machine": machine(), "bound_ms": args.p99_bound_ms,
        "interval_s": args.ramp_interval, "profile": base.profile.text,
        "runs_per_user": base.runs_per_user, "steps": steps, "knee": found,
    }  # fmt: skip
    prefix = out_prefix(args, "ramp")
    write_json(summary, Path(f"{prefix}.json"))
    write_ramp_png(steps, Path(f"{prefix}.png"), args.p99_bound_ms)
    print("knee:", json.dumps(found) if found else "none (the first step already crossed)")
    print(f"wrote {prefix}.json and {prefix}.png")
    return 0 if steps and steps[0]["passed"] else 1
