"""One SSE stream's view of one run, sans-IO: event ids, resume, gaps, re-opening.

A :class:`RunProjection` takes the run's events in seq order (a replay of the user's
log, then live events; copies are dropped by seq) and returns what to send, each
AG-UI event with its SSE id:

- one of our events may become several AG-UI events (a tool call is START, ARGS,
  END). The last of them carries ``id: <seq>``; those before it ``<seq>:<k>`` (the
  k-th of the group), so a client cut off inside a group resumes exactly there.
- a resume point (``Last-Event-ID``) suppresses everything up to it. The run is
  still mapped from its first event, so the mapper's state (which message is
  open) is what the client had; the stream then opens with RUN_STARTED and the
  START of each message, reasoning span or tool call still open at that point,
  which ``@ag-ui/client`` needs to accept the events that follow. Those opening
  events carry the resume point as their id.
- when the log no longer holds the run's beginning, a CUSTOM ``replay_gap`` event
  says so (only when the client may have missed something). When the run has ended
  and its end is gone too, :meth:`RunProjection.lost` ends the stream with that
  notice and RUN_ERROR ``replay_gap``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from ag_ui.core import (
    PROTOCOL_VERSION,
    BaseEvent,
    CustomEvent,
    EventType,
    RunErrorEvent,
    RunStartedEvent,
)
from ag_ui.encoder import EventEncoder

from wsao_trio.agui.mapper import WSAO_KEY, EventMapper, RunIds
from wsao_trio.protocol import MAX_INT_DIGITS, TERMINAL_EVENTS

EVENT_ID_PATTERN = re.compile(rf"([0-9]{{1,{MAX_INT_DIGITS}}})(?::([0-9]{{1,4}}))?")
OPENERS = MappingProxyType(
    {
        EventType.TEXT_MESSAGE_START: EventType.TEXT_MESSAGE_END,
        EventType.TOOL_CALL_START: EventType.TOOL_CALL_END,
        EventType.REASONING_START: EventType.REASONING_END,
        EventType.REASONING_MESSAGE_START: EventType.REASONING_MESSAGE_END,
    }
)
CLOSERS = MappingProxyType({end: start for start, end in OPENERS.items()})
LOST_MESSAGE = "this run has ended and its events are no longer held"


@attrs.frozen
class ResumePoint:
    """Where a client's stream stopped: every event up to ``seq`` (or its first ``part``)."""

    seq: int = 0
    part: int | None = None

    @classmethod
    def parse(cls, raw: str) -> ResumePoint:
        """``"42"`` or ``"42:2"`` (a ``Last-Event-ID``); ValueError otherwise."""
        match = EVENT_ID_PATTERN.fullmatch(raw.strip())
        if match is None:
            raise ValueError("Last-Event-ID must be an event id of this service, like 42 or 42:2")
        part = match.group(2)
        return cls(int(match.group(1)), None if part is None else int(part))

    @property
    def text(self) -> str:
        """The point as an SSE id."""
        return str(self.seq) if self.part is None else f"{self.seq}:{self.part}"

    def covers(self, seq: int, index: int, count: int) -> bool:
        """Whether the ``index``-th (1-based) of ``count`` events of ``seq`` was delivered."""
        if seq != self.seq:
            return seq < self.seq
        return self.part is None or index <= min(self.part, count)


@attrs.frozen
class Emitted:
    """One AG-UI event to send and its SSE id."""

    id: str
    event: BaseEvent


def event_id(seq: int, index: int, count: int) -> str:
    """The SSE id of the ``index``-th (1-based) of ``count`` AG-UI events of ``seq``."""
    return str(seq) if index == count else f"{seq}:{index}"


def encode_sse(emitted: Emitted, encoder: EventEncoder) -> str:
    """One SSE message: the ``id`` line, then the package encoder's ``data`` line."""
    return f"id: {emitted.id}\n{encoder.encode(emitted.event)}"


def _span_key(event: BaseEvent) -> tuple[EventType, str]:
    name = getattr(event, "tool_call_id", None) or getattr(event, "message_id", "")
    return event.type, str(name)


