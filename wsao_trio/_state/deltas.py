"""Merging a run's answer deltas under load (sans-IO).

Answer tokens are what a chat service mostly sends: each ``agent_message_delta`` is
one seq, one log entry and one write per connection. :class:`DeltaMerger` decides,
for one run, which deltas go out as they come and which wait to be merged:

- the first delta of a run, and the first after any other event of the run, goes out
  at once (time to first token never grows);
- a later delta goes out at once too, unless the events before it are still on their
  way (``behind``: not yet stored, or queued for a connection's sender): then it is
  held, and the deltas that follow join it, in order, into one text;
- what is held goes out when a delta finds the way clear, when it would grow past
  ``max_bytes`` (the new piece then starts the next hold), when ``max_delay``
  seconds have passed since the hold began (:meth:`due`; the caller's timer), or
  before any other event of the run (:meth:`interrupt`), so merging never crosses
  another event;
- ``max_delay`` 0 turns merging off: every delta goes out as it comes.

The text a client assembles is the same for any split, timing and interleaving
(tests/state/test_deltas.py proves it with hypothesis).
"""

from __future__ import annotations

import attrs


@attrs.define
class DeltaMerger:
    """One run's held answer text and the rule for letting it go."""

    max_delay: float
    max_bytes: int
    pieces: list[str] = attrs.field(factory=list)
    size: int = 0
    since: float | None = None  # when the current hold began; None when nothing is held
    streaming: bool = False  # the run's last event was a delta
    merged: int = 0  # deltas that went out inside another (for stats)

    @property
    def deadline(self) -> float | None:
        """When what is held must go out at the latest; None when nothing is held."""
        return None if self.since is None else self.since + self.max_delay

    def offer(self, text: str, now: float, behind: bool) -> list[str]:
        """Take a delta; the texts to publish now, in order (possibly none)."""
        first, self.streaming = not self.streaming, True
        if self.since is None:
            if first or not behind or self.max_delay <= 0:
                return [text]
            self._hold(text, now)
            return []
        out: list[str] = []
        if self.size + len(text.encode()) > self.max_bytes:
            out.append(self._take())
            self._hold(text, now)
        else:
            self._join(text)
        if not behind or now >= (self.deadline or now):
            out.append(self._take())
        return out

    def due(self, now: float) -> str | None:
        """What is held, if its deadline has come (the caller's timer fired)."""
        deadline = self.deadline
        return self._take() if deadline is not None and now >= deadline else None

    def interrupt(self) -> str | None:
        """Another event of the run comes next: what is held goes out before it."""
        self.streaming = False
        return self._take() if self.since is not None else None

    def _hold(self, text: str, now: float) -> None:
        self.pieces, self.size, self.since = [text], len(text.encode()), now

    def _join(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text.encode())
        self.merged += 1

    def _take(self) -> str:
        text = "".join(self.pieces)
        self.pieces, self.size, self.since = [], 0, None
        return text
