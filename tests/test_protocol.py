"""Property tests for the sans-IO wire protocol: parsing, error codes and encoders.

Every row of PROTOCOL.md's "Bad input" table that can be decided without I/O is
checked here: not JSON / not an object / binary → ``invalid_json``; unknown ``type``
→ ``unknown_type``; a missing or mistyped field or empty ``text`` →
``invalid_message`` naming the field, with ``ref`` set when the frame names a
``message_id`` or ``run_id``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.support.fuzzframes import is_json
from wsao_trio.errors import ClientError, InvalidJson, InvalidMessage, UnknownType
from wsao_trio.protocol import (
    CLIENT_FRAME_TYPES,
    MAX_ID_LENGTH,
    TERMINAL_EVENTS,
    Ack,
    Auth,
    Event,
    Ping,
    Resume,
    StopAgent,
    UserMessage,
    connected_frame,
    dumps,
    encode_event,
    error_frame,
    finite_only,
    join_frames,
    parse_client_frame,
    pong_frame,
    replay_gap_frame,
    run_accepted_frame,
    split_frames,
)

# --- strategies ----------------------------------------------------------------------

ids = st.text(min_size=1, max_size=MAX_ID_LENGTH)
texts = st.text(min_size=1).filter(lambda t: bool(t.strip()))
seqs = st.integers(min_value=0, max_value=2**63 - 1)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# Text including lone surrogates, U+2028/U+2029 and raw newlines: what payloads may hold.
SPECIAL_CHARS = ("\n", "\r", "\u2028", "\u2029", "\ud800", "\udfff", "\x00", '"', "\\", "é", "✓")
# st.text() would merge the alphabets and almost never pick the special characters.
wild_text = st.lists(
    st.sampled_from(SPECIAL_CHARS) | st.characters(codec=None, exclude_categories=()),
    max_size=12,
).map("".join)
wild_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | wild_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(wild_text, inner, max_size=4),
    max_leaves=12,
)


_ABSENT = object()
_KNOWN = frozenset(
    {"type", "message_id", "text", "thread_id", "agent_type", "run_id", "seq", "last_seq", "token"}
    | {"epoch", "id"}
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent (a sentinel), explicit null, or a value."""
    return st.just(_ABSENT) | st.none() | strategy


def _frame(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **{k: v for k, v in fields.items() if v is not _ABSENT}}


valid_frames = st.one_of(
    st.builds(
        lambda m, t, th, a: _frame(
            "user_message", message_id=m, text=t, thread_id=th, agent_type=a
        ),
        ids,
        texts,
        _optional(ids),
        _optional(ids),
    ),
    st.builds(lambda r: _frame("stop_agent", run_id=r), ids),
    st.builds(lambda s: _frame("ack", seq=s), seqs),
    st.builds(lambda s, e: _frame("resume", last_seq=s, epoch=e), seqs, _optional(ids)),
    st.builds(lambda i: _frame("ping", id=i), _optional(ids)),
    st.builds(lambda t: _frame("auth", token=t), st.text(min_size=1, max_size=4096)),
)

REQUIRED = {
    "user_message": ("message_id", "text"),
    "stop_agent": ("run_id",),
    "ack": ("seq",),
    "resume": ("last_seq",),
    "ping": (),
    "auth": ("token",),
}
INT_FIELDS = frozenset({"seq", "last_seq"})


def _expected(obj: dict[str, Any]) -> object:
    kind = obj["type"]
    if kind == "user_message":
        return UserMessage(
            obj["message_id"], obj["text"], obj.get("thread_id"), obj.get("agent_type")
        )
    if kind == "stop_agent":
        return StopAgent(obj["run_id"])
    if kind == "ack":
        return Ack(obj["seq"])
    if kind == "resume":
        return Resume(obj["last_seq"], obj.get("epoch"))
    if kind == "auth":
        return Auth(obj["token"])
    return Ping(obj.get("id"))


def _expected_ref(obj: dict[str, Any]) -> str | None:
    for key in ("message_id", "run_id"):
        value = obj.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
            return value
    return None


# --- valid frames ----------------------------------------------------------------------


@given(valid_frames, st.dictionaries(st.text().filter(lambda k: k not in _KNOWN), json_values))
def test_valid_frames_round_trip(obj: dict[str, Any], extra: dict[str, Any]) -> None:
    frame = parse_client_frame(json.dumps({**extra, **obj}))
    assert frame == _expected(obj)


@given(valid_frames)
def test_valid_frames_parse_from_non_ascii_json(obj: dict[str, Any]) -> None:
    assert parse_client_frame(json.dumps(obj, ensure_ascii=False)) == _expected(obj)


