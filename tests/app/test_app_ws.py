"""The contract over a real hypercorn server and real WebSocket clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from tests.support.invariants import check_run, check_stream
from tests.support.live import SECRET, LiveServer
from tests.support.wsclient import WsClient
from wsao_trio.auth import mint_token

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


async def test_connected_is_the_first_frame(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            hello = client.seen[0]
    assert hello["type"] == "connected" and hello["protocol"] == 1
    assert hello["user_id"] == "alice" and hello["last_seq"] == 0
    assert hello["connection_id"] and hello["epoch"]


async def test_assistant_answers_with_the_calculator(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            accepted, events = await client.run("What is 17 * 23 + 4?")
    check_run(events)
    assert accepted["duplicate"] is False and accepted["thread_id"]
    tools = [e for e in events if e["type"] == "tool_executing"]
    assert tools[0]["payload"]["tool_name"] == "calculator"
    assert "395" in json.dumps(events[-1]["payload"]["result"])


async def test_scripted_agent_follows_its_script(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            _, events = await client.run("thoughts=2 tools=3 deltas=2", agent_type="scripted")
            _, failed = await client.run("thoughts=1 tools=1 fail=1", agent_type="scripted")
    check_run(events)
    kinds = [e["type"] for e in events]
    assert kinds.count("agent_thinking") == 2 and kinds.count("tool_executing") == 3
    assert kinds.count("agent_message_delta") == 2 and kinds[-1] == "agent_completed"
    assert failed[-1]["type"] == "agent_error"
    assert failed[-1]["payload"]["code"] == "agent_failed"


async def test_duplicate_message_id_on_two_connections_starts_one_run(
    server: LiveServer,
) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as one, server.connect("alice") as two:
            await one.send_message(
                "thoughts=1 tools=0 delay_ms=200", agent_type="scripted", message_id="m-1"
            )
            first = await one.receive_type("run_accepted")
            await two.send_message("thoughts=1", agent_type="scripted", message_id="m-1")
            second = await two.receive_type("run_accepted")
            events = await two.collect_run(first["run_id"])
    assert first["duplicate"] is False and second["duplicate"] is True
    assert second["run_id"] == first["run_id"] and second["thread_id"] == first["thread_id"]
    check_run(events)
    assert server.orchestrator.stats.runs_started == 1


async def test_stop_own_run_and_foreign_stop_refused(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as alice, server.connect("mallory") as mallory:
            await alice.send_message("thoughts=100 delay_ms=100", agent_type="scripted")
            run_id = (await alice.receive_type("run_accepted"))["run_id"]
            await mallory.send({"type": "stop_agent", "run_id": run_id})
            refused = await mallory.receive_type("error")
            await mallory.send({"type": "stop_agent", "run_id": "unknown-run"})
            unknown = await mallory.receive_type("error")
            await alice.receive_type("agent_thinking")
            await alice.send({"type": "stop_agent", "run_id": run_id})
            events = await alice.collect_run(run_id)
    assert refused == {**refused, "code": "run_not_found", "ref": run_id}
    assert {k: v for k, v in unknown.items() if k != "ref"} == {
        k: v for k, v in refused.items() if k != "ref"
    }
    check_run(events)
    assert events[-1]["type"] == "agent_cancelled"
    assert events[-1]["payload"]["reason"] == "user"


async def test_ping_pong_and_ack(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.send({"type": "ping", "id": "p1"})
            pong = await client.receive_type("pong")
            await client.send({"type": "ack", "seq": 0})
            await client.send({"type": "ping"})
            bare = await client.receive_type("pong")
    assert pong == {"type": "pong", "id": "p1"} and bare == {"type": "pong"}
    assert not [o for o in client.seen if o["type"] == "error"]


async def test_several_tabs_each_get_every_event(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as tab1, server.connect("alice") as tab2:
            _, events1 = await tab1.run("thoughts=3 tools=2", agent_type="scripted")
            events2 = await tab2.collect_run(events1[0]["run_id"])
    assert [e["seq"] for e in events1] == [e["seq"] for e in events2]


async def test_resume_mid_run_with_last_seq_loses_and_duplicates_nothing(
    server: LiveServer,
) -> None:
    with trio.fail_after(15):
        async with server.connect("alice") as first:
            await first.send_message("thoughts=30 tools=4 delay_ms=20", agent_type="scripted")
            run_id = (await first.receive_type("run_accepted"))["run_id"]
            for _ in range(5):
                await first.receive_type("agent_thinking")
            epoch = first.connected["epoch"]
            got = first.events()
        query = f"&last_seq={got[-1]['seq']}&epoch={epoch}"
        async with server.connect("alice", query) as second:
            rest = await second.collect_run(run_id)
    events = got + rest
    check_stream(events)
    check_run(events)
    assert len([e for e in events if e["type"] == "agent_thinking"]) == 30


async def test_resume_frame_replays_after_seq(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            _, events = await client.run("thoughts=2 tools=1", agent_type="scripted")
            await client.send({"type": "resume", "last_seq": 2})
            replayed = [await client.receive() for _ in range(len(events) - 2)]
    assert [e["seq"] for e in replayed] == [e["seq"] for e in events[2:]]


async def test_replay_gap_for_wrong_epoch_and_for_retention(server_factory: Any) -> None:
    server: LiveServer = await server_factory(retention_events=5)
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            _, events = await client.run("thoughts=6 tools=1", agent_type="scripted")
        async with server.connect("alice", "&last_seq=1&epoch=other") as by_epoch:
            epoch_gap = await by_epoch.receive_type("replay_gap")
        async with server.connect("alice", "&last_seq=1") as by_age:
            retention_gap = await by_age.receive_type("replay_gap")
            held = [await by_age.receive() for _ in range(5)]
    last = events[-1]["seq"]
    assert epoch_gap["reason"] == "epoch" and epoch_gap["requested_after"] == 1
    assert retention_gap == {
        "type": "replay_gap",
        "requested_after": 1,
        "oldest_available": last - 4,
        "reason": "retention",
    }
    assert [e["seq"] for e in held] == list(range(last - 4, last + 1))


BAD_FRAMES = [
    ("not json at all", "invalid_json", None),
    ("[1, 2, 3]", "invalid_json", None),
    ('{"type": "launch_missiles"}', "unknown_type", None),
    ('{"type": "user_message", "text": "hi"}', "invalid_message", "message_id"),
    ('{"type": "user_message", "message_id": "m", "text": "  "}', "invalid_message", "text"),
    ('{"type": "user_message", "message_id": "m", "text": 5}', "invalid_message", "text"),
    (
        '{"type": "user_message", "message_id": "m2", "text": "x", "agent_type": "nope"}',
        "invalid_message",
        "agent_type",
    ),
    ('{"type": "stop_agent"}', "invalid_message", "run_id"),
    ('{"type": "ack", "seq": "7"}', "invalid_message", "seq"),
    ('{"type": "resume"}', "invalid_message", "last_seq"),
]


@pytest.mark.parametrize(("frame", "code", "field"), BAD_FRAMES)
async def test_bad_input_gets_an_error_frame_and_the_connection_lives(
    server: LiveServer, frame: str, code: str, field: str | None
) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client, server.connect("bob") as bob:
            await bob.send_message("thoughts=3 delay_ms=50", agent_type="scripted")
            await client.send(frame)
            error = await client.receive_type("error")
            await client.send({"type": "ping", "id": "still-alive"})
            pong = await client.receive_type("pong")
            bob_run = (await bob.receive_type("run_accepted"))["run_id"]
            bob_events = await bob.collect_run(bob_run)
    assert error["code"] == code
    if field is not None:
        assert field in error["message"]
    assert pong["id"] == "still-alive"
    assert bob_events[-1]["type"] == "agent_completed"


async def test_binary_frame_is_invalid_json(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.ws.send_message(b"\x00\x01binary")
            error = await client.receive_type("error")
    assert error["code"] == "invalid_json"


async def test_frame_over_the_limit_closes_1009_and_others_carry_on(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("bob") as bob:
            async with server.connect("alice") as client:
                await client.send({"type": "ping", "id": "x" * (70 * 1024)})
                with pytest.raises(ConnectionClosed) as closed:
                    await client.receive_type("pong")
            _, events = await bob.run("thoughts=1", agent_type="scripted")
    assert closed.value.reason.code == 1009
    check_run(events)


async def test_too_many_frames_per_second_is_rate_limited(server_factory: Any) -> None:
    server: LiveServer = await server_factory(max_frames_per_second=5, frame_burst=5)
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            for i in range(12):
                await client.send({"type": "ping", "id": str(i)})
            replies = [await client.receive() for _ in range(12)]
    codes = [r.get("code") for r in replies if r["type"] == "error"]
    assert codes and set(codes) == {"rate_limited"}
    assert sum(r["type"] == "pong" for r in replies) >= 5


async def test_too_many_runs_at_once_is_rate_limited(server_factory: Any) -> None:
    server: LiveServer = await server_factory(max_runs_per_user=1)
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.send_message("thoughts=50 delay_ms=100", agent_type="scripted")
            await client.receive_type("run_accepted")
            second = await client.send_message("thoughts=1", agent_type="scripted")
            error = await client.receive_type("error")
    assert error["code"] == "rate_limited" and error["ref"] == second


@pytest.mark.parametrize(
    "token",
    [
        None,
        "garbage.not.ajwt",
        mint_token("some-other-secret-0123456789abcdef", "alice", 600),
        mint_token(SECRET, "alice", -10),
    ],
    ids=["missing", "malformed", "wrong-secret", "expired"],
)
async def test_bad_tokens_are_refused_with_401_before_the_upgrade(
    server: LiveServer, token: str | None
) -> None:
    url = server.ws_url + ("" if token is None else f"?token={token}")
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as rejected:
        async with open_websocket_url(url):
            pass
    assert rejected.value.status_code == 401
    assert server.orchestrator.hub.connection_count == 0
    assert server.orchestrator.stats.connections_opened == 0


async def test_malformed_last_seq_is_refused_with_400(server: LiveServer) -> None:
    url = f"{server.ws_url}?token={server.token('alice')}&last_seq=abc"
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as rejected:
        async with open_websocket_url(url):
            pass
    assert rejected.value.status_code == 400


async def test_bearer_header_is_accepted(server: LiveServer) -> None:
    headers = [("Authorization", f"Bearer {server.token('carol')}")]
    with trio.fail_after(10):
        async with open_websocket_url(server.ws_url, extra_headers=headers) as ws:
            hello = WsClient(ws)
            connected = await hello.receive_type("connected")
    assert connected["user_id"] == "carol"


async def test_health_metrics_and_dev_token(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.run("thoughts=1", agent_type="scripted")
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            public = (await http.get("/health")).json()
            auth = {"Authorization": f"Bearer {server.token('ops')}"}
            health = (await http.get("/health/details", headers=auth)).json()
            metrics = (await http.get("/metrics")).text
            token = (await http.post("/api/dev/token", json={"user_id": "dave"})).json()
            bad = await http.post("/api/dev/token", json={"user_id": "no spaces allowed"})
            page = await http.get("/")
    assert public == {"status": "ok", "store": "memory", "nodes": 1}
    assert health["status"] == "ok" and health["runs"]["completed"] >= 1
    assert "wsao_events_delivered_total" in metrics
    assert token["token"].count(".") == 2 and bad.status_code == 400
    assert page.status_code == 200 and "<html" in page.text.lower()


async def test_dev_token_is_404_when_dev_auth_is_off(server_factory: Any) -> None:
    server: LiveServer = await server_factory(dev_auth=False)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.post("/api/dev/token", json={"user_id": "dave"})
    assert response.status_code == 404


async def test_shutdown_cancels_runs_then_closes_1001(server: LiveServer) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.send_message("thoughts=1000 delay_ms=50", agent_type="scripted")
            run_id = (await client.receive_type("run_accepted"))["run_id"]
            await client.receive_type("agent_thinking")
            await server.orchestrator.aclose()
            events = await client.collect_run(run_id)
            with pytest.raises(ConnectionClosed) as closed:
                await client.receive()
    check_run(events)
    assert events[-1]["payload"]["reason"] == "shutdown"
    assert closed.value.reason.code == 1001


async def test_resume_frame_naming_another_epoch_resends_everything_held(
    server: LiveServer,
) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            _, events = await client.run("thoughts=2 tools=1", agent_type="scripted")
            await client.send({"type": "resume", "last_seq": 50, "epoch": "old-epoch"})
            gap = await client.receive_type("replay_gap")
            replayed = [await client.receive() for _ in range(len(events))]
    assert gap["reason"] == "epoch" and gap["requested_after"] == 50
    assert [e["seq"] for e in replayed] == [e["seq"] for e in events]
