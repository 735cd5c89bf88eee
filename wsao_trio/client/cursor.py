"""Where a client stands in its user's event sequence, and what it still owes (sans-IO).

:class:`Cursor` holds the epoch and the last seq taken, so that a reconnect resumes
exactly after it and a copy (a replay overlapping what arrived, two tabs' resumes)
is dropped; a ``connected`` frame naming another epoch means the server's log was
lost, so the cursor starts over in the new log (the server's ``replay_gap`` says so
too). :class:`Outbox` holds every ``user_message`` whose ``run_accepted`` has not
been seen: after a reconnect each is sent again with its ``message_id``, so one
message never starts two runs and none is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.define
class Cursor:
    """The user's epoch, the last seq taken, the last seq acked, and the gaps seen."""

    epoch: str | None = None
    last_seq: int | None = None
    acked: int = 0
    gaps: list[dict[str, Any]] = attrs.field(factory=list)

    def resume_query(self) -> dict[str, str]:
        """``last_seq`` and ``epoch`` to reconnect with (nothing before the first connect,
        unless the cursor was started at a seq)."""
        if self.last_seq is None:
            return {}
        query = {"last_seq": str(self.last_seq)}
        if self.epoch is not None:
            query["epoch"] = self.epoch
        return query

    def connected(self, frame: Mapping[str, Any]) -> None:
        """Take the server's ``connected`` frame: its epoch, and where to start."""
        epoch = str(frame.get("epoch"))
        if self.last_seq is None:
            self.last_seq = int(frame.get("last_seq") or 0)  # live from here on
        elif self.epoch is not None and epoch != self.epoch:
            self.last_seq, self.acked = 0, 0  # a new log: its seqs start again at 1
        self.epoch = epoch

    def take(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` is new (its seq is past the last taken); a copy is not."""
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= (self.last_seq or 0):
            return False
        self.last_seq = seq
        return True

    def gap(self, frame: Mapping[str, Any]) -> None:
        """Record a ``replay_gap``: events the server no longer holds."""
        self.gaps.append(dict(frame))

    def ack_due(self) -> int | None:
        """The seq to acknowledge now, or None when everything taken is acked."""
        last = self.last_seq or 0
        return last if last > self.acked else None

    def acked_to(self, seq: int) -> None:
        """Record that an ack up to ``seq`` was sent."""
        self.acked = max(self.acked, seq)


@attrs.frozen
class Accepted:
    """The server's answer to a sent message: the run it started (or had started)."""

    message_id: str
    run_id: str
    thread_id: str
    duplicate: bool


@attrs.define
class Outbox:
    """``user_message`` frames sent or to send, until their ``run_accepted`` comes."""

    pending: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def add(self, frame: dict[str, Any]) -> None:
        """Hold ``frame`` (keyed by its ``message_id``) until it is answered."""
        self.pending[str(frame["message_id"])] = frame

    def answered(self, message_id: str) -> dict[str, Any] | None:
        """Forget the frame of ``message_id`` (answered: accepted or refused)."""
        return self.pending.pop(message_id, None)

    def to_resend(self) -> list[dict[str, Any]]:
        """Every unanswered frame, oldest first: what a fresh connection sends again."""
        return list(self.pending.values())


def accepted_of(frame: Mapping[str, Any]) -> Accepted:
    """The :class:`Accepted` of a ``run_accepted`` frame."""
    return Accepted(
        str(frame["message_id"]),
        str(frame["run_id"]),
        str(frame.get("thread_id", "")),
        bool(frame.get("duplicate")),
    )
