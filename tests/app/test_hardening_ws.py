"""Issue 7: what an attacker or a careless client can no longer do to the service.

Each test runs against a real hypercorn server on a loopback port with real WebSocket
clients and checks a refusal the contract names, with a bystander's run unharmed
where it matters.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from app.agents import build_registry
from app.server import DOCS_DIR
from tests.support.invariants import check_run
from tests.support.live import SECRET, LiveServer
from tests.support.rawws import handshake
from tests.support.wsclient import WsClient
from wsao_trio.auth import mint_token
from wsao_trio.testing import MemoryTransport, open_test_orchestrator

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


async def _rejected(url: str, **kwargs: Any) -> int:
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as rejected:
        async with open_websocket_url(url, **kwargs):
            pass
    return int(rejected.value.status_code)


def _forged(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "alice\n", "exp": int(time.time()) + 600},
        {"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 100 * 365 * 86400},
        {"sub": "alice", "exp": int(time.time()) + 10 * 365 * 86400},
    ],
    ids=["newline-subject", "hundred-years", "no-iat-ten-years"],
)
async def test_bad_identities_are_refused_before_the_upgrade(
    server: LiveServer, claims: dict[str, Any]
) -> None:
    assert await _rejected(f"{server.ws_url}?token={_forged(claims)}") == 401
    assert server.orchestrator.stats.connections_opened == 0


async def test_dev_token_endpoint_refuses_a_newline_user(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        bad = await http.post("/api/dev/token", json={"user_id": "alice\n"})
        good = await http.post("/api/dev/token", json={"user_id": "alice"})
    assert bad.status_code == 400
    assert good.json()["expires_in"] <= server.settings.max_token_lifetime


async def test_foreign_origin_is_refused_with_403(server: LiveServer) -> None:
    url = f"{server.ws_url}?token={server.token('alice')}"
    host = server.http_url.split("://", 1)[1]
    assert await _rejected(url, extra_headers=[("Origin", "https://evil.example")]) == 403
    async with open_websocket_url(url, extra_headers=[("Origin", f"http://{host}")]) as ws:
        assert (await WsClient(ws).receive_type("connected"))["user_id"] == "alice"


async def test_allow_listed_origin_is_accepted(server_factory: Any) -> None:
    server: LiveServer = await server_factory(allowed_origins="https://chat.example")
    url = f"{server.ws_url}?token={server.token('alice')}"
    headers = [("Origin", "https://chat.example")]
    with trio.fail_after(10):
        async with open_websocket_url(url, extra_headers=headers) as ws:
            assert (await WsClient(ws).receive_type("connected"))["user_id"] == "alice"


async def test_connections_per_user_are_capped_with_503(server_factory: Any) -> None:
    server: LiveServer = await server_factory(max_connections_per_user=2)
    url = f"{server.ws_url}?token={server.token('alice')}"
    with trio.fail_after(10):
        async with server.connect("alice"), server.connect("alice"):
            assert await _rejected(url) == 503
            async with server.connect("bob") as bob:
                _, events = await bob.run("thoughts=1", agent_type="scripted")
        async with server.connect("alice") as again:
            assert again.connected["user_id"] == "alice"
    check_run(events)


async def test_global_connection_cap_is_503(server_factory: Any) -> None:
    server: LiveServer = await server_factory(max_connections=2)
    with trio.fail_after(10):
        async with server.connect("alice"), server.connect("bob"):
            assert await _rejected(f"{server.ws_url}?token={server.token('carol')}") == 503


async def test_concurrent_handshakes_over_the_cap_all_get_503(server: LiveServer) -> None:
    """30 handshakes of one user at once, cap 20: exactly 20 upgrades, 10 HTTP 503s.

    The route hands the connection to the orchestrator with no checkpoint between
    its capacity check and the hub's attach, so no handshake races past the cap
    (which used to end in a 1013 close after the upgrade).
    """
    statuses: list[bytes] = []
    done = trio.Event()

    async def one() -> None:
        stream, response = await handshake(server.http_url, server.token("alice"))
        statuses.append(response.split(b" ", 2)[1])
        await done.wait()
        await stream.aclose()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            for _ in range(30):
                nursery.start_soon(one)
            while len(statuses) < 30:
                await trio.sleep(0.01)
            held = server.orchestrator.hub.count_of("alice")
            done.set()
    assert sorted(statuses) == [b"101"] * 20 + [b"503"] * 10
    assert held == 20


async def test_connection_over_the_cap_in_a_race_is_closed_1013() -> None:
    registry = build_registry(DOCS_DIR)
    async with open_test_orchestrator(registry, max_connections=1) as harness:
        with trio.fail_after(10):
            await harness.connect("alice")
            late = MemoryTransport()
            await harness.orchestrator.serve_connection(late, "bob")
    assert late.close_code == 1013


async def test_global_run_cap_answers_overloaded(server_factory: Any) -> None:
    server: LiveServer = await server_factory(max_running_runs=1)
    with trio.fail_after(10):
        async with server.connect("alice") as alice, server.connect("bob") as bob:
            await alice.send_message("thoughts=50 delay_ms=50", agent_type="scripted")
            await alice.receive_type("agent_started")
            ref = await bob.send_message("thoughts=1", agent_type="scripted")
            error = await bob.receive_type("error")
    assert error["code"] == "overloaded" and error["ref"] == ref


async def test_expired_token_closes_4401_at_exp(server: LiveServer) -> None:
    url = f"{server.ws_url}?token={mint_token(SECRET, 'alice', 1.5)}"
    with trio.fail_after(10), pytest.raises(ConnectionClosed) as closed:
        async with open_websocket_url(url) as ws:
            client = WsClient(ws)
            while True:
                await client.send({"type": "ping"})
                await client.receive_type("pong")
                await trio.sleep(0.2)
    assert closed.value.reason.code == 4401


async def test_auth_frame_extends_the_connection(server: LiveServer) -> None:
    url = f"{server.ws_url}?token={mint_token(SECRET, 'alice', 1.5)}"
    with trio.fail_after(10):
        async with open_websocket_url(url) as ws:
            client = WsClient(ws)
            await client.send({"type": "auth", "token": server.token("alice")})
            assert (await client.receive_type("auth_ok"))["expires_at"] > time.time() + 60
            await trio.sleep(2.0)
            _, events = await client.run("thoughts=1", agent_type="scripted")
    check_run(events)


@pytest.mark.parametrize("who", ["bob", "expired", "garbage"])
async def test_auth_frame_for_another_user_or_invalid_is_refused(
    server: LiveServer, who: str
) -> None:
    tokens = {
        "bob": server.token("bob"),
        "expired": mint_token(SECRET, "alice", -5),
        "garbage": "x.y.z",
    }
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.send({"type": "auth", "token": tokens[who]})
            error = await client.receive_type("error")
            await client.send({"type": "ping", "id": "still-here"})
            assert (await client.receive_type("pong"))["id"] == "still-here"
    assert error["code"] == "unauthorized"


async def test_empty_binary_frame_is_invalid_json_and_keeps_the_socket(
    server: LiveServer,
) -> None:
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.ws.send_message(b"")
            error = await client.receive_type("error")
            _, events = await client.run("thoughts=1", agent_type="scripted")
    assert error["code"] == "invalid_json"
    check_run(events)


async def test_public_health_names_no_one_and_details_need_an_admin(
    server_factory: Any,
) -> None:
    server: LiveServer = await server_factory(dev_auth=False, admin_users="root")
    with trio.fail_after(10):
        async with server.connect("alice") as client:
            await client.send_message("secret words", agent_type="scripted")
            await client.receive_type("agent_started")
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                public = await http.get("/health")
                anonymous = await http.get("/health/details")
                user = await http.get("/health/details", headers=_bearer(server, "alice"))
                admin = await http.get("/health/details", headers=_bearer(server, "root"))
                metrics = (await http.get("/metrics")).text
    assert public.json() == {"status": "ok", "store": "memory", "nodes": 1}
    assert "alice" not in public.text
    assert anonymous.status_code == 401 and user.status_code == 403
    assert admin.status_code == 200 and admin.json()["connections"] == 1
    assert "alice" not in metrics and "secret words" not in metrics


async def test_admin_claim_opens_the_details(server_factory: Any) -> None:
    server: LiveServer = await server_factory(dev_auth=False)
    token = mint_token(SECRET, "ops", 600, admin=True)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        details = await http.get("/health/details", headers={"Authorization": f"Bearer {token}"})
    assert details.status_code == 200 and details.json()["status"] == "ok"


def _bearer(server: LiveServer, user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(user_id)}"}


async def test_non_ascii_last_seq_is_refused_with_400(server: LiveServer) -> None:
    url = f"{server.ws_url}?token={server.token('alice')}&last_seq=%D9%A3"
    assert await _rejected(url) == 400


async def test_stalled_half_open_requests_are_closed_after_the_handshake_timeout(
    server_factory: Any,
) -> None:
    server: LiveServer = await server_factory(handshake_timeout=1.0)
    host, port = server.http_url.split("://", 1)[1].split(":")
    stalled = []
    for _ in range(50):
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        stalled.append(stream)
    with trio.fail_after(10):
        async with server.connect("alice") as alice:
            _, events = await alice.run("thoughts=1", agent_type="scripted")
        for stream in stalled:
            assert await stream.receive_some(1024) == b""  # the server hung up
    check_run(events)
