"""``python -m stress agui``: how fast a run streams through ``POST /agui``.

Starts the real app (``python -m app``), then streams ``--runs`` runs of the
scripted agent with ``--deltas`` text deltas each, one after another: once through
``POST /agui/scripted`` read with httpx (SSE, mapped to AG-UI events), once through
the WebSocket (the same run, our own events), so the cost of the AG-UI mapping is
visible. Prints the median and worst time from request to the run's last event,
the AG-UI events per second, and writes ``agui-bench.json``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from trio_websocket import open_websocket_url

from stress.report import machine, write_json
from stress.server_proc import HOST, app_command, free_port, running_server
from stress.tokens import mint

TERMINAL = ('"type":"agent_completed"', '"type":"agent_error"', '"type":"agent_cancelled"')


def run_body(text: str) -> dict[str, Any]:
    """A RunAgentInput asking the scripted agent for ``text``."""
    message = {"id": uuid.uuid4().hex, "role": "user", "content": text}
    return {"threadId": "bench", "runId": uuid.uuid4().hex, "messages": [message]}


async def agui_run(http: httpx.AsyncClient, token: str, text: str) -> tuple[float, int, int]:
    """Seconds from the POST to the last byte, AG-UI events received, bytes received."""
    started = time.perf_counter()
    events = size = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with http.stream("POST", "/agui/scripted", json=run_body(text), headers=headers) as r:
        async for chunk in r.aiter_text():
            events += chunk.count("\ndata: ")
            size += len(chunk)
    return time.perf_counter() - started, events, size


async def ws_run(url: str, token: str, text: str) -> tuple[float, int, int]:
    """The same run over the WebSocket: seconds to the terminal event, events, bytes."""
    async with open_websocket_url(f"{url}?token={token}") as ws:
        await ws.get_message()  # connected
        started = time.perf_counter()
        message_id = uuid.uuid4().hex
        frame = {"type": "user_message", "message_id": message_id, "text": text}
        await ws.send_message(json.dumps({**frame, "agent_type": "scripted"}))
        events = size = 0
        while True:
            message = str(await ws.get_message())
            events += message.count('"seq":')
            size += len(message)
            if any(mark in message for mark in TERMINAL):
                return time.perf_counter() - started, events, size


def summarize(samples: list[tuple[float, int, int]]) -> dict[str, Any]:
    """Median and worst seconds, events per run, and events per second at the median."""
    seconds = [s for s, _, _ in samples]
    median = statistics.median(seconds)
    events = samples[0][1]
    return {
        "runs": len(samples),
        "median_ms": round(median * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "events_per_run": events,
        "bytes_per_run": samples[0][2],
        "events_per_s": round(events / median),
    }


async def measure(port: int, secret: str, args: argparse.Namespace) -> dict[str, Any]:
    """Stream the runs through /agui, then through /ws; one warm-up run each."""
    text = f"thoughts=0 tools=0 deltas={args.deltas}"
    token = mint(secret, "bench")
    agui: list[tuple[float, int, int]] = []
    ws: list[tuple[float, int, int]] = []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=60) as http:
        for i in range(args.runs + 1):
            sample = await agui_run(http, token, text)
            agui.extend([sample] if i else [])
    for i in range(args.runs + 1):
        sample = await ws_run(f"ws://{HOST}:{port}/ws", token, text)
        ws.extend([sample] if i else [])
    return {"agui": summarize(agui), "websocket": summarize(ws)}


async def run_agui_bench(args: argparse.Namespace) -> int:
    """``stress agui``: start the app, measure, print and write the figures."""
    secret, port = secrets.token_urlsafe(32), free_port()
    argv, env = app_command(port, secret, {})
    out = Path(args.out or "stress/results/agui")
    async with running_server("app", argv, env, port, out / "app.log"):
        figures = await measure(port, secret, args)
    for name, row in figures.items():
        print(f"{name:10} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    write_json({"machine": machine(), "deltas": args.deltas, **figures}, out / "agui-bench.json")
    print(f"wrote {out}/agui-bench.json")
    return 0
