"""``wsao_trio.client``: the sans-IO cursor and run reducer, and the client on a live server.

The property tests feed the cursor and the reducer what a client can really get:
a run's events with copies, and replays after resumes from any earlier seq — the
taken stream must be the run's events once each, in order, and the view the same as
folding each event once. The live tests run real hypercorn, real WebSockets and a
proxy that resets every connection through it on a timer.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from tests.support.cutproxy import cut_proxy
from tests.support.invariants import check_run
from tests.support.live import LiveServer
from wsao_trio.auth import mint_token
from wsao_trio.client import (
    ClientClosed,
    ClientError,
    Cursor,
    RunView,
    WsaoClient,
    fold_runs,
    open_client,
    token_expiry,
)

SHORT = "thoughts=1 tools=0"
SECRET = "test-secret-0123456789abcdef0123456789"


def run_events(deltas: int, tools: int) -> list[dict[str, Any]]:
    """A finished run's events, seqs from 1."""
    body: list[tuple[str, dict[str, Any]]] = [("agent_started", {"message_id": "m"})]
    for i in range(tools):
        call = {"tool_call_id": f"c{i}", "tool_name": "echo", "arguments": {"i": i}}
        body += [("tool_executing", call), ("tool_completed", {**call, "ok": True, "result": i})]
    body += [("agent_message_delta", {"delta": f"w{i} "}) for i in range(deltas)]
    body.append(("agent_completed", {"result": {}, "duration_ms": 1}))
    return [
        {"type": kind, "seq": seq, "run_id": "r", "payload": payload}
        for seq, (kind, payload) in enumerate(body, start=1)
    ]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A run, and what a client received of it: resumes replaying from earlier seqs,
    copies, and the rest live."""
    events = run_events(draw(st.integers(0, 8)), draw(st.integers(0, 3)))
    received, position = [], 0
    while position < len(events):
        step = draw(st.integers(1, len(events) - position))
        received += events[position : position + step]
        position += step
        if draw(st.booleans()):  # a drop, then a resume from some seq already taken
            received += events[draw(st.integers(0, position)) : position]
    return events, received


@given(deliveries())
def test_the_cursor_takes_each_event_once_in_order(case: Any) -> None:
    events, received = case
    cursor = Cursor(last_seq=0)
    taken = [event for event in received if cursor.take(event)]
    assert taken == events


@given(deliveries())
def test_the_run_view_is_the_same_whatever_was_repeated(case: Any) -> None:
    events, received = case
    once = fold_runs({}, events)["r"]
    assert fold_runs({}, received)["r"] == once
    assert once.status == "completed" and once.events == len(events)
    assert once.text == "".join(e["payload"]["delta"] for e in events[1:] if "delta" in str(e))
    assert all(call.done and call.ok for call in once.tools.values())


def test_a_new_epoch_starts_the_cursor_over() -> None:
    cursor = Cursor()
    cursor.connected({"epoch": "e1", "last_seq": 7})
    assert cursor.resume_query() == {"last_seq": "7", "epoch": "e1"}
    assert cursor.take({"seq": 8}) and not cursor.take({"seq": 8})
    cursor.connected({"epoch": "e2", "last_seq": 2})  # the server lost its log
    assert cursor.take({"seq": 1}) and cursor.resume_query()["epoch"] == "e2"


def test_token_expiry_reads_exp_without_verifying() -> None:
    token = mint_token(SECRET, "alice", 60)
    assert token_expiry(token) == pytest.approx(time.time() + 60, abs=5)
    assert token_expiry("not.a-token") is None and token_expiry("") is None


async def _collect_run(client: WsaoClient, run_id: str) -> list[dict[str, Any]]:
    events = []
    async for event in client.events():
        if event.get("run_id") == run_id:
            events.append(event)
            if event["type"] in ("agent_completed", "agent_error", "agent_cancelled"):
                return events
    raise AssertionError("the client closed before the run ended")


async def test_a_run_streams_through_the_client(server: LiveServer) -> None:
    async with open_client(server.ws_url, token=server.token("py")) as client:
        accepted = await client.send("thoughts=2 tools=1 deltas=3", agent_type="scripted")
        events = await _collect_run(client, accepted.run_id)
    check_run(events)
    view = client.runs[accepted.run_id]
    assert view.status == "completed" and len(view.thinking) == 2 and len(view.tools) == 1


async def test_every_seq_once_through_a_proxy_that_cuts_every_300_ms(server: LiveServer) -> None:
    """The issue's bar: a 2 s run of 40 thoughts, every connection reset every 300 ms."""
    port = int(server.http_url.rsplit(":", 1)[1])
    async with cut_proxy(port, every=0.3) as proxy:
        url = f"ws://127.0.0.1:{proxy.port}/ws"
        async with open_client(url, token=server.token("cut")) as client:
            with trio.fail_after(30):
                accepted = await client.send("thoughts=40 delay_ms=50", agent_type="scripted")
                events = await _collect_run(client, accepted.run_id)
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs  # once each, in order
    assert len([e for e in events if e["type"] == "agent_thinking"]) == 40
    assert client.runs[accepted.run_id].status == "completed"
    assert proxy.cuts >= 5 and client.connections >= 5, (proxy.cuts, client.connections)


