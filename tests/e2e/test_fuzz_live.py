"""Issue 7, proof: hypothesis-generated frames against a live server, one at a time.

Each example sends one frame (text JSON of every shape, binary, empty, over the frame
limit, non-finite numbers, deep nesting, oversized integers, unknown types, wrong
field types: :mod:`tests.support.fuzzframes`) on the fuzzed user's connection, then a
sentinel ``ping``. Frames are handled in order, so every control frame before the
sentinel's ``pong`` is the answer to the example, compared with the one the contract
names. Meanwhile another user's run must finish, clean. A close (1009) reopens the
connection for the next example.

Hypothesis and trio meet as :mod:`tests.support.loopfuzz` says: one server in this
test's trio run, examples drawn in a worker thread.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import trio
from trio_websocket import ConnectionClosed, connect_websocket_url

from tests.support.fuzzframes import EPOCH, FUZZ_USER, Case, Expect, frames
from tests.support.invariants import check_run
from tests.support.live import LiveServer
from tests.support.loopfuzz import examples_in_loop
from tests.support.wsclient import WsClient

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
EXAMPLE_TIMEOUT = 20


class FuzzPeer:
    """The fuzzed user's connection (reopened after a close) and what it was told."""

    def __init__(self, server: LiveServer, nursery: trio.Nursery) -> None:
        self.server = server
        self.nursery = nursery
        self.client: WsClient | None = None
        self.epoch = ""
        self.accepted: set[str] = set()
        self.sentinels = itertools.count()

    async def open(self) -> WsClient:
        url = f"{self.server.ws_url}?token={self.server.token(FUZZ_USER)}"
        ws = await connect_websocket_url(self.nursery, url, max_message_size=1 << 22)
        self.client = WsClient(ws)
        self.client.connected = await self.client.receive_type("connected")
        self.epoch = self.client.connected["epoch"]
        return self.client

    async def exchange(self, case: Case) -> list[dict[str, Any]] | int:
        """Send the frame; the control frames it was answered with, or the close code."""
        client = self.client or await self.open()
        data = case.data.replace(EPOCH, self.epoch) if isinstance(case.data, str) else case.data
        try:
            await client.ws.send_message(data)
            if case.expect.kind == "close":
                while True:
                    await client.receive()
            sentinel = f"sentinel-{next(self.sentinels)}"
            await client.send({"type": "ping", "id": sentinel})
            return await _until_pong(client, sentinel)
        except ConnectionClosed as closed:
            self.client = None
            return int(closed.reason.code)


async def _until_pong(client: WsClient, sentinel: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = []
    while (obj := await client.receive()) != {"type": "pong", "id": sentinel}:
        if "seq" not in obj:  # run events (of accepted runs, of replays) are not answers
            answer.append(obj)
    return answer


def resolve(expect: Expect, peer: FuzzPeer) -> Expect:
    """The answer, given what this user did before (dedup) and the log's epoch."""
    if expect.dedup is not None and expect.dedup in peer.accepted:
        return Expect("run_accepted", value=expect.dedup, flag=True)
    if expect.kind == "run_accepted":
        return attrs.evolve(expect, flag=expect.value in peer.accepted)
    if expect.kind == "replay":
        gap = expect.value > 0 or expect.epoch not in (None, EPOCH)
        return attrs.evolve(expect, flag=gap)
    return expect


def verify(expect: Expect, answer: list[dict[str, Any]] | int) -> None:
    """``answer`` is what the contract names for the frame."""
    if expect.kind == "close" or isinstance(answer, int):
        assert answer == expect.value, f"closed with {answer}, expected {expect}"
        return
    if expect.kind in ("silent", "replay"):
        gaps = [{"type": "replay_gap", "requested_after": expect.value, "reason": "epoch"}]
        wanted = gaps if expect.flag else []
        assert [_without(a, "oldest_available") for a in answer] == wanted
        return
    assert len(answer) == 1, answer
    _verify_one(expect, answer[0])


def _verify_one(expect: Expect, got: dict[str, Any]) -> None:
    if expect.kind == "error":
        assert (got["type"], got["code"], got.get("ref")) == ("error", expect.code, expect.ref)
        assert expect.field is None or repr(expect.field) in got["message"], got
    elif expect.kind == "pong":
        assert got == ({"type": "pong"} if expect.value is None else _pong(expect.value))
    elif expect.kind == "run_accepted":
        assert got["type"] == "run_accepted" and got["message_id"] == expect.value, got
        assert got["duplicate"] is expect.flag
    else:
        assert expect.kind == "auth_ok" and got["type"] == "auth_ok", got


def _pong(ping_id: str) -> dict[str, Any]:
    return {"type": "pong", "id": ping_id}


def _without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != key}


async def check(peer: FuzzPeer, bystander: WsClient, case: Case) -> None:
    """One example: the frame's answer, and a bystander's run beside it."""
    expect = resolve(case.expect, peer)

    async def bystander_run() -> None:
        _, events = await bystander.run("thoughts=1 tools=1", agent_type="scripted")
        check_run(events)
        assert events[-1]["type"] == "agent_completed"

    with trio.fail_after(EXAMPLE_TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bystander_run)
            answer = await peer.exchange(case)
    if expect.kind == "run_accepted" and isinstance(answer, list):
        peer.accepted.add(expect.value)
    verify(expect, answer)


async def test_fuzzed_frames_get_the_contracts_answer(
    server_factory: Callable[..., Any], nursery: trio.Nursery
) -> None:
    # The per-connection frame and resume rate limits would answer rate_limited to a
    # fuzzer sending as fast as the server answers (hypothesis may draw six resumes in a
    # row); their own tests are elsewhere (service/test_resume_limit.py for resumes).
    server = await server_factory(
        max_frames_per_second=100_000,
        frame_burst=100_000,
        max_resumes_per_second=100_000,
        resume_burst=100_000,
    )
    peer = FuzzPeer(server, nursery)
    async with server.connect("bystander") as bystander:
        await trio.to_thread.run_sync(examples_in_loop(frames, 100, check, peer, bystander))
    assert server.orchestrator.stats.client_errors.get("internal_error", 0) == 0
    if peer.client is not None:
        await peer.client.ws.aclose()
