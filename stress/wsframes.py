"""Sans-IO reader of a server's WebSocket frames, for a client cheaper than a library.

``stress tokens`` reads tens of thousands of small frames a second in one process on
the same two cores as the server; trio-websocket (wsproto, a memory channel and a task
per message) would make the load generator the bottleneck. A :class:`FrameReader`
takes whatever bytes arrived and returns the complete messages (``opcode``, payload),
fragmented messages joined; server frames are never masked (RFC 6455 §5.1).
"""

from __future__ import annotations

import attrs

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
MAX_MESSAGE = 8 * 1024 * 1024


class FrameError(Exception):
    """The server sent what no server may: a masked frame or one over the bound."""


@attrs.define
class FrameReader:
    """Bytes in, complete messages out (see the module docstring)."""

    buffer: bytearray = attrs.field(factory=bytearray)
    fragments: list[bytes] = attrs.field(factory=list)
    fragment_opcode: int = OP_TEXT

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add ``data``; return every message it completed, in order."""
        self.buffer += data
        out: list[tuple[int, bytes]] = []
        while (frame := self._frame()) is not None:
            message = self._message(*frame)
            if message is not None:
                out.append(message)
        return out

    def _frame(self) -> tuple[bool, int, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        if buf[1] & 0x80:
            raise FrameError("masked server frame")
        length, start = buf[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(buf[2:10], "big"), 10
        if length > MAX_MESSAGE:
            raise FrameError(f"frame of {length} bytes")
        if len(buf) < start + length:
            return None
        payload = bytes(buf[start : start + length])
        fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
        del buf[: start + length]
        return fin, opcode, payload

    def _message(self, fin: bool, opcode: int, payload: bytes) -> tuple[int, bytes] | None:
        if opcode >= OP_CLOSE:  # control frames are never fragmented
            return opcode, payload
        if opcode != OP_CONTINUATION:
            self.fragment_opcode, self.fragments = opcode, []
        self.fragments.append(payload)
        if not fin:
            return None
        joined, self.fragments = b"".join(self.fragments), []
        return self.fragment_opcode, joined
