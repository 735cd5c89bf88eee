"""The AG-UI endpoint against a real hypercorn server, read with httpx streaming.

Covers: a complete run (order, ids, content), an error, a stop (202, then 404 for
an unknown, ended or another user's run), the same runId posted twice (one run,
two identical streams), a client that drops mid-run and resumes with
``Last-Event-ID`` (nothing lost or doubled; the run was not cancelled), joining an
ended run, a run whose events are gone, keep-alives, auth and bad input.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio

from tests.support.aguicheck import SseMessage, check_agui, parse_sse, read_messages
from tests.support.live import LiveServer

TIMEOUT = 20


def run_input(text: str, run_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "threadId": "thread-1",
        "runId": run_id or uuid.uuid4().hex,
        "messages": [{"id": uuid.uuid4().hex, "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
    }
    body.update(fields)
    return body


def auth(server: LiveServer, user: str = "alice", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(user)}", **extra}


@asynccontextmanager
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=TIMEOUT) as http:
        yield http


async def post_all(
    http: httpx.AsyncClient, server: LiveServer, body: dict[str, Any], path: str = "/agui/scripted"
) -> list[SseMessage]:
    with trio.fail_after(TIMEOUT):
        response = await http.post(path, json=body, headers=auth(server))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    return parse_sse(response.text)[0]


async def get_events(
    http: httpx.AsyncClient, server: LiveServer, run_id: str, last: str | None = None
) -> httpx.Response:
    headers = auth(server) if last is None else auth(server, **{"Last-Event-ID": last})
    with trio.fail_after(TIMEOUT):
        return await http.get(f"/agui/runs/{run_id}/events", headers=headers)


def datas(messages: list[SseMessage]) -> list[dict[str, Any]]:
    return [m.data for m in messages]


async def test_a_run_streams_in_order_with_seq_ids(server: LiveServer) -> None:
    async with client(server) as http:
        messages = await post_all(http, server, run_input("thoughts=2 tools=2 deltas=3"))
    events = datas(messages)
    check_agui(events)
    types = [e["type"] for e in events]
    assert types.count("TOOL_CALL_START") == 2 and types.count("TOOL_CALL_RESULT") == 2
    assert types[-1] == "RUN_FINISHED" and events[-1]["outcome"] == {"type": "success"}
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "chunk 1 chunk 2 chunk 3 "
    assert all(m.id == m.data["metadata"]["wsao"]["id"] for m in messages)
    seqs = [int(m.id) for m in messages if m.id and ":" not in m.id]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # one per event of ours, +1 each


async def test_a_failing_run_ends_with_run_error(server: LiveServer) -> None:
    async with client(server) as http:
        events = datas(await post_all(http, server, run_input("tools=1 fail=1")))
    check_agui(events)
    assert events[-1]["type"] == "RUN_ERROR" and events[-1]["code"] == "agent_failed"


async def test_the_default_agent_answers_on_agui(server: LiveServer) -> None:
    async with client(server) as http:
        events = datas(await post_all(http, server, run_input("What is 17 * 23 + 4?"), "/agui"))
    check_agui(events)
    results = [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert any("395" in content for content in results), results


async def test_stop_cancels_and_unknown_or_foreign_runs_are_404(server: LiveServer) -> None:
    body = run_input("thoughts=100 tools=0 delay_ms=50")
    run_id = body["runId"]
    seen: list[dict[str, Any]] = []
    async with (
        client(server) as http,
        http.stream("POST", "/agui/scripted", json=body, headers=auth(server)) as response,
    ):
        with trio.fail_after(TIMEOUT):
            async for message in read_messages(response.aiter_lines()):
                seen.append(message.data)
                if len(seen) == 3:
                    for user in ("mallory", "alice"):
                        stop = await http.post(
                            f"/agui/runs/{run_id}/stop", headers=auth(server, user)
                        )
                        assert stop.status_code == (404 if user == "mallory" else 202), stop.text
        again = await http.post(f"/agui/runs/{run_id}/stop", headers=auth(server))
        unknown = await http.post("/agui/runs/nope/stop", headers=auth(server))
    check_agui(seen)
    assert seen[-1]["type"] == "RUN_FINISHED" and seen[-1]["outcome"] == {"type": "cancelled"}
    assert seen[-1]["metadata"]["wsao"]["reason"] == "user"
    assert again.status_code == unknown.status_code == 404
    assert again.json() == unknown.json()


async def test_the_same_run_id_twice_joins_one_run(server: LiveServer) -> None:
    body = run_input("thoughts=3 tools=2 deltas=5 delay_ms=20")
    started = server.orchestrator.stats.runs_started
    results: list[list[SseMessage]] = []
    async with client(server) as http:

        async def post() -> None:
            results.append(await post_all(http, server, body))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(post)
            nursery.start_soon(post)
        results.append(await post_all(http, server, body))
    assert server.orchestrator.stats.runs_started == started + 1
    first = [(m.id, m.data) for m in results[0]]
    assert all([(m.id, m.data) for m in r] == first for r in results[1:])
    check_agui(datas(results[0]))


async def test_a_dropped_client_resumes_with_last_event_id(server: LiveServer) -> None:
    body = run_input("thoughts=2 tools=3 deltas=20 delay_ms=10")
    run_id = body["runId"]
    before: list[SseMessage] = []
    async with client(server) as http:
        async with http.stream("POST", "/agui/scripted", json=body, headers=auth(server)) as resp:
            async for message in read_messages(resp.aiter_lines()):
                before.append(message)
                if message.type == "TOOL_CALL_ARGS":  # cut inside a tool call's group
                    break
        assert before[-1].id is not None and ":" in before[-1].id
        resumed = await get_events(http, server, run_id, before[-1].id)
        whole = await get_events(http, server, run_id)
    after, _ = parse_sse(resumed.text)
    opening = [m for m in after if m.id == before[-1].id]
    assert [m.type for m in opening] == ["RUN_STARTED", "TOOL_CALL_START"]
    check_agui(datas(after))
    full = datas(parse_sse(whole.text)[0])
    assert datas(before) + datas(after[len(opening) :]) == full
    assert full[-1]["type"] == "RUN_FINISHED" and full[-1]["outcome"] == {"type": "success"}


async def test_joining_an_ended_run_replays_it_and_ends(server: LiveServer) -> None:
    body = run_input("thoughts=1 tools=1 deltas=2")
    async with client(server) as http:
        live = await post_all(http, server, body)
        joined = await get_events(http, server, body["runId"])
        after_end = await get_events(http, server, body["runId"], live[-1].id)
    assert datas(parse_sse(joined.text)[0]) == datas(live)
    assert after_end.status_code == 200 and parse_sse(after_end.text)[0] == []


async def test_a_run_whose_events_are_gone_says_so(server_factory: Any) -> None:
    server = await server_factory(retention_events=4)
    body = run_input("thoughts=1 tools=1 deltas=6")
    async with client(server) as http:
        await post_all(http, server, body)
        partial = datas(parse_sse((await get_events(http, server, body["runId"])).text)[0])
        for _ in range(5):  # other runs push this run's events out of the log
            await post_all(http, server, run_input("thoughts=0 tools=0"))
        lost = datas(parse_sse((await get_events(http, server, body["runId"])).text)[0])
    check_agui(partial)
    assert [e["type"] for e in partial[:2]] == ["RUN_STARTED", "CUSTOM"]
    assert partial[1]["name"] == "replay_gap" and partial[-1]["type"] == "RUN_FINISHED"
    assert [e["type"] for e in lost] == ["RUN_STARTED", "CUSTOM", "RUN_ERROR"]
    assert lost[-1]["code"] == "replay_gap"


async def test_idle_streams_get_keepalive_comments(server_factory: Any) -> None:
    server = await server_factory(agui_keepalive=0.05)
    async with client(server) as http:
        with trio.fail_after(TIMEOUT):
            response = await http.post(
                "/agui/scripted",
                json=run_input("thoughts=2 tools=0 delay_ms=400"),
                headers=auth(server),
            )
    messages, comments = parse_sse(response.text)
    assert comments and set(comments) == {": keep-alive"}
    check_agui(datas(messages))


async def test_agui_and_websocket_runs_are_one_stream_per_user(server: LiveServer) -> None:
    body = run_input("thoughts=1 tools=0")
    async with server.connect("alice") as ws, client(server) as http:
        await post_all(http, server, body)
        started = await ws.receive_type("agent_started")
        assert started["payload"]["message_id"] == body["runId"]
        _, ws_events = await ws.run("thoughts=1 tools=1", agent_type="scripted", message_id="ws-1")
        joined = await get_events(http, server, "ws-1")
    events = datas(parse_sse(joined.text)[0])
    check_agui(events)
    assert events[0]["runId"] == "ws-1"
    assert [m.id for m in parse_sse(joined.text)[0]][-1] == str(ws_events[-1]["seq"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/agui"), ("GET", "/agui/runs/x/events"), ("POST", "/agui/runs/x/stop")],
)
@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
async def test_every_route_needs_a_valid_bearer_token(
    server: LiveServer, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with client(server) as http:
        response = await http.request(method, path, json=run_input("hi"), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]


async def test_bad_input_is_a_4xx_with_a_message(server: LiveServer) -> None:
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("/agui", {"content": b"{nope"}, 400, "not JSON"),
        ("/agui", {"json": [1, 2]}, 400, "JSON object"),
        ("/agui", {"json": {"threadId": "t"}}, 422, "runId"),
        ("/agui", {"json": run_input("hi", messages=[])}, 422, "user message"),
        ("/agui", {"json": run_input("hi", runId="r" * 201)}, 422, "runId"),
        ("/agui", {"json": run_input("x" * 70_000)}, 422, "byte limit"),
        ("/agui/wizard", {"json": run_input("hi")}, 404, "unknown agent type"),
        ("/agui/runs", {"json": run_input("hi")}, 404, "unknown agent type"),
    ]
    async with client(server) as http:
        for path, kwargs, status, needle in cases:
            response = await http.post(path, headers=auth(server), **kwargs)
            assert response.status_code == status, (path, response.text)
            assert needle in response.json()["error"], response.text
        bad_id = await get_events(http, server, "x", "abc")
        unknown = await get_events(http, server, "never-started")
    assert bad_id.status_code == 400 and "Last-Event-ID" in bad_id.json()["error"]
    assert unknown.status_code == 404


async def test_a_body_over_the_limit_is_413(server_factory: Any) -> None:
    server = await server_factory(agui_max_body_bytes=10_000)
    async with client(server) as http:
        announced = await http.post("/agui", content=b"[" * 20_000, headers=auth(server))
        chunked = await http.post("/agui", content=_chunks(b"[" * 20_000), headers=auth(server))
    for response in (announced, chunked):
        assert response.status_code == 413 and "10000 byte limit" in response.json()["error"]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


async def test_another_users_run_cannot_be_joined(server: LiveServer) -> None:
    body = run_input("thoughts=1 tools=0")
    async with client(server) as http:
        await post_all(http, server, body)
        response = await http.get(
            f"/agui/runs/{body['runId']}/events", headers=auth(server, "mallory")
        )
    assert response.status_code == 404


async def test_runs_per_user_limit_is_429(server_factory: Any) -> None:
    server = await server_factory(max_runs_per_user=1)
    async with (
        client(server) as http,
        http.stream(
            "POST",
            "/agui/scripted",
            json=run_input("thoughts=50 delay_ms=50"),
            headers=auth(server),
        ) as first,
    ):
        async for _ in read_messages(first.aiter_lines()):
            second = await http.post("/agui/scripted", json=run_input("hi"), headers=auth(server))
            break
    assert second.status_code == 429 and second.json()["code"] == "rate_limited"


async def test_shutdown_ends_streams_with_a_cancelled_run(server: LiveServer) -> None:
    seen: list[dict[str, Any]] = []
    async with client(server) as http:
        body = run_input("thoughts=1000 delay_ms=50")
        async with http.stream("POST", "/agui/scripted", json=body, headers=auth(server)) as r:
            with trio.fail_after(TIMEOUT):
                async for message in read_messages(r.aiter_lines()):
                    seen.append(message.data)
                    if len(seen) == 2:
                        await server.orchestrator.aclose()
        refused = await http.post("/agui/scripted", json=run_input("hi"), headers=auth(server))
    check_agui(seen)
    assert seen[-1]["outcome"] == {"type": "cancelled"}
    assert seen[-1]["metadata"]["wsao"]["reason"] == "shutdown"
    assert refused.status_code == 503
