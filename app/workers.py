"""``python -m app --workers N``: one bind served by N worker processes on one Redis.

The parent binds the listening socket once and starts N ``python -m app --worker-fd FD``
children that inherit it (hypercorn serves ``fd://FD``), so the kernel spreads
connections over them. SIGINT/SIGTERM are forwarded; each worker drains as a single
process does (runs end ``shutdown``, sockets close 1001) and the parent exits with
the worst exit code. Without ``WSAO_REDIS_URL`` workers would be separate services,
so N > 1 refuses to start.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
from types import FrameType

from wsao_trio.config import Settings, process_environment
from wsao_trio.errors import ConfigError

WORKER_FLAG = "--worker-fd"


def check_workers(settings: Settings) -> None:
    """Refuse several workers without a shared store."""
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"WSAO_WORKERS={settings.workers} needs WSAO_REDIS_URL: without Redis each "
            "worker would be a separate service (different seq, lost resumes)"
        )


def listening_socket(bind: str) -> socket.socket:
    """Bind ``HOST:PORT`` once for every worker (inheritable)."""
    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_workers(settings: Settings) -> int:
    """Start the workers, forward stop signals, wait; the worst exit code wins."""
    sock = listening_socket(settings.bind)
    fd = sock.fileno()
    argv = [sys.executable, "-m", "app", WORKER_FLAG, str(fd)]
    env = process_environment() | {"WSAO_WORKERS": "1"}
    if settings.jwt_secret is None:  # dev auth: every worker must accept the same tokens
        env["WSAO_JWT_SECRET"] = secrets.token_urlsafe(32)
    children = [subprocess.Popen(argv, pass_fds=[fd], env=env) for _ in range(settings.workers)]

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [child.wait() for child in children]
    sock.close()
    return max(codes, key=abs)


def worker_fd(argv: list[str]) -> int | None:
    """The inherited socket's fd when this process is a worker, else None."""
    if WORKER_FLAG in argv:
        return int(argv[argv.index(WORKER_FLAG) + 1])
    return None
