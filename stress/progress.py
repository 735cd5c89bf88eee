"""A one-line progress display on stderr for long runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import trio

from stress.recorder import Recorder


def line(recorder: Recorder, runs_ended: int, runs_total: int, elapsed: float) -> str:
    """The progress text: connections, runs, events, events/s, errors."""
    events = len(recorder.fast.values) + len(recorder.slow.values)
    events += sum(recorder.replayed.per_second.values())
    rate = events / elapsed if elapsed > 0 else 0.0
    width = 24
    done = int(width * runs_ended / runs_total) if runs_total else width
    bar = "#" * done + "." * (width - done)
    return (
        f"[{bar}] {elapsed:6.1f}s conns {recorder.connections_open:5d} "
        f"runs {runs_ended}/{runs_total} events {events} ({rate:,.0f}/s) "
        f"errors {sum(recorder.errors.values())}"
    )


async def show_progress(
    recorder: Recorder, runs_ended: Callable[[], int], runs_total: int, interval: float = 1.0
) -> None:
    """Rewrite the progress line every ``interval`` s until cancelled (TTY: in place)."""
    start = time.time()
    tty = sys.stderr.isatty()
    every = 1 if tty else 10
    tick = 0
    try:
        while True:
            await trio.sleep(interval)
            tick += 1
            if tick % every == 0:
                text = line(recorder, runs_ended(), runs_total, time.time() - start)
                sys.stderr.write(("\r" + text) if tty else (text + "\n"))
                sys.stderr.flush()
    finally:
        if tty:
            sys.stderr.write("\n")
