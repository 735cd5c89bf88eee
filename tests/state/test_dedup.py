"""Model-based tests for the idempotency table with an injected clock.

The same (user, message_id) within the window returns the first value and counts a
hit; once ``window`` seconds have passed a new claim succeeds; keys of different
users never collide, even when their message ids are equal.
"""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from wsao_trio._state.dedup import DedupTable

# Users and message ids that would collide under naive string concatenation.
USERS = ("alice", "bob", "a:b", "a")
MESSAGE_IDS = ("m1", "m2", "c", "b:c")


@attrs.define
class FakeClock:
    """A clock the test moves by hand."""

    now: float = 500.0

    def __call__(self) -> float:
        return self.now


class DedupMachine(RuleBasedStateMachine):
    """Claims, lookups and time against a dict model of live entries."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.window = 1.0
        self.table: DedupTable[int] = DedupTable(self.window, self.clock)
        self.model: dict[tuple[str, str], tuple[int, float]] = {}
        self.hits = 0
        self.counter = 0

    @initialize(window=st.sampled_from([0.5, 1.0, 10.0]) | st.floats(0.01, 100.0))
    def setup(self, window: float) -> None:
        self.window = window
        self.table = DedupTable(window, self.clock)

    def live(self, key: tuple[str, str]) -> int | None:
        entry = self.model.get(key)
        if entry is None or self.clock.now - entry[1] >= self.window:
            return None
        return entry[0]

    def live_count(self) -> int:
        return sum(self.live(key) is not None for key in self.model)

    @rule(user=st.sampled_from(USERS), message_id=st.sampled_from(MESSAGE_IDS))
    def claim(self, user: str, message_id: str) -> None:
        self.counter += 1
        expected = self.live((user, message_id))
        assert self.table.claim(user, message_id, self.counter) == expected
        if expected is None:
            self.model[(user, message_id)] = (self.counter, self.clock.now)
        else:
            self.hits += 1
        assert len(self.table) == self.live_count()

    @rule(user=st.sampled_from(USERS), message_id=st.sampled_from(MESSAGE_IDS))
    def lookup(self, user: str, message_id: str) -> None:
        assert self.table.lookup(user, message_id) == self.live((user, message_id))
        assert len(self.table) == self.live_count()

    @rule(step=st.sampled_from(["window", "half", "tiny"]) | st.floats(0.0, 50.0))
    def advance(self, step: str | float) -> None:
        if isinstance(step, str):
            step = {"window": self.window, "half": self.window / 2, "tiny": 1e-6}[step]
        self.clock.now += step

    @rule()
    def prune(self) -> None:
        before = len(self.table)
        dropped = self.table.prune(self.clock.now)
        assert len(self.table) == before - dropped == self.live_count()

    @invariant()
    def hits_counted_only_for_duplicate_claims(self) -> None:
        assert self.table.hits == self.hits

    @invariant()
    def never_holds_more_than_the_live_and_lazily_expired(self) -> None:
        assert self.live_count() <= len(self.table) <= len(self.model)


DedupMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestDedup = DedupMachine.TestCase


@given(
    st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4)), min_size=1, max_size=30),
    st.floats(0.01, 1000.0),
)
@settings(max_examples=60)
def test_first_value_wins_within_the_window(keys: list[tuple[str, str]], window: float) -> None:
    clock = FakeClock()
    table: DedupTable[int] = DedupTable(window, clock)
    first: dict[tuple[str, str], int] = {}
    for value, (user, message_id) in enumerate(keys):
        assert table.claim(user, message_id, value) == first.get((user, message_id))
        first.setdefault((user, message_id), value)
    assert table.hits == len(keys) - len(first)
    for (user, message_id), value in first.items():
        assert table.lookup(user, message_id) == value
    assert table.hits == len(keys) - len(first)  # lookups never count


def _first_time_at_least(start: float, elapsed: float) -> float:
    """The first float clock reading at which ``now - start >= elapsed``."""
    now = start + elapsed
    while now - start < elapsed:
        now = math.nextafter(now, math.inf)
    return now


@given(st.floats(0.01, 1000.0))
def test_a_new_claim_succeeds_once_the_window_has_passed(window: float) -> None:
    clock = FakeClock()
    table: DedupTable[str] = DedupTable(window, clock)
    start = clock.now
    assert table.claim("alice", "m", "run-1") is None
    clock.now = _first_time_at_least(start, window / 2)
    assert table.lookup("alice", "m") == "run-1"
    clock.now = _first_time_at_least(start, window)
    assert table.lookup("alice", "m") is None
    assert table.claim("alice", "m", "run-2") is None
    assert table.claim("alice", "m", "run-3") == "run-2"
    assert table.hits == 1


@given(st.text(), st.text(), st.text())
def test_different_users_never_collide(alice: str, bob: str, message_id: str) -> None:
    table: DedupTable[str] = DedupTable(60.0, FakeClock())
    assert table.claim(alice, message_id, "a") is None
    expected = "a" if alice == bob else None
    assert table.claim(bob, message_id, "b") == expected


@pytest.mark.parametrize("window", [0.0, -1.0])
def test_window_must_be_positive(window: float) -> None:
    with pytest.raises(ValueError):
        DedupTable(window, FakeClock())
