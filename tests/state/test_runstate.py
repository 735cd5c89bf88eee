"""Exhaustive and property tests for the run state machine.

Every (current, target) pair either transitions exactly as the table in
``runstate``'s docstring says or raises :class:`IllegalTransition`; terminal
states have no exits, and every terminal state has its terminal event.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsao_trio._state.runstate import TERMINAL_EVENT_FOR, TRANSITIONS, RunState, check_transition
from wsao_trio.errors import IllegalTransition, ServerError
from wsao_trio.protocol import TERMINAL_EVENTS

P, R, C, F, X = (
    RunState.PENDING,
    RunState.RUNNING,
    RunState.COMPLETED,
    RunState.FAILED,
    RunState.CANCELLED,
)
# The diagram, written out independently of the module's table.
LEGAL = frozenset({(P, R), (P, F), (P, X), (R, C), (R, F), (R, X)})
TERMINAL = frozenset({C, F, X})
PAIRS = list(itertools.product(RunState, RunState))


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=lambda s: s.value)
def test_every_pair_transitions_or_raises(current: RunState, target: RunState) -> None:
    if (current, target) in LEGAL:
        assert check_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        assert current.value in str(info.value) and target.value in str(info.value)
        assert isinstance(info.value, ServerError)


@pytest.mark.parametrize("state", list(RunState), ids=lambda s: s.value)
def test_terminal_states_have_no_exits(state: RunState) -> None:
    assert state.is_terminal == (state in TERMINAL)
    assert (not TRANSITIONS[state]) == state.is_terminal
    if state.is_terminal:
        for target in RunState:
            with pytest.raises(IllegalTransition):
                check_transition(state, target)


def test_no_self_transitions_and_table_matches_diagram() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL
    assert all((s, s) not in table for s in RunState)
    assert set(TRANSITIONS) == set(RunState)


def test_every_terminal_state_has_its_terminal_event() -> None:
    assert set(TERMINAL_EVENT_FOR) == TERMINAL
    assert set(TERMINAL_EVENT_FOR.values()) == TERMINAL_EVENTS
    assert TERMINAL_EVENT_FOR[C] == "agent_completed"
    assert TERMINAL_EVENT_FOR[F] == "agent_error"
    assert TERMINAL_EVENT_FOR[X] == "agent_cancelled"


@given(st.lists(st.sampled_from(list(RunState)), max_size=12))
def test_any_walk_ends_in_at_most_one_terminal_state(targets: list[RunState]) -> None:
    state, path = P, [P]
    for target in targets:
        try:
            state = check_transition(state, target)
        except IllegalTransition:
            assert (state, target) not in LEGAL
            continue
        path.append(state)
    assert sum(s.is_terminal for s in path) <= 1
    assert len(path) <= 3
    assert path == sorted(path, key=lambda s: (s is not P, s.is_terminal))
