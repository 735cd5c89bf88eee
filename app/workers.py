"""``python -m app --workers N``: one bind served by N supervised worker processes.

The parent binds the listening socket once and starts N ``python -m app --worker-fd FD``
children that inherit it (hypercorn serves ``fd://FD``), so the kernel spreads
connections over them; the parent serves nothing itself. Without ``WSAO_REDIS_URL``
workers would be separate services, so N > 1 refuses to start.

**A worker that exits while the parent is not stopping is replaced** (a crash, SIGKILL,
the OOM killer): the parent logs ``wsao: worker 1 (pid 123) died: killed by SIGKILL;
restarting in 0.2 s`` and then ``wsao: worker 1 restarted (pid 130)``; the other
workers keep accepting on the same socket meanwhile, and the dead worker's runs end
``node_lost`` on them (Redis liveness). Restarts back off per slot (exponential, capped,
reset once a worker stayed up a while): the decisions are the sans-IO
:mod:`app.supervisor`.

**SIGINT/SIGTERM** stop the replacing and are forwarded to every worker (each runs in a
session of its own, so a terminal's Ctrl-C reaches the parent only and each worker gets
the signal once); each drains as
a single process does (runs end ``shutdown``, sockets close 1001). The parent exits
once all are gone: 0 when every worker exited 0, else the first failure's code. A worker
still alive ``stop_timeout`` seconds after the signal is SIGKILLed, so none is left.
A worker whose parent dies (even SIGKILLed) notices within a second and drains
(:func:`orphan_watch`).

Why not an existing supervisor: hypercorn 0.18's own ``hypercorn.run.run`` with
``workers > 0`` replaces a worker only when it exited 0; any other exit (a crash, -9)
stops every worker and the parent, which is the failure issue 15 reports. Its workers
are ``multiprocessing`` spawns that re-import the app from ``application_path``
(bypassing this app's ordered drain) and are stopped by a shared Event, not SIGTERM,
and it has no backoff. Gunicorn's arbiter supervises well but needs a gunicorn worker
class (hypercorn ships none; uvicorn's are asyncio) plus its heartbeat protocol;
supervisord/circus are external daemons that do not hand one pre-bound socket to a
program group (supervisord only for FastCGI). So this module stays small: trio in the
parent, one task per slot around ``trio.lowlevel.open_process`` and ``Process.wait``.
On several machines, or for the parent itself, use systemd (``deploy/wsao.service``).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator

import attrs
import trio

from app.supervisor import Restart, Supervision, describe_exit, exit_status
from wsao_trio.config import Settings, process_environment
from wsao_trio.errors import ConfigError

WORKER_FLAG = "--worker-fd"
STOP_SLACK = 10.0
"""Seconds a worker may take beyond three shutdown graces before it is SIGKILLed."""


def check_workers(settings: Settings) -> None:
    """Refuse several workers without a shared store (raises ConfigError)."""
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"WSAO_WORKERS={settings.workers} needs WSAO_REDIS_URL: without Redis each "
            "worker would be a separate service (different seq, lost resumes)"
        )


def listening_socket(bind: str) -> socket.socket:
    """Bind ``HOST:PORT`` once for every worker (inheritable); OSError if taken."""
    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def log(message: str) -> None:
    """One line of the parent's log on stderr (the workers log through ``logging``)."""
    print(f"wsao: {message}", file=sys.stderr, flush=True)


