"""Issue 7 item 10: a WebSocket protocol violation gets a close frame with its code.

wsproto detects each violation; without :mod:`app.protocol_close` hypercorn dropped
TCP without a close frame (the client saw 1006). Raw sockets send what no client
library would, and read the server's close frame; a bystander's run goes on beside.
"""

from __future__ import annotations

import pytest
import trio

from tests.support.invariants import check_run
from tests.support.live import LiveServer
from tests.support.rawws import OP_BINARY, close_code, frame, handshake, read_until_closed

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")

VIOLATIONS = {
    "invalid-utf8-text": (frame(b'{"type": "ping", "id": "\xff\xfe"}'), 1007),
    "truncated-utf8-text": (frame('{"type": "ping", "id": "é"}'.encode()[:-3]), 1007),
    "rsv1-without-compression": (frame(b'{"type": "ping"}', rsv1=True), 1002),
    "unmasked-client-frame": (frame(b'{"type": "ping"}', masked=False), 1002),
    "reserved-opcode": (frame(b"x", opcode=0x3), 1002),
    "continuation-first": (frame(b"x", opcode=0x0), 1002),
    "fragmented-ping": (bytes([0x09, 0x80]) + b"\0\0\0\0", 1002),
}


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
async def test_protocol_violation_closes_with_its_code(server: LiveServer, name: str) -> None:
    data, expected = VIOLATIONS[name]
    async with server.connect("bob") as bob:
        with trio.fail_after(20):
            stream, response = await handshake(server.http_url, server.token("eve"))
            assert response.startswith(b"HTTP/1.1 101")
            await stream.send_all(data)
            received = await read_until_closed(stream)
            await stream.aclose()
            _, events = await bob.run("thoughts=2 tools=1", agent_type="scripted")
    assert close_code(received) == expected
    check_run(events)


async def test_a_valid_binary_frame_is_no_protocol_error(server: LiveServer) -> None:
    """Control: a well-formed frame the service refuses is an error frame, not a close."""
    with trio.fail_after(20):
        stream, _ = await handshake(server.http_url, server.token("eve"))
        await stream.send_all(frame(b"\xff\xfe", opcode=OP_BINARY))
        with trio.move_on_after(2):
            received = b""
            while b"invalid_json" not in received:
                received += await stream.receive_some(65536)
        await stream.aclose()
    assert b"invalid_json" in received
    assert close_code(received) is None
