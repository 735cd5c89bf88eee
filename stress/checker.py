"""Sans-IO validator of what one client receives: runs, seq, ownership, duplicates.

A :class:`UserLedger` holds what one user sent (message ids) and what the server
answered (``run_accepted``); it is shared by every connection lineage of that user, so
duplicate sends over several connections are judged together. A
:class:`StreamChecker` follows one lineage — a client connection and every reconnect
that resumes it — and checks each frame as it arrives:

- per-user ``seq`` is contiguous (a jump is a loss) and never repeats (a duplicate);
- every run starts with ``agent_started``, has exactly one terminal event and nothing
  after it; every ``tool_executing`` is paired with one ``tool_completed`` by
  ``tool_call_id`` before the terminal;
- every run belongs to one of this user's message ids, one run per message id, and the
  run ids agree with ``run_accepted``;
- ``connected`` names this user and the epoch never changes; ``replay_gap`` never comes.

Nothing here does I/O, so hypothesis drives it directly (``tests/stress/test_stress_checker.py``).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from wsao_trio.protocol import CRITICAL_EVENTS, TERMINAL_EVENTS

CRITICAL = CRITICAL_EVENTS
"""The events whose delivery counts (the vocabulary's ``critical`` column)."""
TERMINAL = TERMINAL_EVENTS
"""The events that end a run (the vocabulary's ``terminal`` column)."""
MAX_EXAMPLES = 20


class Delivery(enum.Enum):
    """What became of one received event."""

    LIVE = "live"
    REPLAY = "replay"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@attrs.define
class Violations:
    """Contract violations by kind, with the first few described for the report."""

    by_kind: Counter[str] = attrs.field(factory=Counter)
    examples: list[str] = attrs.field(factory=list)

    def add(self, kind: str, detail: str) -> None:
        """Record one violation of ``kind``."""
        self.by_kind[kind] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{kind}: {detail}")

    @property
    def count(self) -> int:
        """All violations recorded."""
        return sum(self.by_kind.values())

    def merge(self, other: Violations) -> None:
        """Fold ``other`` into this one (for the run's totals)."""
        self.by_kind.update(other.by_kind)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(0, room)])


@attrs.define
class UserLedger:
    """One user's sent message ids and the server's answers, across connections."""

    user_id: str
    sent: dict[str, int] = attrs.field(factory=dict)
    accepted: dict[str, str] = attrs.field(factory=dict)
    fresh: Counter[str] = attrs.field(factory=Counter)
    duplicate_answers: int = 0
    violations: Violations = attrs.field(factory=Violations)

    def record_send(self, message_id: str) -> None:
        """Note that ``message_id`` was sent (once more)."""
        self.sent[message_id] = self.sent.get(message_id, 0) + 1

    def on_run_accepted(self, frame: Mapping[str, Any]) -> None:
        """Check one ``run_accepted``: ours, one run id per message, one fresh accept."""
        message_id, run_id = frame.get("message_id"), frame.get("run_id")
        if not isinstance(message_id, str) or not isinstance(run_id, str):
            self.violations.add("bad_control_frame", repr(frame)[:200])
            return
        if message_id not in self.sent:
            self.violations.add("foreign_accept", f"{self.user_id} got {message_id}")
        prior = self.accepted.setdefault(message_id, run_id)
        if prior != run_id:
            self.violations.add("two_runs_one_message", f"{message_id}: {prior} / {run_id}")
        if frame.get("duplicate") is True:
            self.duplicate_answers += 1
        else:
            self.fresh[message_id] += 1
            if self.fresh[message_id] > 1:
                self.violations.add("two_fresh_accepts", message_id)


@attrs.define
class RunTrack:
    """What one lineage has seen of one run."""

    run_id: str
    message_id: str
    open_tools: set[str] = attrs.field(factory=set)
    seen_tools: set[str] = attrs.field(factory=set)
    terminal: str | None = None
    critical: int = 0