@attrs.define
class Parent:
    """The supervising parent: starts, replaces and stops the workers of one socket."""

    argv: list[str]
    env: dict[str, str]
    fd: int
    supervision: Supervision
    stop_timeout: float
    processes: dict[int, trio.Process] = attrs.field(factory=dict)
    codes: list[int | None] = attrs.field(factory=list)
    stopped: trio.Event = attrs.field(factory=trio.Event)
    stop_signal: int = signal.SIGTERM

    async def supervise(self) -> int:
        """Run every slot until a stop signal and all workers are gone; the exit code.

        Any worker still running when this returns or raises is SIGKILLed.
        """
        self.codes = [None] * self.supervision.count
        try:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async with trio.open_nursery() as outer:
                    outer.start_soon(self._on_signals, signals)
                    async with trio.open_nursery() as slots:
                        for slot in range(self.supervision.count):
                            slots.start_soon(self._run_slot, slot)
                    outer.cancel_scope.cancel()
        finally:
            self._kill_all()
        return exit_status(self.codes)

    async def _run_slot(self, slot: int) -> None:
        for attempt in itertools.count():
            process = await self._spawn(slot)
            if process is not None and attempt:
                log(f"worker {slot} restarted (pid {process.pid})")
            code = 0 if process is None else await process.wait()
            restart = self.supervision.exited(slot, trio.current_time())
            if restart is None:
                self.codes[slot] = code
                return
            _log_death(slot, process, code, restart)
            with trio.move_on_after(restart.delay):
                await self.stopped.wait()
            if self.supervision.stopping:  # the death was handled; nothing left to drain
                self.codes[slot] = 0
                return

    async def _spawn(self, slot: int) -> trio.Process | None:
        """A new worker in ``slot``, or None when it could not be started (no fork, no
        memory, too many files: retried like a death)."""
        self.supervision.started(slot, trio.current_time())
        try:
            # A session of its own: a terminal's Ctrl-C (SIGINT to the foreground
            # process group) reaches the parent only, which forwards it once; a second
            # copy would be re-raised as KeyboardInterrupt when the worker's drain ends.
            process = await trio.lowlevel.open_process(
                self.argv, pass_fds=[self.fd], env=self.env, start_new_session=True
            )
        except OSError as exc:
            log(f"worker {slot} could not be started: {exc!r}")
            return None
        self.processes[slot] = process
        if self.supervision.stopping:  # the signal came while it was being started
            process.send_signal(self.stop_signal)
        return process

    async def _on_signals(self, signals: AsyncIterator[int]) -> None:
        async for signum in signals:
            log(f"received {signal.Signals(signum).name}, stopping the workers")
            self.stop_signal = signum
            self.supervision.stop()
            self.stopped.set()
            for process in self.processes.values():
                if process.returncode is None:
                    process.send_signal(signum)
            break
        await trio.sleep(self.stop_timeout)
        log(f"workers still running {self.stop_timeout:g} s after the signal: SIGKILL")
        self._kill_all()

    def _kill_all(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.kill()


def _log_death(slot: int, process: trio.Process | None, code: int, restart: Restart) -> None:
    how = "not started" if process is None else f"(pid {process.pid}) died: {describe_exit(code)}"
    log(
        f"worker {slot} {how}; restarting in {restart.delay:g} s "
        f"(early death {restart.failures} in a row)"
    )


def parent_for(settings: Settings, fd: int) -> Parent:
    """The :class:`Parent` that runs ``settings.workers`` workers on the socket ``fd``."""
    argv = [sys.executable, "-m", "app", WORKER_FLAG, str(fd)]
    env = process_environment() | {"WSAO_WORKERS": "1"}
    if settings.jwt_secret is None:  # dev auth: every worker must accept the same tokens
        env["WSAO_JWT_SECRET"] = secrets.token_urlsafe(32)
    stop_timeout = 3 * settings.shutdown_grace + STOP_SLACK
    return Parent(argv, env, fd, Supervision(settings.workers), stop_timeout)


def run_workers(settings: Settings) -> int:
    """Bind, supervise ``settings.workers`` workers until SIGINT/SIGTERM; the exit code.

    Raises OSError when the bind fails. Blocks; returns only after every worker exited.
    """
    with listening_socket(settings.bind) as sock:
        return trio.run(parent_for(settings, sock.fileno()).supervise)


def worker_fd(argv: list[str]) -> int | None:
    """The inherited socket's fd when this process is a worker, else None."""
    if WORKER_FLAG in argv:
        return int(argv[argv.index(WORKER_FLAG) + 1])
    return None


async def orphan_watch(interval: float = 1.0) -> None:
    """In a worker: SIGTERM itself (the normal drain) once its parent is gone.

    The parent may be SIGKILLed (no chance to forward a signal); the worker is then
    re-parented and would serve on unsupervised. Returns after signalling.
    """
    parent = os.getppid()
    while os.getppid() == parent:
        await trio.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)
