"""A real ``redis-server`` (Debian's) on a free loopback port, for the Redis tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import pytest

REDIS = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


def free_port() -> int:
    """An ephemeral loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class RedisServer:
    """One redis-server process; stop and start it again on the same port."""

    port: int
    directory: str
    process: subprocess.Popen[bytes] | None = None
    durable: bool = False  # an append-only file: a restart brings the data back

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS is not None
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        durable = ["yes", "--appendfsync", "always"] if self.durable else ["no"]
        args += ["--appendonly", *durable, "--dir", self.directory]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@contextmanager
def running_redis(durable: bool = False) -> Iterator[RedisServer]:
    """Start a fresh, empty redis-server for one test; stop it afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(free_port(), directory, durable=durable)
        server.start()
        try:
            yield server
        finally:
            server.stop()
