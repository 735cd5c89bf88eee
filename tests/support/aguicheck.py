"""Checks on AG-UI streams, and a minimal SSE reader for the HTTP tests.

``check_agui`` applies the ordering rules ``@ag-ui/client``'s ``verifyEvents``
enforces (the Node tests run the real one): RUN_STARTED first; nothing after
RUN_FINISHED / RUN_ERROR; TEXT_MESSAGE_*, TOOL_CALL_* and REASONING_* content only
inside their START/END; every START ended before the run ends. Each event also
validates as the ``ag_ui.core`` ``Event`` union.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pydantic
from ag_ui.core import Event

EVENT_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Event)
TERMINAL = ("RUN_FINISHED", "RUN_ERROR")
SPANS = {
    "TEXT_MESSAGE": ("messageId", ("CONTENT",)),
    "TOOL_CALL": ("toolCallId", ("ARGS",)),
    "REASONING_MESSAGE": ("messageId", ("CONTENT",)),
    "REASONING": ("messageId", ()),
}


@attrs.define
class SseMessage:
    """One SSE message: its id (None if it had no id line) and its decoded data."""

    id: str | None
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])


def parse_sse(text: str) -> tuple[list[SseMessage], list[str]]:
    """Complete messages of an SSE text, and its comment lines (keep-alives)."""
    messages, comments = [], []
    for block in text.split("\n\n"):
        sse_id, data = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("id: "):
                sse_id = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            messages.append(SseMessage(sse_id, json.loads("\n".join(data))))
    return messages, comments


async def read_messages(lines: AsyncIterator[str]) -> AsyncIterator[SseMessage]:
    """SSE messages from a response's lines, yielded as each one completes."""
    block: list[str] = []
    async for line in lines:
        if line:
            block.append(line)
            continue
        messages, _ = parse_sse("\n".join(block))
        block = []
        for message in messages:
            yield message


def _span(kind: str) -> tuple[str, str, str] | None:
    for name in sorted(SPANS, key=len, reverse=True):
        if kind.startswith(name + "_"):
            return name, kind[len(name) + 1 :], SPANS[name][0]
    return None


def check_agui(events: list[dict[str, Any]], *, finished: bool = True) -> None:
    """The rules above; ``finished=False`` for a stream cut off before its end."""
    assert events and events[0]["type"] == "RUN_STARTED", [e["type"] for e in events[:3]]
    open_spans: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        EVENT_ADAPTER.validate_python(event)
        kind = event["type"]
        assert kind not in TERMINAL or index == len(events) - 1, f"{kind} before the end"
        assert kind != "RUN_STARTED" or index == 0, "RUN_STARTED twice"
        _check_span(kind, event, open_spans)
    if finished:
        assert events[-1]["type"] in TERMINAL, events[-1]["type"]
        assert not open_spans, f"never ended: {open_spans}"


def _check_span(kind: str, event: dict[str, Any], open_spans: set[tuple[str, str]]) -> None:
    span = _span(kind)
    if span is None:
        return
    name, phase, key = span
    handle = (name, str(event[key]))
    if phase == "START":
        assert handle not in open_spans, f"{kind} twice for {handle}"
        open_spans.add(handle)
    elif phase == "END":
        assert handle in open_spans, f"{kind} without START for {handle}"
        open_spans.remove(handle)
    elif phase in SPANS[name][1]:
        assert handle in open_spans, f"{kind} outside its START/END for {handle}"
