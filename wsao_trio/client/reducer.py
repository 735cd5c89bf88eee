"""The run view: a run's events folded into what a chat shows (sans-IO, pure).

:func:`reduce_run` takes a view and one event and returns the next view; it never
mutates its input, so a UI can compare views by identity. Events of other runs, a
seq it has already folded, and anything after the terminal event leave the view as
it was, so folding a stream with duplicates or a replay that repeats events gives the
same view as folding each event once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from wsao_trio.protocol import TERMINAL_EVENTS

STATUS_OF_TERMINAL: Mapping[str, str] = MappingProxyType(
    {"agent_completed": "completed", "agent_error": "failed", "agent_cancelled": "cancelled"}
)


@attrs.frozen
class ToolCall:
    """One tool call of a run: announced, then completed with its result or error."""

    tool_call_id: str
    tool_name: str
    arguments: Mapping[str, Any]
    done: bool = False
    ok: bool | None = None
    result: Any = None
    error: Any = None


@attrs.frozen
class RunView:
    """What a chat shows of one run.

    ``status`` is ``pending`` (accepted, nothing seen yet), ``running``, then one of
    ``completed``, ``failed``, ``cancelled``. ``text`` is the streamed answer
    (``agent_message_delta`` in order); ``thinking`` the thoughts; ``tools`` the calls
    by id, in the order they were announced; ``outcome`` the terminal payload.
    """

    run_id: str
    status: str = "pending"
    text: str = ""
    thinking: tuple[str, ...] = ()
    tools: Mapping[str, ToolCall] = attrs.field(factory=dict)
    outcome: Mapping[str, Any] | None = None
    last_seq: int = 0
    events: int = 0

    @property
    def finished(self) -> bool:
        """Whether the run's terminal event has been folded in."""
        return self.status in STATUS_OF_TERMINAL.values()


def reduce_run(view: RunView, event: Mapping[str, Any]) -> RunView:
    """The view after ``event``; unchanged for another run's, a seen or a late event."""
    seq = event.get("seq")
    if event.get("run_id") != view.run_id or not isinstance(seq, int):
        return view
    if seq <= view.last_seq or view.finished:
        return view
    payload = event.get("payload") or {}
    changes = _changes(view, str(event.get("type")), payload)
    return attrs.evolve(view, last_seq=seq, events=view.events + 1, **changes)


def _changes(view: RunView, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    if kind in TERMINAL_EVENTS:
        return {"status": STATUS_OF_TERMINAL[kind], "outcome": dict(payload)}
    running: dict[str, Any] = {"status": "running"}
    if kind == "agent_message_delta":
        running["text"] = view.text + str(payload.get("delta", ""))
    elif kind == "agent_thinking":
        running["thinking"] = (*view.thinking, str(payload.get("thought", "")))
    elif kind == "tool_executing":
        call = ToolCall(
            str(payload.get("tool_call_id")),
            str(payload.get("tool_name")),
            dict(payload.get("arguments") or {}),
        )
        running["tools"] = {**view.tools, call.tool_call_id: call}
    elif kind == "tool_completed":
        running["tools"] = _completed(view.tools, payload)
    return running


def _completed(tools: Mapping[str, ToolCall], payload: Mapping[str, Any]) -> dict[str, ToolCall]:
    call_id = str(payload.get("tool_call_id"))
    known = tools.get(call_id) or ToolCall(call_id, str(payload.get("tool_name")), {})
    done = attrs.evolve(
        known,
        done=True,
        ok=bool(payload.get("ok")),
        result=payload.get("result"),
        error=payload.get("error"),
    )
    return {**tools, call_id: done}


def fold_runs(
    runs: Mapping[str, RunView], events: Iterable[Mapping[str, Any]]
) -> dict[str, RunView]:
    """Every run's view after ``events`` (a run seen for the first time starts pending)."""
    views = dict(runs)
    for event in events:
        run_id = event.get("run_id")
        if isinstance(run_id, str):
            views[run_id] = reduce_run(views.get(run_id) or RunView(run_id), event)
    return views
