"""Sans-IO core of ``stress tokens``: a tab's deltas back into tokens, and the verdict.

The scripted agent's token mode (``app/agents/scripted.py``) streams token ``i`` as the
text ``"t{i} "`` at ``W + i/K`` (``W`` stated by the run's schedule thought). Deltas may
carry any number of tokens, or part of one (the library may merge a run's deltas under
load), so a :class:`TokenAssembler` keeps the unfinished tail of the text and completes
a token at the space that ends it; the token's receipt time is that of the frame that
completed it. :func:`compare_tokens` then judges the tokens against ``t0 … t{N-1}``:
missing, doubled, reordered and malformed tokens, and whether the text is identical.

Nothing here does I/O, so hypothesis drives it directly (``tests/stress/test_stress_tokens.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import attrs

SCHEDULE = re.compile(r"^scripted tokens: (\d+) at (\d+)/s from (\d+(?:\.\d+)?)$")
TOKEN = re.compile(r"^t(\d+)$")
SEPARATOR = " "


@attrs.frozen
class Schedule:
    """A token stream's schedule: ``tokens`` at ``rate``/s, token 0 at wall time ``origin``."""

    tokens: int
    rate: int
    origin: float

    def emit_time(self, index: int) -> float:
        """When token ``index`` was due (wall clock, s); all at ``origin`` when unpaced."""
        return self.origin + (index / self.rate if self.rate else 0.0)

    @property
    def nominal(self) -> float:
        """The stream's nominal duration, s: ``tokens / rate`` (0 when unpaced)."""
        return self.tokens / self.rate if self.rate else 0.0


def parse_schedule(thought: str) -> Schedule | None:
    """The schedule stated by a scripted ``agent_thinking``, or None for any other."""
    match = SCHEDULE.match(thought)
    if match is None:
        return None
    return Schedule(int(match[1]), int(match[2]), float(match[3]))


def expected_text(tokens: int) -> str:
    """The whole text of a ``tokens=N`` stream."""
    return "".join(f"t{i}{SEPARATOR}" for i in range(tokens))


@attrs.define
class TokenAssembler:
    """One tab's text, split into tokens as deltas arrive (any split, any merge)."""

    pending: str = ""
    tokens: list[str] = attrs.field(factory=list)
    received_at: list[float] = attrs.field(factory=list)

    def feed(self, text: str, at: float) -> int:
        """Add one delta's text received at ``at``; returns how many tokens it completed."""
        parts = (self.pending + text).split(SEPARATOR)
        self.pending = parts.pop()
        self.tokens.extend(parts)
        self.received_at.extend([at] * len(parts))
        return len(parts)

    def finish(self) -> None:
        """End of the stream: an unfinished tail counts as one (malformed) token."""
        if self.pending:
            self.tokens.append(self.pending)
            self.received_at.append(self.received_at[-1] if self.received_at else 0.0)
            self.pending = ""


def token_index(token: str, count: int) -> int | None:
    """The ``i`` of a well-formed token ``t{i}`` with ``i < count``, else None."""
    match = TOKEN.match(token)
    if match is None or len(match[1]) > len(str(count)):
        return None
    index = int(match[1])
    return index if index < count else None


@attrs.frozen
class TextCheck:
    """How one tab's tokens differ from ``t0 … t{N-1}``."""

    expected: int
    received: int
    missing: int
    doubled: int
    reordered: int
    malformed: int

    @property
    def identical(self) -> bool:
        """The tab assembled exactly the expected text."""
        return not (self.missing or self.doubled or self.reordered or self.malformed)


def compare_tokens(tokens: Sequence[str], count: int) -> TextCheck:
    """Judge ``tokens`` against the stream of ``count`` tokens.

    ``doubled``: occurrences beyond the first of a token; ``missing``: tokens never
    received; ``reordered``: first occurrences that come after a later token's;
    ``malformed``: anything not ``t{i}`` with ``i < count``.
    """
    indexes = [token_index(token, count) for token in tokens]
    seen: Counter[int] = Counter(i for i in indexes if i is not None)
    highest, reordered, firsts = -1, 0, set()
    for index in indexes:
        if index is None or index in firsts:
            continue
        firsts.add(index)
        reordered += index < highest
        highest = max(highest, index)
    return TextCheck(
        expected=count, received=len(tokens), missing=count - len(seen),
        doubled=sum(seen.values()) - len(seen), reordered=reordered,
        malformed=indexes.count(None),
    )  # fmt: skip


def token_latencies(assembler: TokenAssembler, schedule: Schedule) -> list[float]:
    """Milliseconds from each token's due time to its receipt (first occurrences only)."""
    out: list[float] = []
    firsts: set[int] = set()
    for token, at in zip(assembler.tokens, assembler.received_at, strict=True):
        index = token_index(token, schedule.tokens)
        if index is None or index in firsts:
            continue
        firsts.add(index)
        out.append((at - schedule.emit_time(index)) * 1000)
    return out
