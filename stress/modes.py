"""``stress load``: run one load (any mode), print the table, write JSON and PNG.

Modes combine: ``--disconnect-every``, ``--duplicate-sends``, ``--slow-clients`` change
how each user behaves (see :mod:`stress.client`); ``--ramp`` repeats the load with more
users each step until p99 crosses the bound (see :mod:`stress.ramp`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from stress.cli import load_spec
from stress.load import run_load
from stress.plot import write_png
from stress.report import build, format_table, out_prefix, passed, table_rows, write_json
from stress.spec import LoadSpec


def mode_name(spec: LoadSpec) -> str:
    """A short name for the modes a spec turns on (``load`` when none)."""
    parts = []
    if spec.disconnect_every:
        parts.append(f"disconnect{spec.disconnect_every:g}s")
    if spec.duplicate_sends > 1:
        parts.append(f"duplicate{spec.duplicate_sends}")
    if spec.slow_pct:
        parts.append(f"slow{spec.slow_pct:g}pct")
    return "-".join(parts) or "load"


def mode_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The table rows plus what the active modes add."""
    rows = table_rows(report)
    spec = report["spec"]
    if spec["slow_pct"]:
        slow = report["latency_slow_clients_ms"]
        rows.append(("slow clients' p99/max ms", f"{slow['p99']:.1f} / {slow['max']:.1f}"))
    if spec["duplicate_sends"] > 1:
        runs = report["runs"]
        rows.append(("run_accepted fresh / duplicate",
                     f"{runs['accepted_fresh']} / {runs['accepted_duplicate']}"))  # fmt: skip
    if spec["disconnect_every"] or spec["slow_pct"]:
        rows.append(("replayed after resume", str(report["events"].get("replayed", 0))))
        rows.append(("lost (seq gaps)", str(report["events"].get("lost", 0))))
    return rows


def emit(report: dict[str, Any], prefix: Path) -> None:
    """Print the table and write ``PREFIX.json`` and ``PREFIX.png``."""
    print(format_table(mode_rows(report), f"stress {report['name']}"))
    json_path = write_json(report, Path(f"{prefix}.json"))
    png_path = write_png([report], Path(f"{prefix}.png"), f"stress {report['name']}")
    print(f"wrote {json_path} and {png_path}")


async def run_load_command(args: argparse.Namespace) -> int:
    """``stress load``: one run (or a ramp); exit status 1 if it did not pass."""
    spec = load_spec(args)
    if args.ramp:
        from stress.ramp import run_ramp

        return await run_ramp(spec, args)
    name = mode_name(spec)
    outcome = await run_load(spec, progress=not args.no_progress)
    report = build(outcome, name)
    emit(report, out_prefix(args, name))
    return 0 if passed(report) else 1
