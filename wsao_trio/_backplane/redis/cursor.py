"""Sans-IO: what a process does with an event arriving on its fan-out channel.

Each process keeps, per user it serves, the last seq it handed to its connections.
An arriving event is the next one (deliver), an old one (ignore: a fill already
delivered it), one after a jump (fill the missing seqs from the stream first), or
one of another epoch (the log was lost: the user's connections must resume).
"""

from __future__ import annotations

import enum

import attrs


class Arrival(enum.Enum):
    """How an arriving event relates to what was delivered."""

    NEXT = "next"
    OLD = "old"
    JUMP = "jump"
    NEW_EPOCH = "new_epoch"


@attrs.define
class Cursor:
    """The last (epoch, seq) of a user this process has delivered to its connections."""

    epoch: str
    seq: int

    def classify(self, epoch: str, seq: int) -> Arrival:
        """Where an event with ``seq`` in ``epoch`` stands against the cursor."""
        if epoch != self.epoch:
            return Arrival.NEW_EPOCH
        if seq <= self.seq:
            return Arrival.OLD
        return Arrival.NEXT if seq == self.seq + 1 else Arrival.JUMP
