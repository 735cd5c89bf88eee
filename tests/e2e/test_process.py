"""The service as a process: `python -m app` start-up refusal and signal shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile

import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from tests.e2e.test_browser import ROOT, free_port, wait_ready
from tests.support.invariants import check_run
from tests.support.wsclient import WsClient
from wsao_trio.auth import mint_token
from wsao_trio.config import process_environment

SECRET = "process-test-secret-0123456789abcdef"


def test_refuses_to_start_without_secret_or_dev_auth() -> None:
    env = {k: v for k, v in process_environment().items() if not k.startswith("WSAO_")}
    done = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 2
    assert b"WSAO_JWT_SECRET" in done.stderr and b"WSAO_DEV_AUTH" in done.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WSAO_SEND_DEADLIN", "3", b"unknown setting WSAO_SEND_DEADLIN"),
        ("WSAO_SEND_DEADLINE", "-1", b"WSAO_SEND_DEADLINE must be > 0"),
        ("WSAO_LOG_LEVEL", "chatty", b"WSAO_LOG_LEVEL must be one of"),
        ("WSAO_DEFAULT_AGENT", "nope", b"WSAO_DEFAULT_AGENT 'nope' is not one of"),
        ("WSAO_DEV_AUTH", "maybe", b"WSAO_DEV_AUTH: expected a boolean"),
    ],
)
def test_bad_setting_is_a_clear_error(name: str, value: str, message: bytes) -> None:
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", name: value}
    done = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_hypercorn_cli_stops_on_a_bad_setting() -> None:
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_SEND_DEADLIN": "3"}
    hypercorn = [sys.executable, "-m", "hypercorn", "--worker-class", "trio"]
    bind = ["--bind", f"127.0.0.1:{free_port()}", "app:app"]
    done = subprocess.run(hypercorn + bind, cwd=ROOT, env=env, capture_output=True, timeout=30)
    assert b"unknown setting WSAO_SEND_DEADLIN" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_signal_cancels_runs_closes_1001_and_exits_0(signum: signal.Signals) -> None:
    port = free_port()
    env = {**process_environment(), "WSAO_JWT_SECRET": SECRET, "WSAO_BIND": f"127.0.0.1:{port}"}
    proc = await trio.lowlevel.open_process([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    try:
        await trio.to_thread.run_sync(wait_ready, f"http://127.0.0.1:{port}")
        url = f"ws://127.0.0.1:{port}/ws?token={mint_token(SECRET, 'alice', 600)}"
        with trio.fail_after(20):
            events, code = await run_until_signal(url, proc, signum)
            returncode = await proc.wait()
    finally:
        proc.kill()
    check_run(events)
    assert events[-1]["payload"]["reason"] == "shutdown"
    assert code == 1001 and returncode == 0


async def run_until_signal(
    url: str, proc: trio.Process, signum: signal.Signals
) -> tuple[list[dict[str, object]], int]:
    async with open_websocket_url(url) as ws:
        client = WsClient(ws)
        await client.send_message("thoughts=1000 delay_ms=50", agent_type="scripted")
        run_id = (await client.receive_type("run_accepted"))["run_id"]
        await client.receive_type("agent_thinking")
        proc.send_signal(signum)
        events = await client.collect_run(run_id)
        with pytest.raises(ConnectionClosed) as closed:
            await client.receive()
    return events, closed.value.reason.code


def test_start_up_prints_each_line_once() -> None:
    # hypercorn's "Running on …" came out twice, in hypercorn's format and in ours.
    port = free_port()
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_BIND": f"127.0.0.1:{port}"}
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=output, stderr=output
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
        finally:
            proc.kill()
        output.seek(0)
        text = output.read().decode()
    assert text.count("Running on") == 1, text
    assert text.count(f"wsao: chat on http://127.0.0.1:{port}/") == 1, text
