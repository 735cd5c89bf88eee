"""Hypothesis strategies for what arrives below the WebSocket: raw HTTP/1.1 byte streams.

A case is a request (method, target, version, headers drawn from a pool of good,
bad, duplicated, missing and oversized ones), an optional body where one may or may
not belong (plain, chunked, broken chunked), an optional tail sent without waiting
for the answer (WebSocket frames before the 101 or the 401, a pipelined second
request, an HTTP/2 preface, garbage), cut into pieces at arbitrary byte boundaries,
possibly truncated at any byte, then half-closed or left open. ``TOKEN`` in a case
stands for a valid token, filled in by the test.
"""

from __future__ import annotations

import base64
import itertools
import struct

import attrs
from hypothesis import strategies as st

from stress.rawws import frame

TOKEN = "@TOKEN@"
KEY = base64.b64encode(b"0123456789abcdef").decode()


@attrs.frozen
class RawCase:
    """One connection's worth of bytes and how to send them."""

    data: bytes
    cuts: tuple[int, ...]
    pause: float
    half_close: bool

    def pieces(self, token: str) -> list[bytes]:
        """The bytes with the token filled in, cut at ``cuts`` (clamped to the length)."""
        data = self.data.replace(TOKEN.encode(), token.encode())
        bounds = sorted({min(cut, len(data)) for cut in self.cuts} | {0, len(data)})
        return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


ws_frame = frame  # the harness's own client frames (random masks, drawn once)


methods = st.sampled_from([*["GET"] * 8, "POST", "HEAD", "PUT", "OPTIONS", "PRI", "get"])
targets = st.sampled_from(
    [
        *[f"/ws?token={TOKEN}"] * 10,
        "/ws?token=not-a-jwt",
        "/ws",
        f"/ws?token={TOKEN}&last_seq=x",
        f"/ws?token={TOKEN}&last_seq=5&epoch=e",
        "/agui",
        "/agui/runs/r1/stop",
        "/api/dev/token",
        "/api/config",
        "/health",
        "/health/details",
        "/metrics",
        "/",
        "*",
        "http://x/ws",
        "/%ff%fe",
        "/" + "a" * 9000,
    ]
)
versions = st.sampled_from([*["HTTP/1.1"] * 8, "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTPS"])
header_pool = st.sampled_from(
    [
        "Host: x",
        "Host: x",
        "Host: a\r\nHost: b",
        "Upgrade: websocket",
        "Upgrade: websocket",
        "Upgrade: WebSocket",
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA",
        "Upgrade: nonsense",
        "Connection: Upgrade",
        "Connection: Upgrade",
        "Connection: keep-alive, Upgrade",
        "Connection: close",
        f"Sec-WebSocket-Key: {KEY}",
        f"Sec-WebSocket-Key: {KEY}",
        "Sec-WebSocket-Key: short",
        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Key: {KEY}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Version: 8",
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 12",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Protocol: chat, superchat",
        "Origin: https://evil.example",
        f"Authorization: Bearer {TOKEN}",
        "Authorization: Bearer nope",
        "Content-Type: application/json",
        "Content-Length: 0",
        "Content-Length: 10",
        "Content-Length: -1",
        "Content-Length: abc",
        "Content-Length: 99999999999999999999",
        "Content-Length: 5\r\nContent-Length: 6",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Expect: 100-continue",
        "Last-Event-ID: 12",
        "X-Big: " + "b" * 20_000,
        "NoColonHere",
        " folded: continuation",
        "Bad\x00Name: v",
        "X-Latin: \xe9\xff",
    ]
)
bodies = st.sampled_from(
    [
        *[b""] * 10,
        b"0123456789",
        b'{"user_id": "fuzz"}',
        b"5\r\nhello\r\n0\r\n\r\n",
        b"zz\r\n",
        b"ffffffffffffffffff\r\nx",
        b"3\r\nab",
        b"\x00\x01\x02" * 10,
    ]
)
tails = st.sampled_from(
    [
        *[b""] * 12,
        ws_frame(b"hello"),
        ws_frame(b'{"type":"ping"}'),
        ws_frame(b"\x03\xe8", opcode=8),
        ws_frame(b"", opcode=9),
        ws_frame(b"x", opcode=3),
        ws_frame(b"hello", masked=False),
        ws_frame(b"part", fin=False) + ws_frame(b"rest", opcode=0),
        b"\x81\xff" + struct.pack("!Q", 1 << 62),
        b"\x81\x85" + b"\x00" * 3,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"\xff" * 64,
    ]
)


BASE_HEADERS = (
    "Host: x",
    "Upgrade: websocket",
    "Connection: Upgrade",
    f"Sec-WebSocket-Key: {KEY}",
    "Sec-WebSocket-Version: 13",
)


@st.composite
def raw_cases(draw: st.DrawFn) -> RawCase:
    """One raw connection: request head, body, tail, cuts, truncation, ending.

    Half the heads are a valid upgrade's request line, half any; the headers start
    from a valid upgrade's, each kept with probability
    about 7/8 (so most examples get past the parser to the route), plus up to four
    from the pool.
    """
    kept = [h for h in BASE_HEADERS if draw(st.integers(0, 7))]
    headers = draw(st.permutations(kept + draw(st.lists(header_pool, max_size=4))))
    line = f"GET /ws?token={TOKEN} HTTP/1.1"
    if draw(st.booleans()):  # half the examples: any request line
        line = f"{draw(methods)} {draw(targets)} {draw(versions)}"
    head = f"{line}\r\n" + "".join(f"{h}\r\n" for h in headers)
    data = head.encode("latin-1") + b"\r\n" + draw(bodies) + draw(tails)
    if not draw(st.integers(0, 3)) and len(data) > 1:
        data = data[: draw(st.integers(1, len(data) - 1))]  # the client stops mid-way
    cuts = tuple(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=6)))
    pause = draw(st.sampled_from([0.0, 0.0, 0.01, 0.05]))
    return RawCase(data, cuts, pause, draw(st.booleans()))
