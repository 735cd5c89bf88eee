"""The run state machine, sans-IO: one transition table, no I/O.

::

    pending ──start──▶ running ──complete──▶ completed
       │                  ├──────fail────▶ failed
       └──────cancel──────┴─────cancel───▶ cancelled

``pending`` may also fail (the agent could not be found) or be cancelled before it
starts. Terminal states have no way out; every illegal change raises
:class:`~wsao_trio.errors.IllegalTransition`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from wsao_trio.errors import IllegalTransition


class RunState(enum.Enum):
    """Where a run is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True once the run has ended; no transition leaves a terminal state."""
        return not TRANSITIONS[self]


TRANSITIONS: Final[Mapping[RunState, frozenset[RunState]]] = MappingProxyType(
    {
        RunState.PENDING: frozenset({RunState.RUNNING, RunState.FAILED, RunState.CANCELLED}),
        RunState.RUNNING: frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED}),
        RunState.COMPLETED: frozenset(),
        RunState.FAILED: frozenset(),
        RunState.CANCELLED: frozenset(),
    }
)

TERMINAL_EVENT_FOR: Final[Mapping[RunState, str]] = MappingProxyType(
    {
        RunState.COMPLETED: "agent_completed",
        RunState.FAILED: "agent_error",
        RunState.CANCELLED: "agent_cancelled",
    }
)


def check_transition(current: RunState, target: RunState) -> RunState:
    """Return ``target`` if ``current → target`` is legal, else raise IllegalTransition."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"run cannot go from {current.value} to {target.value}")
    return target
