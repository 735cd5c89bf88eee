"""Start and stop a server subprocess on a free loopback port.

Used by ``stress bench`` (the real app, then the baseline) and by the harness test.
The child gets its configuration through ``env=``: the parent's environment (read
only by :func:`wsao_trio.config.process_environment`) minus any ``WSAO_*`` variable,
plus the ones given here. Its output goes to a log file, so a full pipe never
stalls it, and the file is quoted when it fails to start.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import attrs
import psutil
import trio

from stress.http_client import is_healthy
from wsao_trio.config import process_environment

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

Command = tuple[list[str], dict[str, str]]


@attrs.frozen
class ServerProcess:
    """A running server child: its process, port and log file."""

    name: str
    process: trio.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        """The WebSocket URL the harness loads."""
        return f"ws://{HOST}:{self.port}/ws"

    @property
    def pid(self) -> int:
        """The child's process id (for RSS sampling)."""
        return self.process.pid


def free_port() -> int:
    """A currently free loopback TCP port (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without ``WSAO_*`` names, plus ``settings``."""
    env = {k: v for k, v in process_environment().items() if not k.startswith("WSAO_")}
    env.update(settings)
    return env


def app_command(
    port: int, secret: str, settings: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """``python -m app`` with dev auth, the secret, quiet logs and ``settings``."""
    base = {
        "WSAO_BIND": f"{HOST}:{port}",
        "WSAO_DEV_AUTH": "1",
        "WSAO_JWT_SECRET": secret,
        "WSAO_LOG_LEVEL": "WARNING",
    }
    return [sys.executable, "-m", "app"], child_env({**base, **settings})


def baseline_command(port: int, secret: str) -> Command:
    """``python -m stress.baseline_app`` on ``port`` with ``secret``."""
    argv = [sys.executable, "-m", "stress.baseline_app", "--bind", f"{HOST}:{port}"]
    return [*argv, "--secret", secret], child_env({})


@asynccontextmanager
async def running_server(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    port: int,
    log_path: Path,
    cpu: int | None = None,
) -> AsyncIterator[ServerProcess]:
    """Start ``argv``, wait for ``GET /health`` = 200, yield it, then stop it (SIGINT)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            list(argv), env=dict(env), cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            pin(process.pid, cpu)
            await wait_ready(process, port, log_path)
            yield ServerProcess(name, process, port, log_path)
        finally:
            await stop(process)


def pin(pid: int, cpu: int | None) -> None:
    """Pin ``pid`` to one CPU (so the load generator keeps the other); no-op if None."""
    if cpu is None:
        return
    with suppress(psutil.Error, AttributeError, ValueError):
        psutil.Process(pid).cpu_affinity([cpu])


async def wait_ready(process: trio.Process, port: int, log_path: Path) -> None:
    """Wait until ``process`` answers ``/health`` 200; raise with its log's tail if not."""
    with trio.move_on_after(START_TIMEOUT):
        while process.returncode is None:
            if await is_healthy(HOST, port):
                return
            await trio.sleep(0.1)
    tail = (await trio.Path(log_path).read_text(errors="replace"))[-3000:]
    raise RuntimeError(f"server {process.args!r} did not become ready:\n{tail}")


async def stop(process: trio.Process) -> None:
    """SIGINT, then SIGKILL after ``STOP_TIMEOUT``; shielded so cleanup always runs."""
    with trio.CancelScope(shield=True):
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            with trio.move_on_after(STOP_TIMEOUT):
                await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
