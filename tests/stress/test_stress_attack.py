"""``python -m stress attack`` and ``idle`` run end to end against the real app, briefly.

Like tests/stress/test_stress_harness.py: the app runs in a subprocess on a free loopback
port, each command runs a small bounded version of itself, and the test checks what
the harness reports (the server's answers to each attack, a bystander that was
served). No timing is asserted: the figures come from ``python -m stress`` runs.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import trio

from stress.attacks import AttackContext, slowloris
from stress.cli import main
from stress.server_proc import app_command, free_port, running_server
from stress.spec import parse_target


def _run_cli(argv: list[str]) -> int:
    async def in_thread() -> int:
        with trio.fail_after(120):
            return await trio.to_thread.run_sync(main, argv)

    return trio.run(in_thread)


def test_attack_bomb_is_refused_and_the_bystander_is_served(tmp_path: Path) -> None:
    argv = ["attack", "--kind", "bomb", "--duration", "3", "--scale", "6"]
    status = _run_cli([*argv, "--bound-ms", "60000", "--out", str(tmp_path / "attack")])
    report = json.loads((tmp_path / "attack.json").read_text())["attacks"][0]
    answers = report["figures"]["answers"]
    assert answers == {"bad token": {"http 401": 3}, "valid token": {"close 1002": 3}}
    assert report["bystander_during"]["run_ms"]["count"] > 0
    assert report["bystander_during"]["failures"] == {}
    assert report["within_bound"] and status == 0


def test_idle_reports_memory_per_connection(tmp_path: Path) -> None:
    _run_cli(["idle", "--connections", "40", "--out", str(tmp_path / "idle")])
    report = json.loads((tmp_path / "idle.json").read_text())
    assert report["connections"] == 40 and report["refused"] == {}
    assert report["rss_mb_before"] > 0 and report["rss_mb_with"] > 0
    assert "kib_per_connection" in report


async def test_slowloris_sockets_are_closed_by_the_server(tmp_path: Path) -> None:
    secret, port = secrets.token_urlsafe(32), free_port()
    argv, env = app_command(port, secret, {"WSAO_HANDSHAKE_TIMEOUT": "1"})
    with trio.fail_after(60):
        async with running_server("app", argv, env, port, tmp_path / "app.log") as server:
            ctx = AttackContext(parse_target(server.url), secret, duration=8, scale=30)
            figures = await slowloris(ctx)
    assert figures["connected"] == 30
    assert figures["outcomes"] == {"closed by server": 30}
    assert figures["still_open_at_end"] == 0
