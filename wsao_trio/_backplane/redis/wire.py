"""Sans-IO encoding for the Redis backplane: event text around a seq, fan-out messages.

Redis assigns the seq inside the publish script, so the process sends the event's
JSON in three pieces — before the seq, between seq and epoch, after the event id —
and the script (and this module, for the returned :class:`Event`) joins them. The
joined text is byte for byte what :func:`~wsao_trio.protocol.encode_event` gives.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs

from wsao_trio._state.eventlog import EventDraft
from wsao_trio.protocol import dumps

MID = ',"event_id":"'
SEP = "\t"


@attrs.frozen
class EventPieces:
    """An event's JSON without its seq and event id: ``head SEQ mid EPOCH-SEQ tail``."""

    head: str
    tail: str

    def join(self, epoch: str, seq: int) -> str:
        """The event's full text once the store gave it ``seq`` in ``epoch``."""
        return f"{self.head}{seq}{MID}{epoch}-{seq}{self.tail}"


def split_event(draft: EventDraft, timestamp: float) -> EventPieces:
    """Encode ``draft`` at ``timestamp`` leaving room for the seq and the event id."""
    rest = {
        "run_id": draft.run_id,
        "thread_id": draft.thread_id,
        "agent_type": draft.agent_type,
        "timestamp": timestamp,
        "payload": draft.payload,
    }
    head = '{"type":' + dumps(draft.type) + ',"seq":'
    return EventPieces(head, '",' + dumps(rest)[1:])


class FanoutEvent(NamedTuple):
    """An event as a process receives it from its fan-out channel."""

    user_id: str
    epoch: str
    seq: int
    timestamp: float
    text: str


class StopRequest(NamedTuple):
    """A request from another process to stop one of this process's runs."""

    user_id: str
    run_id: str
    reason: str


class AckNotice(NamedTuple):
    """A user's client acknowledged every event up to ``seq`` on another process."""

    user_id: str
    seq: int


def stop_message(user_id: str, run_id: str, reason: str) -> str:
    """The control message asking a run's owner to stop it."""
    return SEP.join(("s", user_id, run_id, reason))


def parse_message(data: str) -> FanoutEvent | StopRequest | AckNotice | None:
    """Decode a message of a node's channel; None for anything malformed."""
    kind, _, rest = data.partition(SEP)
    try:
        if kind == "e":
            user_id, epoch, seq, timestamp, text = rest.split(SEP, 4)
            return FanoutEvent(user_id, epoch, int(seq), float(timestamp), text)
        if kind == "s":
            user_id, run_id, reason = rest.split(SEP, 2)
            return StopRequest(user_id, run_id, reason)
        if kind == "a":
            user_id, seq = rest.split(SEP, 1)
            return AckNotice(user_id, int(seq))
    except ValueError:
        return None
    return None
