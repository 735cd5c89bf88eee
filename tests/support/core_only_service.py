"""A plain trio-websocket service on wsao_trio, run in a venv with the core deps only.

``tests/e2e/test_packaging.py`` installs the built wheel into a fresh venv (no Quart,
hypercorn, PyJWT or prometheus-client) and runs this file there with ``python -I``:
the extras must be absent and say which extra to install, and a real trio-websocket
server and client must carry one run from ``run_accepted`` to ``agent_completed``.
It prints the event types it saw, one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from functools import partial
from typing import Any

import trio
from trio_websocket import WebSocketRequest, open_websocket_url, serve_websocket

from wsao_trio import AgentRegistry, Orchestrator, RunContext, Settings, open_orchestrator
from wsao_trio.websocket import TrioWebsocketTransport

ABSENT = ("quart", "quart_trio", "hypercorn", "jwt", "prometheus_client", "coredis", "app")
EXTRAS = {
    "wsao_trio.auth": "jwt",
    "wsao_trio.metrics": "prometheus",
    "wsao_trio._backplane.redis": "redis",
}


def check_extras_absent() -> None:
    for name in ABSENT:
        assert importlib.util.find_spec(name) is None, f"{name} is installed"
    for module, extra in EXTRAS.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            assert f"pip install 'wsao_trio[{extra}]'" in str(exc), str(exc)
        else:
            raise AssertionError(f"{module} imported without its extra")


class Echo:
    async def run(self, run: RunContext) -> Any:
        await run.thinking("echoing")
        await run.delta(run.message)
        return {"answer": run.message}


async def handle(orch: Orchestrator, request: WebSocketRequest) -> None:
    ws = await request.accept()
    await orch.serve_connection(TrioWebsocketTransport(ws), "alice")


async def one_run(url: str) -> list[str]:
    types: list[str] = []
    async with open_websocket_url(url) as ws:
        message = {"type": "user_message", "message_id": "m-1", "text": "hi"}
        await ws.send_message(json.dumps(message))
        while "agent_completed" not in types:
            types += [json.loads(line)["type"] for line in (await ws.get_message()).splitlines()]
    return types


async def main() -> None:
    registry = AgentRegistry()
    registry.register_agent("echo", Echo())
    with trio.fail_after(20):
        async with (
            open_orchestrator(registry, Settings(default_agent="echo")) as orch,
            trio.open_nursery() as nursery,
        ):
            server = await nursery.start(
                serve_websocket, partial(handle, orch), "127.0.0.1", 0, None
            )
            types = await one_run(f"ws://127.0.0.1:{server.port}/ws")
            nursery.cancel_scope.cancel()
    print(" ".join(types))


if __name__ == "__main__":
    check_extras_absent()
    trio.run(main)
