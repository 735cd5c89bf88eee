"""Debian's ``redis-server`` as a child of the harness, on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio

from stress.server_proc import HOST, free_port, stop


@attrs.frozen
class RedisProcess:
    """A running redis-server: its URL and pid (for CPU accounting)."""

    url: str
    pid: int


@asynccontextmanager
async def running_redis() -> AsyncIterator[RedisProcess]:
    """Start an empty, non-persistent redis-server; stop it afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ValueError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--dir", directory]
        process = await trio.lowlevel.open_process(
            [*argv, "--appendonly", "no"], stdout=subprocess.DEVNULL
        )
        try:
            await _wait_ready(port)
            yield RedisProcess(f"redis://{HOST}:{port}/0", process.pid)
        finally:
            await stop(process)


async def _wait_ready(port: int) -> None:
    with trio.fail_after(10):
        while True:
            try:
                stream = await trio.open_tcp_stream(HOST, port)
            except OSError:
                await trio.sleep(0.05)
                continue
            await stream.send_all(b"PING\r\n")
            answer = await stream.receive_some(16)
            await stream.aclose()
            if answer.startswith(b"+PONG"):
                return
            await trio.sleep(0.05)