def test_all_client_frame_types_are_covered() -> None:
    assert frozenset(REQUIRED) == CLIENT_FRAME_TYPES


# --- never raises anything but the three parse errors ----------------------------------

PARSE_ERRORS = (InvalidJson, UnknownType, InvalidMessage)


def _parse_or_error(data: str | bytes) -> ClientError | object:
    try:
        return parse_client_frame(data)
    except ClientError as exc:
        assert isinstance(exc, PARSE_ERRORS), type(exc)
        assert exc.code in {"invalid_json", "unknown_type", "invalid_message"}
        assert isinstance(exc.message, str)
        return exc


@given(st.text())
def test_arbitrary_text_only_raises_client_errors(data: str) -> None:
    _parse_or_error(data)


@given(
    st.dictionaries(
        st.sampled_from(sorted(_KNOWN)) | st.text(max_size=3),
        json_values | st.sampled_from(sorted(CLIENT_FRAME_TYPES)),
        max_size=6,
    )
)
def test_arbitrary_objects_only_raise_client_errors(obj: dict[str, Any]) -> None:
    result = _parse_or_error(json.dumps(obj))
    if isinstance(result, ClientError):
        assert result.ref is None or result.ref in (obj.get("message_id"), obj.get("run_id"))


@pytest.mark.parametrize(
    "data",
    ["[" * 100_000, '{"type":' + "[" * 5000 + "]" * 5000 + "}", "1" * 5000, "NaN", "-Infinity"],
)
def test_pathological_text_only_raises_client_errors(data: str) -> None:
    assert isinstance(_parse_or_error(data), ClientError)


# --- bad input table -------------------------------------------------------------------


@given(st.binary())
def test_binary_frames_are_invalid_json(data: bytes) -> None:
    with pytest.raises(InvalidJson) as info:
        parse_client_frame(data)
    assert info.value.code == "invalid_json"


@given(st.text())
def test_non_json_is_invalid_json(text: str) -> None:
    assume(not is_json(text))
    with pytest.raises(InvalidJson) as info:
        parse_client_frame(text)
    assert info.value.code == "invalid_json"


@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_that_is_not_an_object_is_invalid_json(value: Any) -> None:
    with pytest.raises(InvalidJson):
        parse_client_frame(json.dumps(value))


@given(
    st.dictionaries(st.text(), json_values),
    _optional(json_values.filter(lambda v: not (isinstance(v, str) and v in CLIENT_FRAME_TYPES))),
)
def test_unknown_or_missing_type_is_unknown_type(obj: dict[str, Any], kind: Any) -> None:
    obj.pop("type", None)
    if kind is not _ABSENT:
        obj["type"] = kind
    with pytest.raises(UnknownType) as info:
        parse_client_frame(json.dumps(obj))
    assert info.value.code == "unknown_type"
    assert len(info.value.message) <= 300


def _required_fields() -> list[tuple[str, str]]:
    return [(kind, name) for kind, names in REQUIRED.items() for name in names]


def _assert_names_field(exc: InvalidMessage, name: str, obj: dict[str, Any]) -> None:
    assert exc.code == "invalid_message"
    assert repr(name) in exc.message, (name, exc.message)
    assert exc.ref == _expected_ref(obj)


@given(valid_frames, st.data())
def test_missing_required_field_is_invalid_message(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    required = REQUIRED[obj["type"]]
    assume(required)
    name = data.draw(st.sampled_from(required))
    if data.draw(st.booleans()):
        del obj[name]
    else:
        obj[name] = None
    with pytest.raises(InvalidMessage) as info:
        parse_client_frame(json.dumps(obj))
    _assert_names_field(info.value, name, obj)


def _wrong_values(name: str) -> st.SearchStrategy[Any]:
    """Values of the wrong type (or out of range) for ``name``."""
    containers = st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(), st.integers())
    if name in INT_FIELDS:
        return (
            st.booleans()
            | st.integers(max_value=-1)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text()
            | containers
        )
    too_long = st.text(min_size=4097, max_size=4200) if name == "token" else st.text(min_size=201)
    bad_length = st.just("") if name == "text" else st.just("") | too_long
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return st.booleans() | st.integers() | finite | containers | bad_length


