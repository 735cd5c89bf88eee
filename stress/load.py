"""One load run: tokens, users, the connect barrier, the drive, the samples.

All users live in one trio process. They connect first (at most
``connect_concurrency`` handshakes in flight, so the server's listen backlog never
overflows), then start together; the whole run is bounded by ``duration_limit``.
"""

from __future__ import annotations

import gc
import random
import resource
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs
import trio

from stress.client import Shared, UserClient
from stress.progress import show_progress
from stress.recorder import Recorder
from stress.sampler import ProcessSamples, sample_forever
from stress.spec import LoadSpec
from stress.tokens import tokens_for

FD_HEADROOM = 256
GC_THRESHOLDS = (50_000, 50, 1000)


@attrs.define
class LoadOutcome:
    """Everything a load run observed, for :mod:`stress.report`."""

    spec: LoadSpec
    recorder: Recorder
    users: list[UserClient]
    samples: ProcessSamples
    go_at: float
    ended_at: float
    connect_seconds: float
    timed_out: bool


def raise_fd_limit(needed: int) -> int:
    """Raise this process's open-file limit towards ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def slow_users(spec: LoadSpec) -> frozenset[int]:
    """The indexes of the users that stop reading (``slow_pct`` percent of them)."""
    count = round(spec.users * spec.slow_pct / 100)
    return frozenset(random.Random(spec.seed).sample(range(spec.users), count))


async def make_users(spec: LoadSpec, shared: Shared) -> list[UserClient]:
    """The users of this run, with fresh ids (so seqs start at 0) and their tokens."""
    tag = spec.tag or secrets.token_hex(3)
    ids = [f"stress-{tag}-{i:05d}" for i in range(spec.users)]
    target = spec.target
    tokens = await tokens_for(target.host, target.port, ids, spec.secret)
    slow = slow_users(spec)
    return [UserClient(i, uid, tokens[uid], shared, i in slow) for i, uid in enumerate(ids)]


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Keep the load generator's cyclic GC out of the measurement.

    Objects made before the load are frozen out of collection and young objects are
    collected every 50,000 allocations instead of 700: with thousands of sockets, a
    full collection pauses every client for tens of milliseconds, which would show up
    as server latency.
    """
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


async def _await_connected(recorder: Recorder, total: int, timeout: float) -> None:
    with trio.move_on_after(timeout):
        while recorder.connected + recorder.connect_failures < total:
            await trio.sleep(0.05)


async def run_load(spec: LoadSpec, *, progress: bool = True) -> LoadOutcome:
    """Run one load to the end (or to ``duration_limit``) and return what it saw."""
    raise_fd_limit(spec.users * spec.duplicate_sends + FD_HEADROOM)
    recorder = Recorder()
    shared = Shared(spec, recorder, trio.CapacityLimiter(spec.connect_concurrency))
    users = await make_users(spec, shared)
    samples = ProcessSamples(spec.server_pid)
    marks = {"go": time.time()}
    with quiet_gc(), trio.move_on_after(spec.duration_limit) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sample_forever, samples, recorder.origin)
            if progress:
                nursery.start_soon(show_progress, recorder, _ended(users), _total(spec))
            await _drive(users, shared, marks)
            nursery.cancel_scope.cancel()
    for user in users:
        for lineage in user.lineages:
            lineage.checker.finish()
    return LoadOutcome(
        spec, recorder, users, samples, marks["go"], time.time(),
        marks["go"] - recorder.origin, scope.cancelled_caught,
    )  # fmt: skip


async def _drive(users: list[UserClient], shared: Shared, marks: dict[str, float]) -> None:
    total = sum(len(u.lineages) for u in users)
    async with trio.open_nursery() as nursery:
        for user in users:
            nursery.start_soon(user.run)
        await _await_connected(shared.recorder, total, max(30.0, total * 0.05))
        marks["go"] = time.time()
        shared.go.set()


def _total(spec: LoadSpec) -> int:
    return spec.users * spec.runs_per_user


def _ended(users: list[UserClient]) -> Callable[[], int]:
    def count() -> int:
        return sum(u.lineages[0].checker.runs_ended for u in users)

    return count
