"""A bystander during an attack: how long it waits to connect and for a trivial run.

Two probes run side by side until cancelled, each once per ``interval``:

- *connect*: a fresh authenticated WebSocket, timed from the TCP connect to the
  ``connected`` frame, then closed (a refusal is recorded with its reason);
- *run*: on one connection held throughout, a trivial scripted run
  (``thoughts=1 tools=1``), timed from sending ``user_message`` to ``agent_completed``.

Each probe is bounded by ``PROBE_TIMEOUT``: a stalled server shows up as a timeout,
not as a harness that never ends.

``python -m stress.bystander URL TOKEN SECONDS [reconnect]`` probes for ``SECONDS`` and
prints the summary as JSON: ``stress attack`` runs the bystander in its own process, so
the attack's client-side work (thousands of sockets in the harness's own loop) does not
count as the server's latency. With ``reconnect`` (``stress chaos --workers``) a held
connection that is cut (its worker was killed) counts one ``cut`` failure and the
bystander connects again instead of ending; SIGTERM then also ends the probing early
(the summary is still printed).
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import attrs
import trio
import trio_websocket

from stress.holders import Held, hold
from stress.spec import Target, parse_target
from stress.stats import summarize

PROBE_TIMEOUT = 10.0
TRIVIAL = "thoughts=1 tools=1"
TERMINAL = frozenset({"agent_completed", "agent_error", "agent_cancelled"})


@attrs.define
class Probes:
    """Latencies (ms) of each probe, and failed probes by reason."""

    connect_ms: list[float] = attrs.field(factory=list)
    run_ms: list[float] = attrs.field(factory=list)
    failures: dict[str, int] = attrs.field(factory=dict)

    def fail(self, why: str) -> None:
        """Count one failed probe."""
        self.failures[why] = self.failures.get(why, 0) + 1

    def summary(self) -> dict[str, Any]:
        """p50/p95/max of both probes, and the failures."""
        return {
            "connect_ms": summarize(self.connect_ms).as_dict(),
            "run_ms": summarize(self.run_ms).as_dict(),
            "failures": dict(self.failures),
        }


async def probe_connect(target: Target, token: str, probes: Probes) -> None:
    """Time one fresh connection up to its ``connected`` frame."""
    held = Held()
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        ws = await nursery.start(partial(hold, target, token, held))
        elapsed = (time.perf_counter() - start) * 1000
        if ws is not None:
            probes.connect_ms.append(elapsed)
            await ws.aclose()
        for why, count in held.refused.items():
            probes.failures[f"connect {why}"] = probes.failures.get(f"connect {why}", 0) + count
        nursery.cancel_scope.cancel()


async def _objects(ws: trio_websocket.WebSocketConnection) -> AsyncIterator[dict[str, Any]]:
    while True:
        message = await ws.get_message()
        text = message if isinstance(message, str) else message.decode()
        for line in text.split("\n"):
            yield json.loads(line)


async def _terminal(ws: trio_websocket.WebSocketConnection, message_id: str) -> dict[str, Any]:
    """This message's ``error``, or its run's terminal event (older runs' are skipped)."""
    run_id = None
    async for obj in _objects(ws):
        kind = obj.get("type")
        if kind == "run_accepted" and obj.get("message_id") == message_id:
            run_id = obj["run_id"]
            continue
        mine = obj.get("ref") == message_id if kind == "error" else obj.get("run_id") == run_id
        if mine and (kind == "error" or (kind in TERMINAL and run_id is not None)):
            return obj
    raise trio_websocket.ConnectionClosed(None)


async def probe_run(ws: trio_websocket.WebSocketConnection, probes: Probes) -> None:
    """Time one trivial run from ``user_message`` to its terminal event."""
    message_id = uuid.uuid4().hex
    frame = {"type": "user_message", "message_id": message_id, "text": TRIVIAL}
    start = time.perf_counter()
    await ws.send_message(json.dumps({**frame, "agent_type": "scripted"}))
    with trio.move_on_after(PROBE_TIMEOUT):
        end = await _terminal(ws, message_id)
        if end["type"] == "agent_completed":
            probes.run_ms.append((time.perf_counter() - start) * 1000)
        else:
            probes.fail(f"run {end.get('code') or end['payload'].get('code')}")
        return
    probes.fail("run timeout")


async def run_probes(target: Target, token: str, probes: Probes, interval: float = 0.25) -> None:
    """Probe connect and run latency every ``interval`` s until cancelled."""
    async with trio.open_nursery() as nursery:
        held = Held()
        ws = await nursery.start(partial(hold, target, token, held))
        if ws is None:
            probes.fail(f"bystander could not connect: {held.refused}")
            return
        while True:
            with trio.move_on_after(PROBE_TIMEOUT):
                await probe_connect(target, token, probes)
            await probe_run(ws, probes)
            await trio.sleep(interval)


async def run_probes_reconnecting(target: Target, token: str, probes: Probes) -> None:
    """:func:`run_probes` until cancelled, connecting again whenever the held connection
    is cut (counted as ``cut``) or could not be opened."""
    while True:
        try:
            await run_probes(target, token, probes)
        except* (trio_websocket.ConnectionClosed, trio_websocket.HandshakeError, OSError):
            probes.fail("cut")
        await trio.sleep(0.05)


async def probe_seconds(
    url: str, token: str, seconds: float, reconnect: bool = False
) -> dict[str, Any]:
    """Probe for ``seconds``; the summary."""
    probes = Probes()
    with trio.move_on_after(seconds):
        if reconnect:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_on_sigterm, nursery.cancel_scope)
                await run_probes_reconnecting(parse_target(url), token, probes)
        else:
            await run_probes(parse_target(url), token, probes)
    return probes.summary()


async def _cancel_on_sigterm(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            scope.cancel()
            return


def main(argv: list[str] | None = None) -> int:
    """``python -m stress.bystander URL TOKEN SECONDS [reconnect]``: print the summary."""
    url, token, seconds, *mode = argv if argv is not None else sys.argv[1:]
    summary = trio.run(probe_seconds, url, token, float(seconds), mode == ["reconnect"])
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