class OpenSpans:
    """The messages, reasoning spans and tool calls a client has open, in opening order."""

    def __init__(self) -> None:
        self._open: dict[tuple[EventType, str], BaseEvent] = {}

    def apply(self, event: BaseEvent) -> None:
        """Track one AG-UI event as the client saw it."""
        if event.type not in OPENERS and event.type not in CLOSERS:
            return
        kind, name = _span_key(event)
        if kind in OPENERS:
            self._open[(kind, name)] = event
        elif kind in CLOSERS:
            self._open.pop((CLOSERS[kind], name), None)

    def openers(self) -> list[BaseEvent]:
        """Copies of the START events of everything still open."""
        return [event.model_copy(deep=True) for event in self._open.values()]


class RunProjection:
    """What one SSE stream of one run sends; see the module doc."""

    def __init__(self, ids: RunIds, resume: ResumePoint | None = None) -> None:
        self.ids = ids
        self.resume = resume or ResumePoint()
        self._mapper = EventMapper(ids)
        self._spans = OpenSpans()
        self._announced = False
        self._gap: Mapping[str, Any] | None = None
        self._notice: CustomEvent | None = None
        self._seen = False
        self.last_seq = 0
        self.finished = False

    def gap(self, frame: Mapping[str, Any]) -> None:
        """A ``replay_gap`` frame of the user's log (it matters only before the run's events)."""
        if not self._seen:
            self._gap = frame

    def event(self, event: Mapping[str, Any]) -> list[Emitted]:
        """The AG-UI events to send for one of the run's events (none for a copy)."""
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= self.last_seq or self.finished:
            return []
        self.last_seq = seq
        self._check_gap(event)
        mapped = self._mapper.map(event)
        out: list[Emitted] = []
        for index, item in enumerate(mapped, 1):
            if self.resume.covers(seq, index, len(mapped)):
                self._spans.apply(item)
                continue
            out.extend(self._before(item))
            out.append(self._emit(item, event_id(seq, index, len(mapped))))
        self.finished = event.get("type") in TERMINAL_EVENTS
        return out

    def lost(self) -> list[Emitted]:
        """End a stream whose run has ended when the log holds nothing of its end."""
        if self.finished:
            return []
        self.finished = True
        if self._notice is None:
            self._notice = self._gap_notice(self._gap or {})
        error = RunErrorEvent(message=LOST_MESSAGE, code="replay_gap")
        return [*self._before(error), self._emit(error, self.resume.text)]

    def _check_gap(self, event: Mapping[str, Any]) -> None:
        first, self._seen = not self._seen, True
        if not first or self._gap is None or event.get("type") == "agent_started":
            return
        oldest = self._gap.get("oldest_available")
        if not isinstance(oldest, int) or oldest > self.resume.seq + 1:
            self._notice = self._gap_notice(self._gap)

    def _gap_notice(self, frame: Mapping[str, Any]) -> CustomEvent:
        value = {
            "requested_after": self.resume.seq,
            "oldest_available": frame.get("oldest_available"),
            "reason": frame.get("reason", "retention"),
        }
        return CustomEvent(name="replay_gap", value=value)

    def _before(self, item: BaseEvent) -> list[Emitted]:
        """The opening (RUN_STARTED, open spans) and a gap notice, once, before ``item``."""
        out: list[Emitted] = []
        if not self._announced:
            self._announced = True
            if not isinstance(item, RunStartedEvent):
                out.extend(self._emit(e, self.resume.text) for e in self._opening())
        if self._notice is not None:
            out.append(self._emit(self._notice, self.resume.text))
            self._notice = None
        return out

    def _opening(self) -> list[BaseEvent]:
        ids = self.ids
        started = RunStartedEvent(
            thread_id=ids.thread_id, run_id=ids.run_id, protocol_version=PROTOCOL_VERSION
        )
        return [started, *self._spans.openers()]

    def _emit(self, item: BaseEvent, sse_id: str) -> Emitted:
        self._spans.apply(item)
        metadata = dict(item.metadata or {})
        metadata[WSAO_KEY] = {**metadata.get(WSAO_KEY, {}), "id": sse_id}
        item.metadata = metadata
        return Emitted(sse_id, item)
