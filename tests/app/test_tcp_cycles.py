"""A closed connection's hypercorn objects are freed by refcounting (app/tcp_server.py).

With the collector off, anything a closed connection left in a reference cycle is
still in ``gc.get_objects()``. Without the fix each closed connection left its
``TCPServer`` (and 27 objects around it) there until a full collection.
"""

from __future__ import annotations

import gc

import pytest
import trio
from hypercorn.trio.tcp_server import TCPServer

from tests.support.live import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def _tcp_servers() -> int:
    return sum(isinstance(obj, TCPServer) for obj in gc.get_objects())


async def test_closed_connections_leave_no_cycles(server: LiveServer) -> None:
    gc.collect()
    gc.disable()
    try:
        with trio.fail_after(20):
            for index in range(10):
                async with server.connect(f"user-{index}") as client:
                    await client.send({"type": "ping", "id": "p"})
                    await client.receive_type("pong")
            while server.orchestrator.hub.connection_count:
                await trio.sleep(0.05)
            await trio.sleep(0.2)
        left = _tcp_servers()
    finally:
        gc.enable()
    assert left == 0, f"{left} closed connections' TCPServer objects wait for the GC"
