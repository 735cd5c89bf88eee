"""The sans-IO AG-UI mapping: our run events → AG-UI events, ids, resume, gaps, inputs.

Hypothesis builds runs of every shape (thoughts, deltas, tool calls and unknown
events in any order, each terminal) and checks that the mapped stream obeys
AG-UI's ordering rules, that every group's last id is its seq, and that resuming
from *any* event id gives exactly the rest of the stream: nothing lost, nothing
doubled, and a resumed stream that a fresh AG-UI client accepts on its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ag_ui.encoder import EventEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.aguicheck import check_agui, parse_sse
from wsao_trio.agui import AguiInputError, ResumePoint, RunIds, RunProjection, parse_run_input
from wsao_trio.agui.inputs import parse_last_event_id
from wsao_trio.agui.projection import Emitted, encode_sse

IDS = RunIds("thread-1", "run-1")
STEPS = st.lists(st.sampled_from(["think", "delta", "tool", "tool_fail", "custom"]), max_size=12)
TERMINALS = st.sampled_from(["agent_completed", "agent_error", "agent_cancelled"])


def _event(seq: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "seq": seq,
        "event_id": f"ep-{seq}",
        "run_id": "ours",
        "thread_id": "thread-1",
        "agent_type": "scripted",
        "timestamp": 1700000000.0 + seq,
        "payload": payload,
    }


def _step_events(step: str, n: int) -> list[tuple[str, dict[str, Any]]]:
    if step == "think":
        return [("agent_thinking", {"thought": f"thought {n}"})]
    if step == "delta":
        return [("agent_message_delta", {"delta": f"d{n} "})]
    if step == "custom":
        return [("agent_progress", {"percent": n})]
    base = {"tool_call_id": f"call-{n}", "tool_name": "echo"}
    done = {"ok": True, "result": {"n": n}} if step == "tool" else {"ok": False, "error": "x"}
    return [
        ("tool_executing", {**base, "arguments": {"n": n}}),
        ("tool_completed", {**base, **done, "duration_ms": 1.0}),
    ]


def build_run(steps: list[str], terminal: str, first_seq: int = 1) -> list[dict[str, Any]]:
    """Our events of one run: started, the steps, the terminal event."""
    shapes: list[tuple[str, dict[str, Any]]] = [("agent_started", {"message_id": "run-1"})]
    for n, step in enumerate(steps):
        shapes.extend(_step_events(step, n))
    shapes.append(
        (terminal, {"result": 1, "code": "agent_failed", "message": "no", "reason": "user"})
    )
    return [_event(first_seq + i, kind, payload) for i, (kind, payload) in enumerate(shapes)]


def project(events: list[dict[str, Any]], resume: ResumePoint | None = None) -> list[Emitted]:
    projection = RunProjection(IDS, resume)
    return [item for event in events for item in projection.event(event)]


def dumped(items: list[Emitted]) -> list[dict[str, Any]]:
    """The events as a client decodes them (through the package's SSE encoder)."""
    encoder = EventEncoder()
    messages, _ = parse_sse("".join(encode_sse(item, encoder) for item in items))
    assert [m.id for m in messages] == [item.id for item in items]
    return [m.data for m in messages]


@settings(max_examples=200, deadline=None)
@given(STEPS, TERMINALS)
def test_every_run_maps_to_a_valid_agui_stream(steps: list[str], terminal: str) -> None:
    events = build_run(steps, terminal)
    emitted = project(events)
    check_agui(dumped(emitted))
    # The last AG-UI event of each of our events carries exactly its seq.
    plain = [int(item.id) for item in emitted if ":" not in item.id]
    assert plain == [event["seq"] for event in events]
    assert all(item.event.metadata == {**(item.event.metadata or {})} for item in emitted)


@settings(max_examples=150, deadline=None)
@given(STEPS, TERMINALS, st.data())
def test_resume_from_any_id_loses_and_doubles_nothing(
    steps: list[str], terminal: str, data: st.DataObject
) -> None:
    events = build_run(steps, terminal)
    full = dumped(project(events))
    cut = data.draw(st.integers(min_value=1, max_value=len(full) - 1))
    resume = ResumePoint.parse(full[cut - 1]["metadata"]["wsao"]["id"])
    resumed = dumped(project(events, resume))
    check_agui(resumed)  # a fresh client accepts the resumed stream on its own
    opening = [e for e in resumed if e["metadata"]["wsao"]["id"] == resume.text]
    assert opening[0]["type"] == "RUN_STARTED"
    assert full[:cut] + resumed[len(opening) :] == full


def test_resume_reopens_what_was_open_at_the_cut() -> None:
    events = build_run(["delta", "delta", "tool"], "agent_completed")
    full = dumped(project(events))
    second_delta = next(e for e in full if e.get("delta") == "d1 ")
    resumed = dumped(project(events, ResumePoint.parse(second_delta["metadata"]["wsao"]["id"])))
    assert [e["type"] for e in resumed[:3]] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_END",
    ]
    assert resumed[1]["messageId"] == second_delta["messageId"]


