"""Model-based tests for the per-user event log: seqs, retention, replay, acks.

A hypothesis state machine drives a real :class:`UserEventLog` with an injected
clock and compares it to a plain-list model: seqs go up by exactly 1 from 1; a
replay after N returns exactly the held events with ``seq > N`` in order, with no
gap iff ``oldest - 1 <= N <= last_seq`` and the epoch matches (or is not given);
retention never holds more than ``max_events`` events nor, at a prune point,
events older than ``max_age``; acks are monotone and clamped to ``last_seq``.
"""

from __future__ import annotations

import json

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wsao_trio._state.eventlog import EventDraft, Gap, UserEventLog
from wsao_trio.protocol import Event

EPOCH = "epoch-a"


@attrs.define
class FakeClock:
    """A clock the test moves by hand."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def _draft(n: int) -> EventDraft:
    return EventDraft(
        type="agent_thinking",
        run_id=f"run-{n % 3}",
        thread_id="thread",
        agent_type="scripted",
        payload={"thought": f"t{n}\nline two"},
    )


class EventLogMachine(RuleBasedStateMachine):
    """Drives one log and a list model through appends, time, replays and acks."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.log = UserEventLog("u", EPOCH, max_events=1, max_age=1.0, clock=self.clock)
        self.max_events = 1
        self.max_age = 1.0
        self.appended: list[tuple[int, float]] = []  # (seq, timestamp) of every append
        self.dropped_through = 0  # the model's highest seq no longer held
        self.acked = 0

    @initialize(
        max_events=st.integers(min_value=1, max_value=8),
        max_age=st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0]),
    )
    def setup(self, max_events: int, max_age: float) -> None:
        self.max_events = max_events
        self.max_age = max_age
        self.log = UserEventLog(
            "u", EPOCH, max_events=max_events, max_age=max_age, clock=self.clock
        )

    # --- the model ---------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return len(self.appended)

    def held(self) -> list[tuple[int, float]]:
        return [entry for entry in self.appended if entry[0] > self.dropped_through]

    def model_prune(self) -> None:
        held = self.held()
        while held and (len(held) > self.max_events or self.clock.now - held[0][1] > self.max_age):
            held.pop(0)
            self.dropped_through += 1

    def check_held(self, events: tuple[Event, ...] | list[Event]) -> None:
        assert [(e.seq, e.timestamp) for e in events] == self.held()

    def check_retention_bounds(self) -> None:
        events = list(self.log)
        assert len(events) <= self.max_events
        assert all(self.clock.now - e.timestamp <= self.max_age for e in events)

    # --- rules -------------------------------------------------------------------

    @rule(n=st.integers(min_value=0, max_value=10**6))
    def append(self, n: int) -> None:
        event = self.log.append(_draft(n))
        self.appended.append((self.last_seq + 1, self.clock.now))
        self.model_prune()
        assert event.seq == self.last_seq == self.log.last_seq
        assert event.timestamp == self.clock.now
        assert event.user_id == "u"
        wire = json.loads(event.text)
        assert "user_id" not in wire
        assert (wire["seq"], wire["event_id"], wire["payload"]) == (
            event.seq,
            f"{self.log.epoch}-{event.seq}",
            {"thought": f"t{n}\nline two"},
        )
        assert "\n" not in event.text
        self.check_held(list(self.log))
        self.check_retention_bounds()

    @rule(
        step=st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0, 10.0])
        | st.floats(min_value=0.0, max_value=20.0)
    )
    def advance(self, step: float) -> None:
        self.clock.now += step

    @rule(
        offset=st.integers(min_value=-3, max_value=3),
        anchor=st.sampled_from(["start", "oldest", "last"]),
        epoch=st.sampled_from([EPOCH, "epoch-b", None]),
    )
    def replay(self, offset: int, anchor: str, epoch: str | None) -> None:
        self.model_prune()
        held = self.held()
        oldest = held[0][0] if held else self.last_seq + 1
        base = {"start": 0, "oldest": oldest - 1, "last": self.last_seq}[anchor]
        after = base + offset
        result = self.log.replay(after, epoch)
        self.check_held(list(self.log))
        self.check_retention_bounds()
        if epoch == "epoch-b" or after > self.last_seq:
            assert result.gap == Gap(after, oldest, "epoch")
            self.check_held(result.events)
        elif after < oldest - 1:
            assert result.gap == Gap(after, oldest, "retention")
            self.check_held(result.events)
            assert all(e.seq > after for e in result.events)
        else:
            assert result.gap is None
            expected = [entry for entry in held if entry[0] > after]
            assert [(e.seq, e.timestamp) for e in result.events] == expected

    @rule(seq=st.integers(min_value=-5, max_value=60))
    def ack(self, seq: int) -> None:
        before = self.log.acked_seq
        self.acked = max(self.acked, min(seq, self.last_seq))
        assert self.log.ack(seq) == self.acked == self.log.acked_seq
        assert before <= self.log.acked_seq <= self.log.last_seq

    @precondition(lambda self: self.last_seq > 0)
    @rule()
    def ack_everything(self) -> None:
        assert self.log.ack(self.last_seq + 100) == self.last_seq
        self.acked = self.last_seq

    # --- invariants --------------------------------------------------------------

    @invariant()
    def seqs_are_contiguous_and_bounded(self) -> None:
        seqs = [e.seq for e in self.log]
        assert seqs == list(range(self.log.oldest_seq, self.log.last_seq + 1))
        assert len(self.log) == len(seqs) <= self.max_events
        assert self.log.idle == (not seqs)
        assert self.log.last_seq == self.last_seq

    @invariant()
    def acks_are_clamped(self) -> None:
        assert 0 <= self.log.acked_seq <= self.log.last_seq


EventLogMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestEventLog = EventLogMachine.TestCase


# --- plain examples ------------------------------------------------------------------


def test_empty_log_replays_nothing_without_gap() -> None:
    log = UserEventLog("u", EPOCH, max_events=5, max_age=10, clock=FakeClock())
    result = log.replay(0)
    assert result.gap is None and result.events == ()
    assert log.oldest_seq == 1 and log.idle


def test_everything_aged_out_gives_a_retention_gap() -> None:
    clock = FakeClock()
    log = UserEventLog("u", EPOCH, max_events=5, max_age=10, clock=clock)
    for n in range(3):
        log.append(_draft(n))
    clock.now += 11
    assert log.replay(0) == log.replay(0, EPOCH)
    result = log.replay(1, EPOCH)
    assert result.gap == Gap(1, 4, "retention") and result.events == ()
    assert log.replay(3).gap is None


def test_other_epoch_gets_every_held_event_with_an_epoch_gap() -> None:
    log = UserEventLog("u", EPOCH, max_events=2, max_age=10, clock=FakeClock())
    events = [log.append(_draft(n)) for n in range(4)]
    result = log.replay(3, "other")
    assert result.gap == Gap(3, 3, "epoch")
    assert result.events == tuple((e.seq, e.timestamp, e.text) for e in events[2:])


def test_events_exactly_max_age_old_are_kept() -> None:
    clock = FakeClock()
    log = UserEventLog("u", EPOCH, max_events=5, max_age=2.0, clock=clock)
    log.append(_draft(1))
    clock.now += 2.0
    assert log.replay(0).gap is None and len(log.replay(0).events) == 1
