"""The Redis backplane's sans-IO parts: event text around a seq, messages, the cursor."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from wsao_trio._backplane.redis.cursor import Arrival, Cursor
from wsao_trio._backplane.redis.keys import Keys
from wsao_trio._backplane.redis.wire import (
    AckNotice,
    FanoutEvent,
    StopRequest,
    parse_message,
    split_event,
    stop_message,
)
from wsao_trio._state.eventlog import EventDraft
from wsao_trio.protocol import encode_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
ids = st.text(alphabet="abcdef0123456789", min_size=1, max_size=12)


@given(
    kind=st.sampled_from(["agent_thinking", "tool_completed", "agent_message_delta"]),
    run_id=ids,
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    timestamp=st.floats(min_value=0, max_value=4e9),
    epoch=ids,
    seq=st.integers(min_value=1, max_value=2**62),
)
def test_joined_text_is_exactly_the_encoded_event(
    kind: str, run_id: str, payload: dict[str, Any], timestamp: float, epoch: str, seq: int
) -> None:
    draft = EventDraft(kind, run_id, "t1", "scripted", payload)
    wire = {
        "type": kind,
        "seq": seq,
        "event_id": f"{epoch}-{seq}",
        "run_id": run_id,
        "thread_id": "t1",
        "agent_type": "scripted",
        "timestamp": timestamp,
        "payload": payload,
    }
    text = split_event(draft, timestamp).join(epoch, seq)
    assert text == encode_event(wire)
    assert "\t" not in text and json.loads(text)["seq"] == seq


@given(user=ids, epoch=ids, seq=st.integers(1, 2**62), text=st.text())
def test_fanout_messages_parse_back(user: str, epoch: str, seq: int, text: str) -> None:
    encoded = json.dumps(text)  # event texts are ASCII JSON: no raw tab
    data = "\t".join(("e", user, epoch, str(seq), repr(1.5), encoded))
    assert parse_message(data) == FanoutEvent(user, epoch, seq, 1.5, encoded)
    assert parse_message(stop_message(user, "r1", "user")) == StopRequest(user, "r1", "user")
    assert parse_message(f"a\t{user}\t{seq}") == AckNotice(user, seq)


@given(st.text())
def test_garbage_on_the_channel_is_ignored_not_raised(data: str) -> None:
    assert parse_message(data) is None or data.startswith(("e\t", "s\t", "a\t"))


@given(seq=st.integers(0, 100), arriving=st.integers(1, 102))
def test_cursor_classifies_every_arrival(seq: int, arriving: int) -> None:
    cursor = Cursor("e1", seq)
    arrival = cursor.classify("e1", arriving)
    expected = Arrival.OLD if arriving <= seq else Arrival.NEXT
    if arriving > seq + 1:
        expected = Arrival.JUMP
    assert arrival is expected
    assert cursor.classify("e2", arriving) is Arrival.NEW_EPOCH


def test_a_users_keys_share_one_cluster_slot() -> None:
    keys = Keys()
    names = [keys.meta("u"), keys.log("u"), keys.presence("u"), keys.user_runs("u")]
    assert {name.split("{")[1].split("}")[0] for name in names} == {"u"}