def test_mapping_table() -> None:
    events = build_run(
        ["think", "think", "delta", "tool", "tool_fail", "custom"], "agent_cancelled"
    )
    out = dumped(project(events))
    assert [e["type"] for e in out] == [
        "RUN_STARTED",
        *["REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT"],
        "REASONING_MESSAGE_END",
        *["REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT", "REASONING_MESSAGE_END"],
        *["REASONING_END", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT"],
        *["TEXT_MESSAGE_END", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END"],
        *["TOOL_CALL_RESULT", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END"],
        *["TOOL_CALL_RESULT", "CUSTOM", "RUN_FINISHED"],
    ]
    by_type: dict[str, dict[str, Any]] = {}
    for e in out:
        by_type.setdefault(e["type"], e)
    assert out[0]["protocolVersion"] == "1.0" and out[0]["runId"] == "run-1"
    assert (
        by_type["TOOL_CALL_START"]["parentMessageId"] == by_type["TEXT_MESSAGE_START"]["messageId"]
    )
    assert json.loads(out[13]["delta"]) == {"n": 3}
    assert json.loads(out[15]["content"]) == {"n": 3}
    assert json.loads(out[19]["content"]) == {"error": "x"}
    assert by_type["CUSTOM"] == {
        **by_type["CUSTOM"],
        "name": "agent_progress",
        "value": {"percent": 5},
    }
    finished = by_type["RUN_FINISHED"]
    assert finished["outcome"] == {"type": "cancelled"}
    assert finished["metadata"]["wsao"]["reason"] == "user"
    assert finished["timestamp"] == int((1700000000.0 + events[-1]["seq"]) * 1000)


def test_error_and_completion_terminals() -> None:
    error = dumped(project(build_run([], "agent_error")))[-1]
    assert error["type"] == "RUN_ERROR" and error["code"] == "agent_failed"
    done = dumped(project(build_run([], "agent_completed")))[-1]
    assert done["outcome"] == {"type": "success"} and done["result"] == 1


def test_copies_and_events_after_the_end_are_dropped() -> None:
    events = build_run(["delta"], "agent_completed")
    projection = RunProjection(IDS)
    first = [item for event in events for item in projection.event(event)]
    assert projection.finished
    assert [item for event in events for item in projection.event(event)] == []
    assert first


def test_a_gap_before_the_run_start_is_silent() -> None:
    projection = RunProjection(IDS)
    projection.gap({"type": "replay_gap", "oldest_available": 50, "reason": "retention"})
    out = dumped(
        [i for e in build_run(["delta"], "agent_completed", 60) for i in projection.event(e)]
    )
    assert "CUSTOM" not in [e["type"] for e in out]


def test_a_gap_inside_the_run_is_announced_after_run_started() -> None:
    events = build_run(["delta"] * 5, "agent_completed")[3:]
    projection = RunProjection(IDS)
    projection.gap({"type": "replay_gap", "oldest_available": 4, "reason": "retention"})
    out = dumped([i for e in events for i in projection.event(e)])
    check_agui(out)
    assert [e["type"] for e in out[:3]] == ["RUN_STARTED", "CUSTOM", "TEXT_MESSAGE_START"]
    assert out[1]["name"] == "replay_gap"
    assert out[1]["value"] == {"requested_after": 0, "oldest_available": 4, "reason": "retention"}


def test_a_gap_the_client_already_covers_is_not_announced() -> None:
    events = build_run(["delta"] * 5, "agent_completed")[3:]
    projection = RunProjection(IDS, ResumePoint(4))
    projection.gap({"type": "replay_gap", "oldest_available": 4, "reason": "retention"})
    out = dumped([i for e in events for i in projection.event(e)])
    assert "CUSTOM" not in [e["type"] for e in out]


def test_a_lost_run_ends_with_a_notice_and_run_error() -> None:
    projection = RunProjection(IDS, ResumePoint(7))
    out = dumped(projection.lost())
    check_agui(out)
    assert [e["type"] for e in out] == ["RUN_STARTED", "CUSTOM", "RUN_ERROR"]
    assert out[-1]["code"] == "replay_gap"
    assert projection.lost() == [] and projection.finished


@pytest.mark.parametrize(
    ("raw", "point"),
    [("0", ResumePoint(0)), ("42", ResumePoint(42)), (" 42:2 ", ResumePoint(42, 2))],
)
def test_resume_point_parse(raw: str, point: ResumePoint) -> None:
    assert ResumePoint.parse(raw) == point
    assert ResumePoint.parse(point.text) == point


@pytest.mark.parametrize("raw", ["x", "-1", "4:", ":2", "1:2:3", "1" * 20, "٣", "1.5"])
def test_bad_last_event_ids_are_400(raw: str) -> None:
    with pytest.raises(AguiInputError) as info:
        parse_last_event_id(raw)
    assert info.value.status == 400 and "Last-Event-ID" in info.value.message


@given(st.text(max_size=30))
def test_last_event_id_never_crashes(raw: str) -> None:
    try:
        point = parse_last_event_id(raw)
    except AguiInputError as exc:
        assert exc.status == 400
    else:
        assert point is None or point.seq >= 0


def _body(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "m", "role": "user", "content": "hello"}],
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
    }
    base.update(fields)
    return json.dumps(base).encode()


def test_parse_run_input_takes_the_last_user_message() -> None:
    messages = [
        {"id": "1", "role": "user", "content": "first"},
        {"id": "2", "role": "assistant", "content": "answer"},
        {
            "id": "3",
            "role": "user",
            "content": [{"type": "text", "text": "sec"}, {"type": "text", "text": "ond"}],
        },
    ]
    run = parse_run_input(_body(messages=messages), max_text_bytes=100)
    assert (run.thread_id, run.run_id, run.text) == ("t", "r", "second")


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"not json", 400, "not JSON"),
        (b"[1]", 400, "JSON object"),
        (b"[" * 100_000, 400, "not JSON"),
        (json.dumps({"threadId": "t"}).encode(), 422, "runId"),
        (_body(runId=7), 422, "runId"),
        (_body(runId=""), 422, "runId"),
        (_body(threadId="x" * 201), 422, "threadId"),
        (_body(messages=[]), 422, "user message"),
        (_body(messages=[{"id": "m", "role": "user", "content": "  "}]), 422, "no text"),
        (_body(messages=[{"id": "m", "role": "wizard"}]), 422, "messages.0"),
        (_body(messages=[{"id": "m", "role": "user", "content": "x" * 101}]), 422, "byte limit"),
    ],
)
def test_bad_run_input_is_a_clear_4xx(body: bytes, status: int, needle: str) -> None:
    with pytest.raises(AguiInputError) as info:
        parse_run_input(body, max_text_bytes=100)
    assert info.value.status == status
    assert needle in info.value.message


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_parse_run_input_only_ever_raises_4xx(value: Any) -> None:
    try:
        parse_run_input(
            json.dumps({"messages": value, "threadId": "t", "runId": "r"}).encode(),
            max_text_bytes=100,
        )
    except AguiInputError as exc:
        assert 400 <= exc.status < 500
