"""Two real ``python -m app`` processes on one real redis-server (contract v1.1).

Rows proven here with real processes and sockets: one seq/epoch across processes,
a tab on each, resume on the other process, SIGKILL of a process mid-run (its runs end
``node_lost`` on the other, tools paired, one terminal), Redis stopped (degraded,
``unavailable``) and restarted empty (service resumes, ``replay_gap`` epoch), and
``--workers`` refusing to start without Redis.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from tests.e2e.test_browser import ROOT, wait_ready
from tests.support.invariants import check_run
from tests.support.redisserver import RedisServer, free_port, needs_redis, running_redis
from tests.support.wsclient import WsClient
from wsao_trio.auth import mint_token
from wsao_trio.config import process_environment

pytestmark = needs_redis
SECRET = "redis-process-secret-0123456789abcdef"
SLOW_TOOL = "thoughts=1 tools=1 tool_ms=60000"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


def app_env(redis: RedisServer, port: int) -> dict[str, str]:
    return {
        **process_environment(),
        "WSAO_JWT_SECRET": SECRET,
        "WSAO_BIND": f"127.0.0.1:{port}",
        "WSAO_REDIS_URL": redis.url,
        "WSAO_NODE_TIMEOUT": "1",
        "WSAO_JANITOR_INTERVAL": "0.2",
        "WSAO_REDIS_RETRY_TIMEOUT": "1",
        "WSAO_LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def app_process(redis: RedisServer) -> AsyncIterator[tuple[trio.Process, str]]:
    port = free_port()
    argv = [sys.executable, "-m", "app"]
    proc = await trio.lowlevel.open_process(argv, cwd=ROOT, env=app_env(redis, port))
    try:
        await trio.to_thread.run_sync(wait_ready, f"http://127.0.0.1:{port}")
        yield proc, f"127.0.0.1:{port}"
    finally:
        proc.kill()
        await proc.wait()


@asynccontextmanager
async def tab(address: str, user: str, query: str = "") -> AsyncIterator[WsClient]:
    url = f"ws://{address}/ws?token={mint_token(SECRET, user, 600)}{query}"
    async with open_websocket_url(url) as ws:
        client = WsClient(ws)
        client.connected = await client.receive_type("connected")
        yield client


def health(address: str) -> httpx.Response:
    return httpx.get(f"http://{address}/health", timeout=2)


async def test_two_processes_are_one_service(redis: RedisServer) -> None:
    async with app_process(redis) as (_, a), app_process(redis) as (_, b):
        with trio.fail_after(30):
            async with tab(a, "alice") as on_a, tab(b, "alice") as on_b:
                assert on_a.connected["epoch"] == on_b.connected["epoch"]
                _, sent = await on_a.run("thoughts=2 tools=2 deltas=2", agent_type="scripted")
                seen = await on_b.collect_run(sent[0]["run_id"])
            check_run(sent)
            assert seen == sent
            async with tab(b, "alice", "&last_seq=0") as resumed:
                replayed = [await resumed.receive() for _ in sent]
            assert replayed == sent
            while health(a).json()["nodes"] < 2:
                await trio.sleep(0.1)
            assert health(a).json() == {"status": "ok", "store": "redis", "nodes": 2}


async def test_a_killed_process_runs_end_node_lost_on_the_other(redis: RedisServer) -> None:
    async with app_process(redis) as (proc_a, a), app_process(redis) as (_, b):
        with trio.fail_after(40):
            async with tab(b, "alice") as watcher, tab(a, "alice") as runner:
                await runner.send_message(SLOW_TOOL, agent_type="scripted")
                run_id = (await runner.receive_type("run_accepted"))["run_id"]
                await watcher.receive_type("tool_executing")
                proc_a.send_signal(signal.SIGKILL)
                events = await watcher.collect_run(run_id)
    check_run(events)
    completed = [e for e in events if e["type"] == "tool_completed"]
    assert completed and completed[0]["payload"]["ok"] is False
    assert completed[0]["payload"]["error"]["code"] == "node_lost"
    assert events[-1]["type"] == "agent_error"
    assert events[-1]["payload"]["code"] == "node_lost"


async def test_redis_outage_degrades_then_service_resumes_with_a_new_epoch(
    redis: RedisServer,
) -> None:
    async with app_process(redis) as (_, a):
        with trio.fail_after(60):
            async with tab(a, "alice") as client:
                _, before = await client.run("thoughts=1", agent_type="scripted")
                redis.stop()
                await wait_health(a, 503)
                assert health(a).json()["status"] == "degraded"
                message_id = await client.send_message("thoughts=1", agent_type="scripted")
                error = await client.receive_type("error")
                assert error["code"] == "unavailable" and error["ref"] == message_id
                await trio.to_thread.run_sync(redis.start)
                await wait_health(a, 200)
            epoch = before[0]["event_id"].split("-")[0]
            query = f"&last_seq={before[-1]['seq']}&epoch={epoch}"
            async with tab(a, "alice", query) as resumed:
                gap = await resumed.receive_type("replay_gap")
                _, after = await resumed.run("thoughts=1", agent_type="scripted")
    assert gap["reason"] == "epoch"
    check_run(after)
    assert after[0]["seq"] == 1


async def wait_health(address: str, status: int) -> None:
    while True:
        try:
            if (await trio.to_thread.run_sync(health, address)).status_code == status:
                return
        except httpx.HTTPError:
            pass
        await trio.sleep(0.2)


def test_several_workers_without_redis_refuse_to_start() -> None:
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_WORKERS": "2"}
    env.pop("WSAO_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, timeout=30
    )
    assert done.returncode == 2 and b"WSAO_REDIS_URL" in done.stderr


async def test_workers_serve_one_bind_and_drain_on_sigterm(redis: RedisServer) -> None:
    port = free_port()
    env = app_env(redis, port) | {"WSAO_WORKERS": "2"}
    argv = [sys.executable, "-m", "app"]
    proc = await trio.lowlevel.open_process(argv, cwd=ROOT, env=env)
    address = f"127.0.0.1:{port}"
    try:
        await trio.to_thread.run_sync(wait_ready, f"http://{address}")
        with trio.fail_after(30):
            results = await _runs_on_fresh_connections(address, 6)
            proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
    finally:
        proc.kill()
    assert all(r[-1]["type"] == "agent_completed" for r in results)
    assert code == 0


async def _runs_on_fresh_connections(address: str, count: int) -> list[list[dict[str, Any]]]:
    results = []
    for i in range(count):
        async with tab(address, f"user{i}") as client:
            _, events = await client.run("thoughts=1", agent_type="scripted")
            results.append(events)
    return results
