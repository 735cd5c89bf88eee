"""Samples a server process's RSS and CPU (and our own CPU) during a load run."""

from __future__ import annotations

import time

import attrs
import psutil
import trio


@attrs.define
class ProcessSamples:
    """``(t, rss_mb, cpu_percent)`` samples of the server, and our own CPU samples."""

    pid: int | None
    server: list[tuple[float, float, float]] = attrs.field(factory=list)
    client_cpu: list[tuple[float, float]] = attrs.field(factory=list)

    def summary(self, window: tuple[float, float]) -> dict[str, object]:
        """Start/max/end RSS, and mean/max CPU while the load ran (``window``, s)."""
        start, end = window
        rss = [s[1] for s in self.server]
        cpu = [s[2] for s in self.server[1:] if start < s[0] <= end]
        mine = [s[1] for s in self.client_cpu[1:] if start < s[0] <= end]
        return {
            "pid": self.pid,
            "rss_mb_start": rss[0] if rss else None,
            "rss_mb_max": max(rss) if rss else None,
            "rss_mb_end": rss[-1] if rss else None,
            "server_cpu_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
            "server_cpu_max": max(cpu) if cpu else None,
            "client_cpu_mean": round(sum(mine) / len(mine), 1) if mine else None,
            "client_cpu_max": max(mine) if mine else None,
            "samples": [[round(t, 2), round(r, 1), c] for t, r, c in self.server],
        }


async def sample_forever(samples: ProcessSamples, origin: float, interval: float = 0.5) -> None:
    """Append a sample every ``interval`` seconds until cancelled (the load bounds it)."""
    server = _process(samples.pid)
    me = psutil.Process()
    me.cpu_percent()
    while True:
        now = time.time() - origin
        samples.client_cpu.append((round(now, 2), me.cpu_percent()))
        if server is not None:
            try:
                with server.oneshot():
                    rss = server.memory_info().rss / 1e6
                    cpu = server.cpu_percent()
                samples.server.append((now, rss, cpu))
            except psutil.Error:
                server = None
        await trio.sleep(interval)


def _process(pid: int | None) -> psutil.Process | None:
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        proc.cpu_percent()
        return proc
    except psutil.Error:
        return None