@given(valid_frames, st.data())
def test_mistyped_field_is_invalid_message(obj: dict[str, Any], data: st.DataObject) -> None:
    optional = {"user_message": ("thread_id", "agent_type"), "resume": ("epoch",), "ping": ("id",)}
    fields = REQUIRED[obj["type"]] + optional.get(obj["type"], ())
    assume(fields)
    name = data.draw(st.sampled_from(fields))
    obj[name] = data.draw(_wrong_values(name))
    with pytest.raises(InvalidMessage) as info:
        parse_client_frame(json.dumps(obj))
    _assert_names_field(info.value, name, obj)


@pytest.mark.parametrize("field", ["seq", "last_seq"])
@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_integers(field: str, value: bool) -> None:
    kind = "ack" if field == "seq" else "resume"
    with pytest.raises(InvalidMessage, match=field):
        parse_client_frame(json.dumps({"type": kind, field: value}))


@given(ids, st.text(alphabet=" \t\r\n\u00a0\u2028\u3000"))
def test_empty_or_blank_text_is_invalid_message(message_id: str, text: str) -> None:
    obj = {"type": "user_message", "message_id": message_id, "text": text}
    with pytest.raises(InvalidMessage) as info:
        parse_client_frame(json.dumps(obj))
    _assert_names_field(info.value, "text", obj)
    assert info.value.ref == message_id


def test_ref_falls_back_to_run_id() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_client_frame('{"type":"user_message","run_id":"r1","text":"hi"}')
    assert info.value.ref == "r1"
    assert "'message_id'" in info.value.message


@pytest.mark.parametrize("run_id", ["", "x" * (MAX_ID_LENGTH + 1), 7, None])
def test_bad_run_id_is_invalid_message_without_ref(run_id: Any) -> None:
    with pytest.raises(InvalidMessage, match="'run_id'") as info:
        parse_client_frame(json.dumps({"type": "stop_agent", "run_id": run_id}))
    assert info.value.ref is None


def test_parse_errors_carry_their_codes() -> None:
    cases = {"nope": "invalid_json", "[]": "invalid_json", '{"type":"x"}': "unknown_type"}
    cases['{"type":"ack"}'] = "invalid_message"
    for text, code in cases.items():
        with pytest.raises(ClientError) as info:
            parse_client_frame(text)
        assert info.value.code == code


# --- encoders --------------------------------------------------------------------------


def _event_fields(seq: int, payload: Any, texts: tuple[str, ...]) -> dict[str, Any]:
    event_id, run_id, thread_id, agent_type = texts
    return {
        "type": "agent_thinking",
        "seq": seq,
        "event_id": event_id,
        "run_id": run_id,
        "thread_id": thread_id,
        "agent_type": agent_type,
        "timestamp": 1795478215.123,
        "payload": {"thought": payload},
        "user_id": "never-on-the-wire",
    }


def as_sent(value: Any) -> Any:
    """What a JSON decoder sees for ``value``.

    Not always ``value`` itself: a high + low surrogate pair written as two separate
    code points decodes as the one astral character the pair stands for, as in
    JavaScript, so the comparison goes through JSON. Non-finite floats are sent as
    null (they are not JSON).
    """
    return json.loads(json.dumps(finite_only(value)))


def _assert_single_line_utf8(text: str) -> None:
    assert "\n" not in text
    assert "\r" not in text
    text.encode("utf-8")  # a WebSocket text frame must be valid UTF-8


@given(seqs, wild_values, st.tuples(wild_text, wild_text, wild_text, wild_text))
def test_encode_event_is_one_line_and_round_trips(
    seq: int, payload: Any, names: tuple[str, str, str, str]
) -> None:
    fields = _event_fields(seq, payload, names)
    text = encode_event(fields)
    _assert_single_line_utf8(text)
    decoded = json.loads(text)
    assert "user_id" not in decoded
    expected = {k: v for k, v in fields.items() if k != "user_id"}
    assert decoded == as_sent(expected)


@given(wild_values)
def test_dumps_is_one_line_valid_utf8_json(value: Any) -> None:
    text = dumps(value)
    _assert_single_line_utf8(text)
    assert json.loads(text) == as_sent(value)


def test_dumps_is_ascii_and_round_trips_non_ascii_text() -> None:
    text = dumps({"m": "héllo ✓"})
    assert text.isascii() and json.loads(text) == {"m": "héllo ✓"}


def test_dumps_escapes_lone_surrogates() -> None:
    text = dumps({"m": "a\ud800b", "n": "é"})
    _assert_single_line_utf8(text)
    assert json.loads(text) == {"m": "a\ud800b", "n": "é"}


