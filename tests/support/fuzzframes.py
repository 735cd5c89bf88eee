"""Hypothesis strategies for client frames, each paired with the contract's answer.

Every strategy yields a :class:`Case`: the frame to send (text or binary) and the
:class:`Expect` that docs/protocol.md names for it, derived from how the frame was
built (one defect at a time), never by running the server's parser. Two answers
depend on what the connection did before, and the live test resolves them: a
``user_message`` whose ``message_id`` was accepted already is a duplicate, and a
``resume`` gets ``replay_gap`` when its ``epoch`` is not the log's or its ``last_seq``
is beyond the newest seq. ``EPOCH`` in a frame's text stands for the current epoch.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import strategies as st

from tests.support.live import SECRET as FUZZ_SECRET
from wsao_trio.auth import mint_token

MAX_FRAME = 64 * 1024
MAX_INT = 2**63 - 1
EPOCH = "@EPOCH@"
KNOWN_TYPES = ("user_message", "stop_agent", "ack", "resume", "ping", "auth")
SCRIPTS = ("thoughts=0 tools=0", "thoughts=1 tools=1", "fail=1", "deltas=2", "not a script")
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 400 + ".5")
FUZZ_USER = "fuzzer"


@attrs.frozen
class Expect:
    """The contract's answer to one frame.

    ``kind``: ``error`` (``code``, ``field`` named in the message, ``ref``), ``pong``
    (echoing ``value``), ``silent``, ``run_accepted`` (``value`` = message_id),
    ``replay`` (``value`` = the resume's last_seq, ``epoch`` as sent), ``auth_ok``,
    or ``close`` (``value`` = the close code). ``dedup``: a message_id which, if
    accepted before on this user, makes the answer a duplicate ``run_accepted``.
    ``flag``, set by the live test: ``duplicate`` of a run_accepted, a replay's gap.
    """

    kind: str
    code: str | None = None
    field: str | None = None
    ref: str | None = None
    value: Any = None
    epoch: str | None = None
    dedup: str | None = None
    flag: bool = False


@attrs.frozen
class Case:
    """One frame to send and what must come back."""

    data: str | bytes = attrs.field(repr=lambda d: repr(d[:120]) + f"...({len(d)})")
    expect: Expect


def error(code: str, field: str | None = None, ref: str | None = None) -> Expect:
    """An ``error`` answer."""
    return Expect("error", code, field, ref)


def dumps(obj: Any) -> str:
    """The frame text of ``obj`` (non-ASCII kept raw, as a browser would send it)."""
    return json.dumps(obj, ensure_ascii=False)


NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
ids = st.text(NO_SURROGATES, min_size=1, max_size=200)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    scalars | st.text(NO_SURROGATES, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(NO_SURROGATES, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def is_json(text: str) -> bool:
    """Whether ``text`` parses as JSON (Python's json module, as the server uses)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _ref(obj: dict[str, Any]) -> str | None:
    for key in ("message_id", "run_id"):
        value = obj.get(key)
        if isinstance(value, str) and 0 < len(value) <= 200:
            return value
    return None


# --- frames the contract calls invalid_json ---------------------------------------

binary = st.binary(max_size=300).map(lambda b: Case(b, error("invalid_json")))
empty = st.sampled_from([Case("", error("invalid_json")), Case(b"", error("invalid_json"))])
not_json = (
    st.text(NO_SURROGATES, max_size=200)
    .filter(lambda t: not is_json(t))
    .map(lambda t: Case(t, error("invalid_json")))
)
not_object = json_values.filter(lambda v: not isinstance(v, dict)).map(
    lambda v: Case(dumps(v), error("invalid_json"))
)


@st.composite
def non_finite(draw: st.DrawFn) -> Case:
    """A valid ping with NaN/Infinity (or a float literal that overflows) spliced in."""
    token = draw(st.sampled_from(NON_FINITE))
    where = draw(st.sampled_from(["extra", "id", "nested"]))
    text = {
        "extra": '{"type": "ping", "x": %s}',
        "id": '{"type": "ping", "id": %s}',
        "nested": '{"type": "ack", "seq": 1, "x": [{"y": %s}]}',
    }[where]
    return Case(text % token, error("invalid_json"))


@st.composite
def deep(draw: st.DrawFn) -> Case:
    """Nesting: shallow is fine (an ignored field), past the parser's recursion is not."""
    if draw(st.booleans()):
        depth = draw(st.integers(1, 100))
        nested = "[" * depth + "]" * depth
        return Case('{"type": "ping", "id": "d", "x": ' + nested + "}", Expect("pong", value="d"))
    opener = draw(st.sampled_from(["[", '{"a":']))
    depth = draw(st.integers(3_000, (MAX_FRAME - 100) // (len(opener) + 1)))
    closer = "]" if opener == "[" else "}"
    inner = opener * depth + "0" + closer * depth
    return Case('{"type": "ping", "x": ' + inner + "}", error("invalid_json"))


# --- type errors --------------------------------------------------------------------


@st.composite
def unknown_type(draw: st.DrawFn) -> Case:
    """An object whose ``type`` is missing, not a string, or not one we know."""
    obj = draw(st.dictionaries(st.text(NO_SURROGATES, max_size=8), json_values, max_size=3))
    obj.pop("type", None)
    kind = draw(
        st.none()
        | st.text(NO_SURROGATES, max_size=30).filter(lambda t: t not in KNOWN_TYPES)
        | st.integers()
        | st.lists(st.sampled_from(KNOWN_TYPES), max_size=2)
        | st.sampled_from([t.upper() for t in KNOWN_TYPES])
    )
    if kind is not None or draw(st.booleans()):
        obj["type"] = kind
    return Case(dumps(obj), error("unknown_type"))


# --- valid frames of every type -----------------------------------------------------


@st.composite
def valid(draw: st.DrawFn) -> tuple[dict[str, Any], Expect]:
    """A well-formed frame of a random known type and its answer."""
    kind = draw(st.sampled_from(KNOWN_TYPES))
    if kind == "ping":
        ping_id = draw(st.none() | ids)
        obj: dict[str, Any] = (
            {"type": "ping"} if ping_id is None else {"type": "ping", "id": ping_id}
        )
        return obj, Expect("pong", value=ping_id)
    if kind == "ack":
        return {"type": "ack", "seq": draw(st.integers(0, MAX_INT))}, Expect("silent")
    if kind == "stop_agent":
        run_id = draw(ids)
        return {"type": "stop_agent", "run_id": run_id}, error("run_not_found", ref=run_id)
    if kind == "resume":
        return draw(_resume())
    if kind == "user_message":
        return draw(_user_message())
    return draw(_auth())


@st.composite
def _resume(draw: st.DrawFn) -> tuple[dict[str, Any], Expect]:
    last_seq = draw(st.just(0) | st.integers(10**15, MAX_INT))
    epoch = draw(st.none() | st.just(EPOCH) | ids.filter(lambda e: EPOCH not in e))
    obj: dict[str, Any] = {"type": "resume", "last_seq": last_seq}
    if epoch is not None:
        obj["epoch"] = epoch
    return obj, Expect("replay", value=last_seq, epoch=epoch)


@st.composite
def _user_message(draw: st.DrawFn) -> tuple[dict[str, Any], Expect]:
    message_id = draw(ids)
    obj = {"type": "user_message", "message_id": message_id, "agent_type": "scripted"}
    obj["text"] = draw(st.sampled_from(SCRIPTS))
    if draw(st.booleans()):
        obj["thread_id"] = draw(ids)
    return obj, Expect("run_accepted", value=message_id)


@st.composite
def _auth(draw: st.DrawFn) -> tuple[dict[str, Any], Expect]:
    whose = draw(st.sampled_from(["own", "other", "garbage", "expired"]))
    if whose == "garbage":
        token = draw(st.text(NO_SURROGATES, min_size=1, max_size=300))
    else:
        user = FUZZ_USER if whose != "other" else "someone-else"
        token = mint_token(FUZZ_SECRET, user, -3600 if whose == "expired" else 600)
    answer = Expect("auth_ok") if whose == "own" else error("unauthorized")
    return {"type": "auth", "token": token}, answer


def with_extras(pair: tuple[dict[str, Any], Expect], extras: dict[str, Any]) -> Case:
    """Unknown fields are ignored: add them (never over a field the frame has)."""
    obj, expect = pair
    for key, value in extras.items():
        obj.setdefault(key, value)
    return Case(dumps(obj), expect)


valid_frames = st.builds(
    with_extras,
    valid(),
    st.dictionaries(st.sampled_from(["x", "meta", "_"]), json_values, max_size=2),
)


# --- one field wrong ------------------------------------------------------------------

FIELDS = {
    "user_message": {
        "message_id": "id",
        "text": "text",
        "thread_id": "id?",
        "agent_type": "agent?",
    },
    "stop_agent": {"run_id": "id"},
    "ack": {"seq": "int"},
    "resume": {"last_seq": "int", "epoch": "id?"},
    "ping": {"id": "id?"},
    "auth": {"token": "token"},
}
RAW = "@RAW@"
not_str = (
    st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
    | st.just({})
)
not_int = (
    st.text("0123456789", min_size=1, max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.integers(max_value=-1)
    | st.integers(MAX_INT + 1, 10**19 - 1)
    | st.just([1])
)


def _wrong_value(kind: str) -> st.SearchStrategy[Any]:
    """Values that break a field of ``kind`` (``?``: optional, so None is fine there)."""
    required = st.just(None) if not kind.endswith("?") else st.nothing()
    base = kind.rstrip("?")
    if base == "int":
        oversized = st.integers(20, 5000).map(lambda n: RAW + "9" * n)
        return required | not_int | oversized
    if base == "text":
        return required | not_str | st.sampled_from(["", " ", "\n\t  "])
    if base == "agent":
        known = {"scripted", "assistant"}
        return not_str | st.just("") | ids.filter(lambda a: a not in known)
    too_long = 4097 if base == "token" else 201
    return (
        required
        | not_str
        | st.just("")
        | st.integers(too_long, too_long + 300).map(lambda n: "x" * n)
    )


@st.composite
def wrong_field(draw: st.DrawFn) -> Case:
    """A valid frame with exactly one field missing, mistyped, empty, too long or out of range."""
    obj, _ = draw(valid())
    kind = obj["type"]
    field = draw(st.sampled_from(sorted(FIELDS[kind])))
    value = draw(_wrong_value(FIELDS[kind][field]))
    if value is None and draw(st.booleans()):
        obj.pop(field, None)
    else:
        obj[field] = value
    text = dumps(obj)
    if isinstance(value, str) and value.startswith(RAW):
        text = text.replace(json.dumps(value), value[len(RAW) :])
    expect = error("invalid_message", field, _ref(obj))
    if field == "agent_type" and isinstance(value, str) and value:
        # an unknown agent is the orchestrator's check, and dedup comes before it
        expect = attrs.evolve(expect, dedup=obj["message_id"])
    return Case(text, expect)


# --- over the frame limit ---------------------------------------------------------------


@st.composite
def huge(draw: st.DrawFn) -> Case:
    """A frame over WSAO_MAX_FRAME_BYTES: closed with 1009, text or binary."""
    size = draw(st.integers(MAX_FRAME + 1, 3 * MAX_FRAME))
    if draw(st.booleans()):
        return Case(b"x" * size, Expect("close", value=1009))
    head = '{"type": "ping", "id": "'
    return Case(head + "y" * (size - len(head) - 2) + '"}', Expect("close", value=1009))


# Frames that reach the field checks and the orchestrator first: hypothesis favours
# the first branches of one_of (it shrinks towards them).
frames = st.one_of(
    valid_frames, wrong_field(), valid_frames, wrong_field(), unknown_type(), non_finite(),
    deep(), huge(), binary, empty, not_json, not_object,
)  # fmt: skip
