"""Hypothesis drives the stress harness's sans-IO checker (and its small pure helpers).

A model builds what a correct server sends one user — runs of any shape, interleaved
in any order, seq 1..N — and the checker must find nothing wrong; then each kind of
damage (a dropped, duplicated, reordered, foreign or late event, a second fresh
accept) must be reported as exactly that kind.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stress.checker import Delivery, StreamChecker, UserLedger
from stress.scripted import Profile, parse_profile
from stress.spec import parse_target
from stress.stats import percentile, summarize

USER = "alice"
EPOCH = "e1"
Event = dict[str, Any]


def run_events(index: int, thoughts: int, tools: int, terminal: str) -> list[Event]:
    """The events of one correct run (no seq yet)."""
    run_id, message_id = f"run-{index}", f"{USER}-m{index}"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("agent_started", {"message_id": message_id, "message": "x"})
    ]
    steps += [("agent_thinking", {"thought": f"t{i}"}) for i in range(thoughts)]
    for i in range(tools):
        call = {"tool_call_id": f"{run_id}-c{i}", "tool_name": "echo"}
        steps.append(("tool_executing", {**call, "arguments": {}}))
        steps.append(("tool_completed", {**call, "ok": True, "result": 1, "duration_ms": 0.1}))
    steps.append((terminal, {"result": 1, "duration_ms": 1.0}))
    return [
        {"type": kind, "run_id": run_id, "thread_id": "th", "payload": payload, "timestamp": 1.0}
        for kind, payload in steps
    ]


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """Several correct runs interleaved in any order, seq assigned 1..N."""
    shapes = draw(
        st.lists(
            st.tuples(
                st.integers(0, 3),
                st.integers(0, 3),
                st.sampled_from(["agent_completed", "agent_error", "agent_cancelled"]),
            ),
            min_size=1,
            max_size=5,
        )
    )
    queues = [run_events(i, *shape) for i, shape in enumerate(shapes)]
    merged: list[Event] = []
    while any(queues):
        live = [q for q in queues if q]
        merged.append(draw(st.sampled_from(live)).pop(0))
    return [{**event, "seq": seq} for seq, event in enumerate(merged, start=1)]


def checker_for(events: list[Event]) -> StreamChecker:
    """A fresh checker whose ledger has sent every message id of ``events``."""
    ledger = UserLedger(USER)
    for event in events:
        if event["type"] == "agent_started":
            ledger.record_send(event["payload"]["message_id"])
    checker = StreamChecker(ledger)
    checker.on_frame({"type": "connected", "user_id": USER, "epoch": EPOCH, "last_seq": 0})
    return checker


def feed(checker: StreamChecker, events: list[Event]) -> StreamChecker:
    """Feed ``events`` in order, then run the whole-stream checks."""
    for event in events:
        checker.on_frame(event)
    checker.finish()
    return checker


def kinds(checker: StreamChecker) -> set[str]:
    """The violation kinds the checker (and its ledger) recorded."""
    return set(checker.violations.by_kind) | set(checker.ledger.violations.by_kind)


@given(streams())
def test_a_correct_stream_has_no_violation(events: list[Event]) -> None:
    checker = feed(checker_for(events), events)
    assert kinds(checker) == set()
    assert (checker.events, checker.duplicates, checker.lost) == (len(events), 0, 0)
    starts = sum(1 for e in events if e["type"] == "agent_started")
    assert checker.runs_ended == starts
    assert all(checker.has_ended(m) for m in checker.ledger.sent)


@given(streams(), st.data())
def test_a_repeated_event_is_a_duplicate_not_a_violation(events: list[Event], data: Any) -> None:
    index = data.draw(st.integers(0, len(events) - 1))
    at = data.draw(st.integers(index + 1, len(events)))
    damaged = [*events[:at], events[index], *events[at:]]
    checker = feed(checker_for(events), damaged)
    assert checker.duplicates == 1
    assert kinds(checker) == set()


@given(streams(), st.data())
def test_a_lost_event_is_always_reported(events: list[Event], data: Any) -> None:
    index = data.draw(st.integers(0, len(events) - 1))
    damaged = events[:index] + events[index + 1 :]
    checker = feed(checker_for(events), damaged)
    assert checker.violations.count >= 1
    if index < len(events) - 1:
        assert "seq_gap" in kinds(checker)
        assert checker.lost == 1
    else:
        assert "missing_terminal" in kinds(checker)


@given(streams(), st.data())
def test_an_event_after_the_terminal_is_reported(events: list[Event], data: Any) -> None:
    terminal = data.draw(
        st.sampled_from(
            [e for e in events if e["type"].startswith("agent_c") or e["type"] == "agent_error"]
        )
    )
    late = {**terminal, "type": "agent_thinking", "payload": {"thought": "late"}}
    damaged = [*events, {**late, "seq": len(events) + 1}]
    assert "after_terminal" in kinds(feed(checker_for(events), damaged))


def resequence(events: list[Event]) -> list[Event]:
    """Give ``events`` seq 1..N in their new order."""
    return [{**event, "seq": seq} for seq, event in enumerate(events, start=1)]


@given(streams(), st.data())
def test_a_run_that_does_not_start_first_is_reported(events: list[Event], data: Any) -> None:
    starts = [i for i, e in enumerate(events) if e["type"] == "agent_started"]
    start = data.draw(st.sampled_from(starts))
    later = [i for i, e in enumerate(events) if e["run_id"] == events[start]["run_id"]][1:]
    swap = data.draw(st.sampled_from(later))
    damaged = list(events)
    damaged[start], damaged[swap] = damaged[swap], damaged[start]
    assert "not_started_first" in kinds(feed(checker_for(events), resequence(damaged)))


@given(streams(), st.data())
def test_a_completed_tool_before_it_executed_is_reported(events: list[Event], data: Any) -> None:
    executing = [i for i, e in enumerate(events) if e["type"] == "tool_executing"]
    if not executing:
        return
    first = data.draw(st.sampled_from(executing))
    call = events[first]["payload"]["tool_call_id"]
    second = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "tool_completed" and e["payload"]["tool_call_id"] == call
    )
    damaged = list(events)
    damaged[first], damaged[second] = damaged[second], damaged[first]
    found = kinds(feed(checker_for(events), resequence(damaged)))
    assert "unpaired_tool" in found


@given(streams())
def test_another_users_run_is_reported(events: list[Event]) -> None:
    checker = checker_for(events)
    foreign = {
        **events[0],
        "type": "agent_started",
        "run_id": "bob-run",
        "payload": {"message_id": "bob-m0", "message": "x"},
    }
    damaged = [*events, {**foreign, "seq": len(events) + 1}]
    assert "foreign_run" in kinds(feed(checker, damaged))


@given(streams(), st.data())
def test_resume_with_overlap_loses_and_repeats_nothing(events: list[Event], data: Any) -> None:
    cut = data.draw(st.integers(0, len(events)))
    overlap = data.draw(st.integers(0, cut))
    checker = checker_for(events)
    for event in events[:cut]:
        checker.on_frame(event)
    reconnect = {"type": "connected", "user_id": USER, "epoch": EPOCH, "last_seq": len(events)}
    checker.on_frame(reconnect)
    replayed = [checker.on_frame(e) for e in events[cut - overlap :]]
    checker.finish()
    assert kinds(checker) == set()
    assert checker.duplicates == overlap
    assert replayed.count(Delivery.REPLAY) == len(events) - cut
    assert checker.events == len(events)


@settings(max_examples=50)
@given(st.lists(st.booleans(), min_size=1, max_size=6))
def test_ledger_allows_one_fresh_accept_per_message(duplicates: list[bool]) -> None:
    ledger = UserLedger(USER)
    ledger.record_send("m")
    for duplicate in duplicates:
        ledger.on_run_accepted({"message_id": "m", "run_id": "r", "duplicate": duplicate})
    fresh = duplicates.count(False)
    assert ledger.violations.by_kind["two_fresh_accepts"] == max(0, fresh - 1)
    assert ledger.duplicate_answers == duplicates.count(True)


def test_ledger_reports_two_run_ids_for_one_message() -> None:
    ledger = UserLedger(USER)
    ledger.record_send("m")
    ledger.on_run_accepted({"message_id": "m", "run_id": "r1", "duplicate": False})
    ledger.on_run_accepted({"message_id": "m", "run_id": "r2", "duplicate": True})
    assert set(ledger.violations.by_kind) == {"two_runs_one_message"}


def test_connected_for_another_user_or_a_lost_log_is_reported() -> None:
    events = run_events(0, 0, 0, "agent_completed")
    checker = checker_for(events)
    checker.on_frame({**events[0], "seq": 1})
    checker.on_frame({"type": "connected", "user_id": "bob", "epoch": "e2", "last_seq": 0})
    checker.on_frame({"type": "replay_gap", "requested_after": 1, "reason": "epoch"})
    checker.on_frame({"type": "replay_gap", "requested_after": 1, "reason": "retention"})
    assert dict(checker.violations.by_kind) == {
        "foreign_user": 1,
        "epoch_changed": 1,
        "replay_gap": 1,
    }


def test_a_new_epoch_for_a_log_that_held_nothing_is_not_a_loss() -> None:
    events = run_events(0, 1, 1, "agent_completed")
    checker = checker_for(events)
    checker.on_frame({"type": "connected", "user_id": USER, "epoch": "e2", "last_seq": 0})
    checker.on_frame({"type": "replay_gap", "requested_after": 0, "reason": "epoch"})
    feed(checker, [{**e, "seq": i} for i, e in enumerate(events, start=1)])
    assert kinds(checker) == set()
    assert (checker.empty_epoch_resets, checker.epoch) == (1, "e2")


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_are_ordered_and_taken_from_the_samples(values: list[float]) -> None:
    summary = summarize(values)
    assert min(values) <= summary.p50 <= summary.p95 <= summary.p99 <= summary.max
    assert summary.max == max(values)
    assert percentile(sorted(values), 0.5) in values


@given(st.integers(0, 9), st.integers(0, 9), st.integers(0, 500), st.integers(0, 1))
def test_profile_text_round_trips(thoughts: int, tools: int, delay: int, fail: int) -> None:
    profile = Profile(thoughts=thoughts, tools=tools, delay_ms=delay, fail=fail)
    assert parse_profile(profile.text) == profile
    assert profile.critical_per_run == 1 + thoughts + 2 * tools + (1 - fail)


@pytest.mark.parametrize("url", ["ws://10.0.0.1:8000", "ws://example.com:80", "wss://127.0.0.1:1"])
def test_non_loopback_targets_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_target(url)


def test_loopback_target_gets_the_ws_path() -> None:
    target = parse_target("ws://localhost:8000")
    assert (target.host, target.port, target.path) == ("127.0.0.1", 8000, "/ws")
