"""The scripted agent's profile (``"thoughts=3 tools=3 delay_ms=20"``), sans-IO.

The harness sends the profile as the run's ``text`` with ``agent_type: "scripted"``
and derives from it how many events each run must deliver, so delivery success is
measured against what the contract promises rather than against what arrived.
"""

from __future__ import annotations

import attrs

from app.agents.scripted import parse_script


@attrs.frozen
class Profile:
    """The knobs of one scripted run, with the contract's defaults."""

    thoughts: int = 1
    tools: int = 1
    delay_ms: int = 0
    fail: int = 0
    deltas: int = 0
    tokens: int = 0
    rate: int = 0

    @property
    def text(self) -> str:
        """The ``text`` of the ``user_message`` that asks for this profile."""
        parts = [f"thoughts={self.thoughts}", f"tools={self.tools}", f"delay_ms={self.delay_ms}"]
        if self.fail:
            parts.append("fail=1")
        if self.deltas:
            parts.append(f"deltas={self.deltas}")
        if self.tokens:
            parts.append(f"tokens={self.tokens} rate={self.rate}")
        return " ".join(parts)

    @property
    def critical_per_run(self) -> int:
        """Critical events of one run: started, thoughts (with the token schedule's),
        tool pairs, completed."""
        completed = 0 if self.fail else 1
        return 1 + self.thoughts + (1 if self.tokens else 0) + 2 * self.tools + completed

    @property
    def events_per_run(self) -> int:
        """Every event of one run, deltas and the terminal included (token deltas
        unmerged: one event per token)."""
        tokens = 1 + self.tokens if self.tokens else 0
        return 2 + self.thoughts + 2 * self.tools + self.deltas + tokens

    @property
    def terminal(self) -> str:
        """The terminal event type a run of this profile ends with."""
        return "agent_error" if self.fail else "agent_completed"


def parse_profile(text: str) -> Profile:
    """Parse a profile with the scripted agent's own parser, so both read it alike.

    Raises ValueError for what the agent would refuse (unknown or repeated keys,
    non-integers, values out of range).
    """
    script = parse_script(text)
    return Profile(
        thoughts=script.thoughts,
        tools=script.tools,
        delay_ms=script.delay_ms,
        fail=int(script.fail),
        deltas=script.deltas,
        tokens=script.tokens,
        rate=script.rate,
    )
