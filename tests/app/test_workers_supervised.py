"""Supervised ``--workers`` (issue 15): a dead worker is replaced, with a backoff.

The restart decisions (:mod:`app.supervisor`) are tested directly, hypothesis driving
sequences of deaths; :class:`app.workers.Parent` runs a crash-looping child in this
process to show the backoff holds against real processes; and ``python -m app
--workers 2`` on a real redis-server shows the issue's bound: a SIGKILLed worker is
replaced and answering within 5 s while ``/health`` keeps answering from the other,
and SIGTERM exits 0 with no worker left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from app.supervisor import Backoff, Supervision, describe_exit, exit_status
from app.workers import Parent
from tests.e2e.test_browser import ROOT, wait_ready
from tests.e2e.test_redis_process import app_env
from tests.support.redisserver import RedisServer, free_port, needs_redis, running_redis

REPLACED_WITHIN = 5.0  # the bound
BACKOFF = Backoff(first=0.2, factor=2.0, cap=30.0, stable_after=10.0)
uptimes = st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=40)


@given(uptimes)
def test_every_unexpected_exit_is_restarted_within_bounds(ups: list[float]) -> None:
    supervision, now = Supervision(1, BACKOFF), 0.0
    for up in ups:
        supervision.started(0, now)
        now += up
        restart = supervision.exited(0, now)
        assert restart is not None and restart.slot == 0
        assert BACKOFF.first <= restart.delay <= BACKOFF.cap
        now += restart.delay


@given(st.integers(min_value=1, max_value=200))
def test_a_crash_loop_backs_off_exponentially_up_to_the_cap(deaths: int) -> None:
    supervision, now, delays = Supervision(2, BACKOFF), 0.0, []
    for _ in range(deaths):
        supervision.started(1, now)
        now += 0.01  # dies at once
        restart = supervision.exited(1, now)
        assert restart is not None
        delays.append(restart.delay)
        now += restart.delay
    assert delays == sorted(delays) and delays[0] == BACKOFF.first
    assert delays[-1] == min(BACKOFF.cap, BACKOFF.first * 2 ** (deaths - 1))
    assert supervision.slots[0].failures == 0  # the other slot is untouched


@given(st.integers(min_value=1, max_value=50))
def test_a_worker_that_stayed_up_resets_its_backoff(early: int) -> None:
    supervision, now = Supervision(1, BACKOFF), 0.0
    for _ in range(early):
        supervision.started(0, now)
        now += 0.5
        restart = supervision.exited(0, now)
        assert restart is not None
        now += restart.delay
    supervision.started(0, now)
    restart = supervision.exited(0, now + BACKOFF.stable_after)
    assert restart is not None and restart.delay == BACKOFF.first and restart.failures == 1


@given(st.lists(st.integers(min_value=0, max_value=3), max_size=10))
def test_nothing_is_restarted_once_stopping(slots: list[int]) -> None:
    supervision = Supervision(4, BACKOFF)
    supervision.stop()
    assert all(supervision.exited(slot, 1.0) is None for slot in slots)


def test_exits_are_described_and_judged() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(3) == "exit code 3" and describe_exit(-99) == "killed by signal 99"
    assert exit_status([0, 0]) == 0 and exit_status([0, -signal.SIGKILL]) == 137
    assert exit_status([2, 0]) == 2 and exit_status([None]) == 1


@pytest.mark.parametrize(
    ("argv", "codes"),
    [
        ([sys.executable, "-c", "raise SystemExit(3)"], (0, 3)),
        (["/nonexistent/wsao-worker"], (0,)),  # cannot even be started: retried alike
    ],
    ids=["exits-3", "not-startable"],
)
async def test_a_crash_looping_worker_backs_off_and_the_parent_still_stops(
    argv: list[str], codes: tuple[int, ...], capfd: pytest.CaptureFixture[str]
) -> None:
    backoff = Backoff(first=0.05, factor=2.0, cap=0.4, stable_after=10.0)
    parent = Parent(argv, dict(os.environ), 0, Supervision(1, backoff), stop_timeout=5)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_terminate_self_after, 2.5)
            code = await parent.supervise()
    deaths = re.findall(r"restarting in ([0-9.]+) s", capfd.readouterr().err)
    delays = [float(d) for d in deaths]
    assert 4 <= len(delays) <= 12, delays  # backed off: no spinning, never given up
    assert delays[:4] == [0.05, 0.1, 0.2, 0.4] and set(delays[4:]) <= {0.4}
    assert code in codes  # stopped during a backoff (0) or just after a start (3)
    assert all(p.returncode is not None for p in parent.processes.values())


async def _terminate_self_after(seconds: float) -> None:
    await trio.sleep(seconds)
    os.kill(os.getpid(), signal.SIGTERM)  # the parent's own signal receiver takes it


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@needs_redis
def test_a_killed_worker_is_replaced_while_the_other_serves(redis: RedisServer) -> None:
    port = free_port()
    env = app_env(redis, port)
    proc = subprocess.Popen([sys.executable, "-m", "app", "--workers", "2"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/health"
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        old = _workers(proc.pid, 2)
        os.kill(old[0], signal.SIGKILL)
        new = _replacement_answering(proc.pid, old, url)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert code == 0
    assert not any(psutil.pid_exists(pid) for pid in [*old, new])  # no worker left


@needs_redis
def test_workers_drain_when_their_parent_is_sigkilled(redis: RedisServer) -> None:
    port = free_port()
    env = app_env(redis, port)
    proc = subprocess.Popen([sys.executable, "-m", "app", "--workers", "2"], cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        workers = [psutil.Process(pid) for pid in _workers(proc.pid, 2)]
        proc.kill()  # no chance to forward anything
        proc.wait(timeout=10)
        _, alive = psutil.wait_procs(workers, timeout=20)
    finally:
        proc.kill()
    for worker in alive:
        worker.kill()
    assert not alive, "workers outlived their parent"


@needs_redis
def test_ctrl_c_to_the_process_group_drains_each_worker_once(
    redis: RedisServer, tmp_path: Path
) -> None:
    # A terminal's Ctrl-C signals the whole foreground group: the workers, in sessions
    # of their own, get SIGINT only from the parent (twice was a KeyboardInterrupt).
    port = free_port()
    argv = [sys.executable, "-m", "app", "--workers", "2"]
    with (tmp_path / "stderr").open("w+b") as err:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=app_env(redis, port), stderr=err, start_new_session=True
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            _workers(proc.pid, 2)
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=30)
        finally:
            proc.kill()
        err.seek(0)
        text = err.read().decode(errors="replace")
    assert code == 0, text
    assert text.count("received SIGINT, shutting down") == 2 and "Traceback" not in text, text


def _workers(parent: int, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = [c.pid for c in psutil.Process(parent).children() if c.is_running()]
        if len(children) == count:
            return sorted(children)
        time.sleep(0.05)
    raise AssertionError(f"expected {count} workers")


def _replacement_answering(parent: int, old: list[int], url: str) -> int:
    """Poll /health from the kill on (every answer 200: the other worker serves) until a
    new worker exists; then, with the surviving old one stopped, until it answers."""
    killed_at, survivor = time.monotonic(), old[1]
    while old[0] in _live_children(parent):  # dead, so it accepts nothing more
        time.sleep(0.005)
    while not (new := set(_live_children(parent)) - set(old)):
        assert httpx.get(url, timeout=2).status_code == 200
        assert time.monotonic() - killed_at < REPLACED_WITHIN, "no replacement started"
    os.kill(survivor, signal.SIGSTOP)  # from now on only the replacement can accept
    try:
        while not _answers(url):
            assert time.monotonic() - killed_at < REPLACED_WITHIN, "replacement not serving"
            time.sleep(0.05)
    finally:
        os.kill(survivor, signal.SIGCONT)
    return new.pop()


def _live_children(parent: int) -> list[int]:
    alive = []
    for child in psutil.Process(parent).children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child.pid)
    return alive


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False