class StreamChecker:
    """One connection lineage's view of one user's event stream.

    Feed every received JSON object to :meth:`on_frame` in arrival order and call
    :meth:`on_connected` for each (re)connection; :meth:`finish` adds the checks that
    need the whole stream (every run terminated, run ids agree with the ledger).
    """

    def __init__(self, ledger: UserLedger) -> None:
        self.ledger = ledger
        self.violations = Violations()
        self.epoch: str | None = None
        self.cursor: int | None = None
        self.replay_until = 0
        self.connections = 0
        self.runs: dict[str, RunTrack] = {}
        self.message_runs: dict[str, str] = {}
        self.terminals: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.events = 0
        self.critical = 0
        self.duplicates = 0
        self.lost = 0
        self.replayed = 0
        self.empty_epoch_resets = 0
        self.epoch_reset = False
        self.node_lost_stamps: list[float] = []

    @property
    def last_seq(self) -> int:
        """The newest seq accepted so far (0 before any), to resume from."""
        return self.cursor or 0

    def on_connected(self, frame: Mapping[str, Any]) -> None:
        """Check a ``connected`` frame and set where replayed events end."""
        self.connections += 1
        if frame.get("user_id") != self.ledger.user_id:
            self.violations.add("foreign_user", f"{frame.get('user_id')!r}")
        epoch, last_seq = frame.get("epoch"), frame.get("last_seq")
        if not isinstance(epoch, str) or not isinstance(last_seq, int):
            self.violations.add("bad_control_frame", repr(frame)[:200])
            return
        if self.epoch is not None and epoch != self.epoch:
            self._new_epoch(epoch)
        self.epoch = epoch
        if self.cursor is None:
            self.cursor = last_seq
        self.replay_until = last_seq

    def _new_epoch(self, epoch: str) -> None:
        """The server's log for this user is a new one: only a loss if we had events.

        A log that never held an event may be forgotten and recreated (with a new
        epoch) while the user is away; nothing is lost, so it is counted, not flagged.
        Either way the client adopts the new epoch and follows the new seq sequence.
        """
        if self.cursor:
            self.violations.add("epoch_changed", f"{self.epoch} -> {epoch} after {self.cursor}")
        else:
            self.empty_epoch_resets += 1
        self.cursor = 0
        self.epoch_reset = True

    def on_frame(self, frame: Mapping[str, Any]) -> Delivery | None:
        """Check one received object; events return how they were delivered."""
        kind = frame.get("type")
        if "seq" in frame:
            return self.on_event(frame)
        if kind == "connected":
            self.on_connected(frame)
        elif kind == "run_accepted":
            self.ledger.on_run_accepted(frame)
        elif kind == "error":
            self.errors[str(frame.get("code"))] += 1
        elif kind == "replay_gap":
            self._gap(frame)
        return None

    def _gap(self, frame: Mapping[str, Any]) -> None:
        """A gap loses events unless it only announces the new epoch of an empty log."""
        benign = frame.get("reason") == "epoch" and self.epoch_reset
        if not benign:
            self.violations.add("replay_gap", repr(frame)[:200])
        self.epoch_reset = False

    def on_event(self, event: Mapping[str, Any]) -> Delivery:
        """Check one run event's seq, then its place in its run."""
        seq = event.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or self.cursor is None:
            self.violations.add("bad_envelope", repr(event)[:200])
            return Delivery.INVALID
        if seq <= self.cursor:
            self.duplicates += 1
            return Delivery.DUPLICATE
        if seq > self.cursor + 1:
            self.lost += seq - self.cursor - 1
            self.violations.add("seq_gap", f"{self.ledger.user_id}: {self.cursor} -> {seq}")
        self.cursor = seq
        self.events += 1
        self._run_event(event)
        if seq <= self.replay_until:
            self.replayed += 1
            return Delivery.REPLAY
        return Delivery.LIVE

    def _run_event(self, event: Mapping[str, Any]) -> None:
        kind, run_id = event.get("type"), event.get("run_id")
        payload = event.get("payload")
        if not isinstance(kind, str) or not isinstance(run_id, str):
            self.violations.add("bad_envelope", repr(event)[:200])
            return
        payload = payload if isinstance(payload, Mapping) else {}
        if kind in CRITICAL:
            self.critical += 1
        if kind == "agent_started":
            self._start(run_id, payload)
            return
        track = self.runs.get(run_id)
        if track is None:
            self.violations.add("not_started_first", f"{kind} of unknown run {run_id}")
        elif track.terminal is not None:
            self.violations.add("after_terminal", f"{kind} after {track.terminal} in {run_id}")
        else:
            self._step(track, kind, payload)
            if kind == "agent_error" and payload.get("code") == "node_lost":
                self.node_lost_stamps.append(float(event.get("timestamp") or 0.0))

    def _start(self, run_id: str, payload: Mapping[str, Any]) -> None:
        message_id = payload.get("message_id")
        if run_id in self.runs:
            self.violations.add("second_start", run_id)
            return
        if not isinstance(message_id, str) or message_id not in self.ledger.sent:
            self.violations.add("foreign_run", f"{run_id} for message {message_id!r}")
            message_id = str(message_id)
        prior = self.message_runs.setdefault(message_id, run_id)
        if prior != run_id:
            self.violations.add("two_runs_one_message", f"{message_id}: {prior} / {run_id}")
        self.runs[run_id] = RunTrack(run_id=run_id, message_id=message_id, critical=1)

    def _step(self, track: RunTrack, kind: str, payload: Mapping[str, Any]) -> None:
        if kind in CRITICAL:
            track.critical += 1
        call_id = payload.get("tool_call_id")
        if kind == "tool_executing":
            if not isinstance(call_id, str) or call_id in track.seen_tools:
                self.violations.add("bad_tool_call_id", f"{track.run_id}: {call_id!r}")
            track.seen_tools.add(str(call_id))
            track.open_tools.add(str(call_id))
        elif kind == "tool_completed":
            if call_id not in track.open_tools:
                self.violations.add("unpaired_tool", f"{track.run_id}: {call_id!r}")
            track.open_tools.discard(str(call_id))
        elif kind in TERMINAL:
            if track.open_tools:
                self.violations.add("open_tool_at_terminal", f"{track.run_id}")
            track.terminal = kind
            self.terminals[kind] += 1

    def has_ended(self, message_id: str) -> bool:
        """Whether this lineage has seen the terminal event of ``message_id``'s run."""
        run_id = self.message_runs.get(message_id)
        track = self.runs.get(run_id) if run_id is not None else None
        return track is not None and track.terminal is not None

    @property
    def runs_ended(self) -> int:
        """Runs of this lineage that have their terminal event."""
        return sum(self.terminals.values())

    def finish(self) -> None:
        """Whole-stream checks: every run ended, run ids agree with ``run_accepted``."""
        for track in self.runs.values():
            if track.terminal is None:
                self.violations.add("missing_terminal", track.run_id)
        for message_id, run_id in self.ledger.accepted.items():
            seen = self.message_runs.get(message_id)
            if seen is None:
                self.violations.add("accepted_run_not_seen", f"{message_id} ({run_id})")
            elif seen != run_id:
                self.violations.add("run_id_mismatch", f"{message_id}: {run_id} / {seen}")
