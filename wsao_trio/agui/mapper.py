"""Our run events → AG-UI 1.0 events, sans-IO.

One :class:`EventMapper` per stream of one run. It takes our events (the decoded
wire envelope of ``docs/protocol.md``) in seq order and returns the AG-UI events
(``ag_ui.core`` models) that say the same thing:

==================== ============================================================
ours                 AG-UI
==================== ============================================================
agent_started        RUN_STARTED (with ``protocolVersion``)
agent_thinking       REASONING_START (first of a row of thoughts), then one
                     REASONING_MESSAGE_START / _CONTENT / _END per thought
agent_message_delta  TEXT_MESSAGE_START (first of a row of deltas), TEXT_MESSAGE_CONTENT
tool_executing       TOOL_CALL_START / TOOL_CALL_ARGS (the arguments as JSON) / TOOL_CALL_END
tool_completed       TOOL_CALL_RESULT (the result as text; an error as ``{"error": …}``)
agent_completed      RUN_FINISHED, outcome ``success``, ``result``
agent_error          RUN_ERROR with ``code`` and ``message``
agent_cancelled      RUN_FINISHED, outcome ``cancelled`` (the reason in metadata)
anything else        CUSTOM named after our type, the payload as its value
==================== ============================================================

An open text message or reasoning span is closed (``*_END``) by the next event of
another kind, so the mapped stream always passes ``@ag-ui/client``'s checks. Ids
are derived from our event ids, so mapping the same events again (a join, a
resume) gives the same AG-UI events: that is what makes resume exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from ag_ui.core import (
    PROTOCOL_VERSION,
    BaseEvent,
    CustomEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

WSAO_KEY = "wsao"
"""The key of our extras in each AG-UI event's ``metadata`` (the event id, reasons)."""

Handler = Callable[[Mapping[str, Any], Mapping[str, Any]], list[BaseEvent]]


@attrs.frozen
class RunIds:
    """The AG-UI names of a run: ``threadId`` and ``runId`` (our thread id and message id)."""

    thread_id: str
    run_id: str


def as_text(value: Any) -> str:
    """A tool result or run result as AG-UI content text: strings as-is, else JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _wsao(**extras: Any) -> dict[str, Any]:
    return {WSAO_KEY: extras}


class EventMapper:
    """Maps one run's events, in seq order, to AG-UI events. See the module doc."""

    def __init__(self, ids: RunIds) -> None:
        self._ids = ids
        self._text: str | None = None
        self._reasoning: str | None = None
        self._handlers: dict[str, Handler] = {
            "agent_started": self._started,
            "agent_thinking": self._thinking,
            "agent_message_delta": self._delta,
            "tool_executing": self._tool_executing,
            "tool_completed": self._tool_completed,
            "agent_completed": self._completed,
            "agent_error": self._error,
            "agent_cancelled": self._cancelled,
        }

    @property
    def types(self) -> frozenset[str]:
        """Our event types with a mapping of their own (any other becomes CUSTOM)."""
        return frozenset(self._handlers)

    def map(self, event: Mapping[str, Any]) -> list[BaseEvent]:
        """The AG-UI events for one of our events (each stamped with its time in ms)."""
        kind = str(event.get("type"))
        payload = event.get("payload")
        payload = payload if isinstance(payload, Mapping) else {}
        handler = self._handlers.get(kind)
        mapped: list[BaseEvent] = handler(event, payload) if handler else [_custom(kind, payload)]
        stamp = _millis(event.get("timestamp"))
        for item in mapped:
            item.timestamp = stamp
        return mapped

    def _close(self) -> list[BaseEvent]:
        closed: list[BaseEvent] = []
        if self._text is not None:
            closed.append(TextMessageEndEvent(message_id=self._text))
            self._text = None
        if self._reasoning is not None:
            closed.append(ReasoningEndEvent(message_id=self._reasoning))
            self._reasoning = None
        return closed

    def _started(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        ids = self._ids
        return [
            RunStartedEvent(
                thread_id=ids.thread_id, run_id=ids.run_id, protocol_version=PROTOCOL_VERSION
            )
        ]

    def _thinking(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self._text is not None:
            out.append(TextMessageEndEvent(message_id=self._text))
            self._text = None
        message_id = f"{event.get('event_id')}"
        if self._reasoning is None:
            self._reasoning = f"reasoning-{message_id}"
            out.append(ReasoningStartEvent(message_id=self._reasoning))
        thought = str(payload.get("thought", ""))
        out.append(ReasoningMessageStartEvent(message_id=message_id))
        out.append(ReasoningMessageContentEvent(message_id=message_id, delta=thought))
        out.append(ReasoningMessageEndEvent(message_id=message_id))
        return out

    def _delta(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self._reasoning is not None:
            out.append(ReasoningEndEvent(message_id=self._reasoning))
            self._reasoning = None
        if self._text is None:
            self._text = f"{event.get('event_id')}"
            out.append(TextMessageStartEvent(message_id=self._text, role="assistant"))
        delta = str(payload.get("delta", ""))
        out.append(TextMessageContentEvent(message_id=self._text, delta=delta))
        return out

    def _tool_executing(
        self, event: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[BaseEvent]:
        parent = self._text
        call_id = str(payload.get("tool_call_id", event.get("event_id")))
        start = ToolCallStartEvent(
            tool_call_id=call_id,
            tool_call_name=str(payload.get("tool_name", "")),
            parent_message_id=parent,
        )
        arguments = json.dumps(payload.get("arguments", {}), ensure_ascii=False, default=str)
        args = ToolCallArgsEvent(tool_call_id=call_id, delta=arguments)
        return [*self._close(), start, args, ToolCallEndEvent(tool_call_id=call_id)]

    def _tool_completed(
        self, event: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[BaseEvent]:
        ok = payload.get("ok") is True
        content = as_text(payload.get("result")) if ok else as_text({"error": payload.get("error")})
        result = ToolCallResultEvent(
            message_id=f"{event.get('event_id')}",
            tool_call_id=str(payload.get("tool_call_id", "")),
            content=content,
            role="tool",
            metadata=_wsao(ok=ok, duration_ms=payload.get("duration_ms")),
        )
        return [*self._close(), result]

    def _completed(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        finished = RunFinishedEvent(
            thread_id=self._ids.thread_id,
            run_id=self._ids.run_id,
            result=payload.get("result"),
            outcome=RunFinishedSuccessOutcome(),
            metadata=_wsao(duration_ms=payload.get("duration_ms")),
        )
        return [*self._close(), finished]

    def _error(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        error = RunErrorEvent(
            message=str(payload.get("message", "the run failed")),
            code=str(payload.get("code", "agent_failed")),
            metadata=_wsao(duration_ms=payload.get("duration_ms")),
        )
        return [*self._close(), error]

    def _cancelled(self, event: Mapping[str, Any], payload: Mapping[str, Any]) -> list[BaseEvent]:
        finished = RunFinishedEvent(
            thread_id=self._ids.thread_id,
            run_id=self._ids.run_id,
            outcome=RunFinishedCancelledOutcome(),
            metadata=_wsao(reason=payload.get("reason"), duration_ms=payload.get("duration_ms")),
        )
        return [*self._close(), finished]


def _custom(name: str, payload: Mapping[str, Any]) -> CustomEvent:
    return CustomEvent(name=name, value=dict(payload))


def _millis(timestamp: Any) -> int | None:
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return int(timestamp * 1000)
    return None