async def test_one_run_per_message_under_cuts(server: LiveServer) -> None:
    port = int(server.http_url.rsplit(":", 1)[1])
    async with cut_proxy(port, every=0.05) as proxy:
        url = f"ws://127.0.0.1:{proxy.port}/ws"
        async with open_client(url, token=server.token("dedup")) as client:
            with trio.fail_after(60):
                answers = []
                for i in range(15):
                    answers.append(
                        await client.send(SHORT, agent_type="scripted", message_id=f"m{i}")
                    )
                    await trio.sleep(0.03)
    assert len({a.run_id for a in answers}) == 15
    assert proxy.cuts > 0
    runs = server.orchestrator.stats.runs_started
    assert runs == 15, runs


async def test_two_clients_of_one_user_see_the_same_events(server: LiveServer) -> None:
    token = server.token("twins")
    async with (
        open_client(server.ws_url, token=token) as first,
        open_client(server.ws_url, token=token) as second,
    ):
        accepted = await first.send("thoughts=3 tools=1", agent_type="scripted")
        one = await _collect_run(first, accepted.run_id)
        two = await _collect_run(second, accepted.run_id)
    assert [e["seq"] for e in one] == [e["seq"] for e in two]


async def test_stop_ends_the_run_cancelled(server: LiveServer) -> None:
    async with open_client(server.ws_url, token=server.token("stopper")) as client:
        accepted = await client.send("thoughts=50 delay_ms=100", agent_type="scripted")
        await client.stop(accepted.run_id)
        events = await _collect_run(client, accepted.run_id)
    assert events[-1]["type"] == "agent_cancelled"
    assert client.runs[accepted.run_id].status == "cancelled"


async def test_a_refusal_is_raised_by_send(server_factory: Callable[..., Any]) -> None:
    server = await server_factory()
    async with open_client(server.ws_url, token=server.token("bad")) as client:
        with pytest.raises(ClientError) as refused:
            await client.send("hi", agent_type="no-such-agent")
    assert refused.value.code == "invalid_message"


async def test_a_bad_fixed_token_ends_the_client(server: LiveServer) -> None:
    with trio.fail_after(10), pytest.raises(ClientClosed):
        async with open_client(server.ws_url, token="not-a-jwt"):
            pass


async def test_short_lived_tokens_are_renewed_on_the_open_socket(server: LiveServer) -> None:
    minted = itertools.count()

    async def fresh_token() -> str:
        next(minted)
        return server.token("renew", ttl=3)

    async with open_client(server.ws_url, token=fresh_token) as client:
        accepted = await client.send("thoughts=10 delay_ms=500", agent_type="scripted")
        events = await _collect_run(client, accepted.run_id)
    assert events[-1]["type"] == "agent_completed"
    assert client.connections == 1, "the socket was closed (4401) instead of renewed"
    assert next(minted) >= 3


def test_a_run_view_starts_pending() -> None:
    assert RunView("r").status == "pending" and not RunView("r").finished