control_frames = st.one_of(
    st.builds(connected_frame, wild_text, wild_text, wild_text, seqs),
    st.builds(run_accepted_frame, wild_text, wild_text, wild_text, st.booleans()),
    st.builds(error_frame, wild_text, wild_text, st.none() | wild_text),
    st.builds(pong_frame, st.none() | wild_text),
    st.builds(replay_gap_frame, seqs, seqs, st.sampled_from(["retention", "epoch"])),
    st.builds(
        lambda s, p: encode_event(_event_fields(s, p, ("e", "r", "t", "a"))), seqs, wild_values
    ),
)


@given(st.lists(control_frames, max_size=8))
def test_join_then_split_round_trips_any_frames(frames: list[str]) -> None:
    for frame in frames:
        _assert_single_line_utf8(frame)
    joined = join_frames(frames)
    joined.encode("utf-8")
    assert split_frames(joined) == [json.loads(frame) for frame in frames]


@given(wild_text, wild_text, wild_text, seqs)
def test_connected_frame_fields(conn: str, user: str, epoch: str, last_seq: int) -> None:
    assert json.loads(connected_frame(conn, user, epoch, last_seq)) == as_sent(
        {
            "type": "connected",
            "protocol": 1,
            "connection_id": conn,
            "user_id": user,
            "epoch": epoch,
            "last_seq": last_seq,
        }
    )


@given(wild_text, wild_text, wild_text, st.booleans())
def test_run_accepted_frame_fields(message_id: str, run_id: str, thread: str, dup: bool) -> None:
    assert json.loads(run_accepted_frame(message_id, run_id, thread, dup)) == as_sent(
        {
            "type": "run_accepted",
            "message_id": message_id,
            "run_id": run_id,
            "thread_id": thread,
            "duplicate": dup,
        }
    )


@given(wild_text, wild_text, st.none() | wild_text)
def test_error_frame_fields(code: str, message: str, ref: str | None) -> None:
    decoded = json.loads(error_frame(code, message, ref))
    expected: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        expected["ref"] = ref
    assert decoded == as_sent(expected)


@given(st.none() | wild_text)
def test_pong_echoes_the_ping_id(ping_id: str | None) -> None:
    decoded = json.loads(pong_frame(ping_id))
    assert decoded == as_sent(
        {"type": "pong"} if ping_id is None else {"type": "pong", "id": ping_id}
    )


@given(seqs, seqs, st.sampled_from(["retention", "epoch"]))
def test_replay_gap_frame_fields(after: int, oldest: int, reason: str) -> None:
    assert json.loads(replay_gap_frame(after, oldest, reason)) == {
        "type": "replay_gap",
        "requested_after": after,
        "oldest_available": oldest,
        "reason": reason,
    }


@settings(max_examples=30)
@given(st.sampled_from(sorted(TERMINAL_EVENTS | {"agent_started", "agent_thinking"})))
def test_event_is_terminal_matches_terminal_events(kind: str) -> None:
    event = Event(1, "e", kind, "r", "t", "a", "u", 0.0, {}, text="{}")
    assert event.is_terminal == (kind in TERMINAL_EVENTS)


# --- issue 7 item 11: non-finite numbers, over-long integers ---------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_non_finite_numbers_are_invalid_json(token: str) -> None:
    with pytest.raises(InvalidJson, match="NaN and Infinity"):
        parse_client_frame(f'{{"type": "ping", "x": {token}}}')


@pytest.mark.parametrize("field,kind", [("seq", "ack"), ("last_seq", "resume")])
def test_over_long_integers_name_their_field(field: str, kind: str) -> None:
    for digits in (20, 4_301, 100_000):
        with pytest.raises(InvalidMessage, match=repr(field)):
            parse_client_frame(f'{{"type": "{kind}", "{field}": {"9" * digits}}}')
    with pytest.raises(InvalidMessage, match=repr(field)):
        parse_client_frame(f'{{"type": "{kind}", "{field}": {2**63}}}')


def test_over_long_integer_elsewhere_is_ignored() -> None:
    assert parse_client_frame(f'{{"type": "ping", "extra": {"1" * 5000}}}') == Ping(None)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_dumps_never_emits_non_finite_numbers(value: float) -> None:
    text = dumps({"payload": {"result": [value, {"x": value}]}})
    decoded = json.loads(text, parse_constant=lambda name: pytest.fail(name))
    assert decoded["payload"]["result"][0] == (value if math.isfinite(value) else None)


@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.sampled_from(["\u0663", "\uff11", "\u00b2", "\u07c0"]),
)
def test_non_ascii_digits_are_never_integers(value: int, digit: str) -> None:
    with pytest.raises(InvalidJson):
        parse_client_frame(f'{{"type": "ack", "seq": {value}{digit}}}')
