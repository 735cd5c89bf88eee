"""The stress harness runs end to end against the real app (``python -m app``).

Each test starts the app in a subprocess on a free loopback port with dev auth, runs a
brief load in one mode and checks what the harness reports: every critical event
delivered, no duplicate, no violation. No timing is asserted: the figures come from
``python -m stress`` runs, not from here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from stress.cli import main
from stress.load import run_load
from stress.report import build
from stress.scripted import parse_profile
from stress.server_proc import ServerProcess, app_command, free_port, running_server
from stress.spec import LoadSpec, parse_target

PROFILE = "thoughts=2 tools=2 delay_ms=5"
# Slow clients need the server's socket buffer (megabytes) full before the send
# deadline can fire, so their runs are long and the log keeps all of them.
SLOW_PROFILE = "thoughts=1000 tools=1000 delay_ms=0"
SETTINGS = {"WSAO_SEND_DEADLINE": "1", "WSAO_RETENTION_EVENTS": "20000"}
SECRET = "s" + secrets.token_urlsafe(32)  # never starts with "-" (argparse)


async def started_app(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """The real app in a subprocess, ready (``/health`` = 200)."""
    port = free_port()
    argv, env = app_command(port, SECRET, SETTINGS)
    async with running_server("app", argv, env, port, tmp_path / "app.log") as server:
        yield server


@pytest.fixture
async def app_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A fresh real app per test."""
    with trio.fail_after(60):
        async for server in started_app(tmp_path):
            yield server


async def load(server: ServerProcess, **changes: Any) -> dict[str, Any]:
    """Run a brief load (5 users x 2 runs) with ``changes`` and return its report."""
    spec = LoadSpec(
        target=parse_target(server.url),
        users=5,
        runs_per_user=2,
        profile=parse_profile(PROFILE),
        secret=changes.pop("secret", SECRET),
        server_pid=server.pid,
        duration_limit=40,
        run_timeout=20,
        **changes,
    )
    with trio.fail_after(50):
        return build(await run_load(spec, progress=False), "test")


def assert_clean(report: dict[str, Any]) -> None:
    """Everything delivered, nothing repeated, nothing wrong."""
    assert report["violations"]["count"] == 0, report["violations"]
    assert report["duplicates"] == 0
    assert report["delivery_success"] == 1.0
    assert report["runs"]["completed"] == report["runs"]["planned"]
    assert not report["timed_out"]


async def test_plain_load_with_dev_tokens(app_server: ServerProcess) -> None:
    report = await load(app_server, secret=None)
    assert_clean(report)
    assert report["events"]["events"] == 5 * 2 * parse_profile(PROFILE).events_per_run
    assert report["latency_ms"]["count"] == report["events"]["events"]
    assert report["server"]["rss_mb_max"] is not None


async def test_disconnect_mode_loses_and_repeats_nothing(app_server: ServerProcess) -> None:
    report = await load(app_server, disconnect_every=0.05, rate=20.0)
    assert_clean(report)
    assert report["connections"]["client_drops"] > 0


async def test_duplicate_sends_start_one_run_each(app_server: ServerProcess) -> None:
    report = await load(app_server, duplicate_sends=3)
    assert_clean(report)
    assert report["runs"]["accepted_fresh"] == 10
    assert report["runs"]["accepted_duplicate"] == 20
    assert report["connections"]["peak_open"] == 15


async def test_slow_clients_are_closed_with_4408_and_resume(app_server: ServerProcess) -> None:
    report = await load(
        app_server, slow_pct=20.0, slow_pause=3.0, slow_profile=parse_profile(SLOW_PROFILE)
    )
    assert_clean(report)
    assert report["connections"]["server_closes"].get("4408", 0) >= 1
    assert report["events"]["replayed"] > 0


def test_cli_load_and_ramp_write_their_results(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        with trio.fail_after(60):
            async for server in started_app(tmp_path):
                common = ["--url", server.url, "--secret", SECRET, "--no-progress"]
                common += ["--runs-per-user", "2", "--profile", PROFILE]
                first = await trio.to_thread.run_sync(
                    main, ["load", *common, "--users", "4", "--out", str(tmp_path / "plain")]
                )
                ramp = ["--ramp", "--ramp-start", "2", "--ramp-step", "2", "--ramp-max", "4"]
                ramp += ["--ramp-interval", "0.2", "--p99-bound-ms", "10000"]
                second = await trio.to_thread.run_sync(
                    main, ["load", *common, *ramp, "--out", str(tmp_path / "ramp")]
                )
                return [first, second]
        return []

    assert trio.run(scenario) == [0, 0]
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert_clean(plain)
    assert (tmp_path / "plain.png").stat().st_size > 0
    ramp = json.loads((tmp_path / "ramp.json").read_text())
    assert [step["users"] for step in ramp["steps"]] == [2, 4]
    assert ramp["knee"]["users"] == 4
    assert (tmp_path / "ramp.png").stat().st_size > 0


def test_cli_agui_streams_runs_and_writes_figures(tmp_path: Path) -> None:
    status = main(["agui", "--runs", "2", "--deltas", "10", "--out", str(tmp_path)])
    assert status == 0
    figures = json.loads((tmp_path / "agui-bench.json").read_text())
    # RUN_STARTED, TEXT_MESSAGE_START, k CONTENT, TEXT_MESSAGE_END, RUN_FINISHED and on
    # the socket started, k deltas, completed: k is 10, or fewer where deltas merged
    # under load (WSAO_DELTA_MAX_DELAY_MS; the first delta is never merged, so k >= 2)
    assert 2 + 4 <= figures["agui"]["events_per_run"] <= 10 + 4
    assert 2 + 2 <= figures["websocket"]["events_per_run"] <= 10 + 2
    assert figures["agui"]["runs"] == figures["websocket"]["runs"] == 2
