"""The wire protocol, sans-IO: client frame parsing, event envelope, frame encoding.

Contract v1 (``docs/protocol.md``). Nothing here does I/O or imports trio: a parser
turns one text frame into one typed frame or raises a
:class:`~wsao_trio.errors.ClientError` carrying the protocol error code; encoders turn
server frames into JSON text, one event encoded once however many connections get it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from wsao_trio.errors import InvalidJson, InvalidMessage, UnknownType

PROTOCOL_VERSION: Final = 1


@attrs.frozen
class EventSpec:
    """One type of server → client frame in contract v1, as ``docs/protocol.md`` has it.

    ``kind`` is ``run`` for a run event (with ``seq``, in the user's log) or
    ``control`` for a control frame (no ``seq``). ``keys`` are the payload keys every
    such run event carries (for a control frame: its fields besides ``type``);
    ``optional`` those it may carry. ``critical`` run events are the ones whose
    delivery the stress harness counts; a ``terminal`` one ends its run.
    """

    kind: Literal["run", "control"]
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()
    critical: bool = False
    terminal: bool = False


def _run(*keys: str, optional: tuple[str, ...] = (), **flags: bool) -> EventSpec:
    return EventSpec("run", keys, optional, **flags)


def _control(*keys: str, optional: tuple[str, ...] = ()) -> EventSpec:
    return EventSpec("control", keys, optional)


#: The event vocabulary: every frame type the server sends. The AG-UI mapper, the
#: stress checker, the Python client's run reducer, the chat page's JavaScript and
#: ``docs/protocol.md`` all follow this table; ``tests/test_events.py`` checks that
#: they agree with it.
EVENTS: Final[Mapping[str, EventSpec]] = MappingProxyType(
    {
        "agent_started": _run("message_id", "message", critical=True),
        "agent_thinking": _run("thought", critical=True),
        "tool_executing": _run("tool_call_id", "tool_name", "arguments", critical=True),
        "tool_completed": _run(
            "tool_call_id", "tool_name", "ok", "duration_ms",
            optional=("result", "error"), critical=True,
        ),
        "agent_message_delta": _run("delta"),
        "agent_completed": _run("result", "duration_ms", critical=True, terminal=True),
        "agent_error": _run("code", "message", "duration_ms", terminal=True),
        "agent_cancelled": _run("reason", "duration_ms", terminal=True),
        "connected": _control("protocol", "connection_id", "user_id", "epoch", "last_seq"),
        "run_accepted": _control("message_id", "run_id", "thread_id", "duplicate"),
        "error": _control("code", "message", optional=("ref",)),
        "replay_gap": _control("requested_after", "oldest_available", "reason"),
        "pong": _control(optional=("id",)),
        "auth_ok": _control("expires_at"),
    }
)  # fmt: skip
RUN_EVENTS: Final = frozenset(name for name, spec in EVENTS.items() if spec.kind == "run")
CONTROL_FRAMES: Final = frozenset(EVENTS) - RUN_EVENTS
CRITICAL_EVENTS: Final = frozenset(name for name, spec in EVENTS.items() if spec.critical)
TERMINAL_EVENTS: Final = frozenset(name for name, spec in EVENTS.items() if spec.terminal)

CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_TOO_BIG: Final = 1009
CLOSE_TRY_AGAIN_LATER: Final = 1013
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_SLOW_CONSUMER: Final = 4408

MAX_ID_LENGTH: Final = 200
MAX_INT: Final = 2**63 - 1
MAX_INT_DIGITS: Final = 19


@attrs.frozen
class OversizedInt:
    """A JSON integer with more digits than any field accepts; kept unparsed.

    Python refuses to convert integers over 4,300 digits (and converting long ones is
    quadratic), so the parser keeps them as this marker and the field check names the
    field instead of failing the whole frame as ``invalid_json``.
    """

    digits: int


@attrs.frozen
class UserMessage:
    """``user_message``: start a run; ``message_id`` is the idempotency key."""

    message_id: str
    text: str
    thread_id: str | None = None
    agent_type: str | None = None


@attrs.frozen
class StopAgent:
    """``stop_agent``: cancel one run of this user."""

    run_id: str


@attrs.frozen
class Ack:
    """``ack``: cumulative, every event up to ``seq`` was received."""

    seq: int


@attrs.frozen
class Resume:
    """``resume``: replay every event with ``seq > last_seq`` (in ``epoch`` if given)."""

    last_seq: int
    epoch: str | None = None


@attrs.frozen
class Ping:
    """``ping``: answered with ``pong`` echoing ``id``."""

    id: str | None = None


@attrs.frozen
class Auth:
    """``auth`` (extension): a fresh token for this connection, of the same user."""

    token: str = attrs.field(repr=False)


ClientFrame = UserMessage | StopAgent | Ack | Resume | Ping | Auth
MAX_TOKEN_LENGTH: Final = 4096


_STRING_LIMITS: Final[Mapping[str, int]] = MappingProxyType({"token": MAX_TOKEN_LENGTH})


def _field(obj: Mapping[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = obj.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise InvalidMessage(f"field {name!r} is required")
    if kind is int and (
        isinstance(value, OversizedInt) or (isinstance(value, int) and value > MAX_INT)
    ):
        raise InvalidMessage(f"field {name!r} is out of range (at most {MAX_INT})")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidMessage(f"field {name!r} must be an integer")
    if not isinstance(value, kind):
        raise InvalidMessage(f"field {name!r} must be a {kind.__name__}")
    limit = _STRING_LIMITS.get(name, MAX_ID_LENGTH)
    if isinstance(value, str) and name != "text" and not 0 < len(value) <= limit:
        raise InvalidMessage(f"field {name!r} must be 1..{limit} characters")
    if isinstance(value, int) and value < 0:
        raise InvalidMessage(f"field {name!r} must be >= 0")
    return value


def _user_message(obj: Mapping[str, Any]) -> UserMessage:
    text = _field(obj, "text", str)
    if not text.strip():
        raise InvalidMessage("field 'text' must not be empty")
    return UserMessage(
        message_id=_field(obj, "message_id", str),
        text=text,
        thread_id=_field(obj, "thread_id", str, required=False),
        agent_type=_field(obj, "agent_type", str, required=False),
    )


_PARSERS: Final[Mapping[str, Callable[[Mapping[str, Any]], ClientFrame]]] = MappingProxyType(
    {
        "user_message": _user_message,
        "stop_agent": lambda o: StopAgent(run_id=_field(o, "run_id", str)),
        "ack": lambda o: Ack(seq=_field(o, "seq", int)),
        "resume": lambda o: Resume(
            last_seq=_field(o, "last_seq", int), epoch=_field(o, "epoch", str, required=False)
        ),
        "ping": lambda o: Ping(id=_field(o, "id", str, required=False)),
        "auth": lambda o: Auth(token=_field(o, "token", str)),
    }
)

CLIENT_FRAME_TYPES: Final = frozenset(_PARSERS)


def parse_client_frame(data: str | bytes) -> ClientFrame:
    """Parse one client frame, or raise the :class:`ClientError` the contract names.

    Binary frames and anything that is not a JSON object raise :class:`InvalidJson`;
    an unknown ``type`` raises :class:`UnknownType`; a missing or mistyped field
    raises :class:`InvalidMessage` naming the field.
    """
    obj = _load_json(data)
    if not isinstance(obj, dict):
        raise InvalidJson("frame must be a JSON object")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise UnknownType(f"unknown frame type {kind!r}"[:300])
    try:
        return parser(obj)
    except InvalidMessage as exc:
        exc.ref = _ref_of(obj)
        raise


def _load_json(data: str | bytes) -> Any:
    if not isinstance(data, str):
        raise InvalidJson("binary frames are not accepted; send UTF-8 JSON text")
    try:
        return json.loads(
            data,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except NonFiniteNumber:
        raise InvalidJson("NaN and Infinity are not JSON numbers") from None
    except (ValueError, RecursionError):
        raise InvalidJson("frame is not valid JSON") from None


class NonFiniteNumber(ValueError):
    """A client frame held NaN, Infinity or a float too large to be finite."""


def _reject_constant(name: str) -> Any:
    raise NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(text)
    return value


def _bounded_int(text: str) -> int | OversizedInt:
    digits = len(text.lstrip("-"))
    return OversizedInt(digits) if digits > MAX_INT_DIGITS else int(text)


def _ref_of(obj: Mapping[str, Any]) -> str | None:
    for key in ("message_id", "run_id"):
        value = obj.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
            return value
    return None


@attrs.frozen
class Event:
    """One event of a run, as stored in the user's log and sent on the wire.

    ``text`` is the JSON encoding, computed once when the event is created so that
    fan-out to many connections never encodes it again.
    """

    seq: int
    event_id: str
    type: str
    run_id: str
    thread_id: str
    agent_type: str
    user_id: str
    timestamp: float
    payload: Mapping[str, Any]
    text: str = attrs.field(eq=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        """True for the three event types that end a run."""
        return self.type in TERMINAL_EVENTS


WIRE_FIELDS: Final = (
    "type",
    "seq",
    "event_id",
    "run_id",
    "thread_id",
    "agent_type",
    "timestamp",
    "payload",
)


def encode_event(fields: Mapping[str, Any]) -> str:
    """Encode the wire envelope of an event (the user id is never on the wire)."""
    return dumps({name: fields[name] for name in WIRE_FIELDS})


def dumps(obj: Any) -> str:
    """Compact ASCII JSON that never contains a raw newline, so frames can be batched.

    ``ensure_ascii`` escapes everything outside ASCII, so lone surrogates (valid as
    JSON escapes, so a client can send them) can always be sent in a UTF-8 text frame,
    and no second pass over the text is needed to check that. NaN and Infinity are
    not JSON: a payload holding them (an agent's or a tool's result) is sent with
    each non-finite float as ``null`` instead of as a token clients cannot parse.
    """
    try:
        return json.dumps(
            obj, separators=(",", ":"), ensure_ascii=True, default=str, allow_nan=False
        )
    except ValueError:
        return json.dumps(finite_only(obj), separators=(",", ":"), ensure_ascii=True, default=str)


def finite_only(obj: Any) -> Any:
    """``obj`` with every non-finite float (at any depth of dicts, lists, tuples) as None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {key: finite_only(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_only(value) for value in obj]
    return obj


def join_frames(texts: Iterable[str]) -> str:
    """Batch encoded frames into one WebSocket text frame (newline-delimited JSON)."""
    return "\n".join(texts)


def split_frames(data: str) -> list[dict[str, Any]]:
    """Split one received text frame into its JSON objects (client side helper)."""
    return [json.loads(line) for line in data.split("\n") if line.strip()]


def connected_frame(connection_id: str, user_id: str, epoch: str, last_seq: int) -> str:
    """The first frame on every connection."""
    return dumps(
        {
            "type": "connected",
            "protocol": PROTOCOL_VERSION,
            "connection_id": connection_id,
            "user_id": user_id,
            "epoch": epoch,
            "last_seq": last_seq,
        }
    )


def run_accepted_frame(message_id: str, run_id: str, thread_id: str, duplicate: bool) -> str:
    """The answer to every accepted ``user_message``."""
    return dumps(
        {
            "type": "run_accepted",
            "message_id": message_id,
            "run_id": run_id,
            "thread_id": thread_id,
            "duplicate": duplicate,
        }
    )


def error_frame(code: str, message: str, ref: str | None = None) -> str:
    """An ``error`` control frame; ``ref`` names the offending message or run."""
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        body["ref"] = ref
    return dumps(body)


def pong_frame(ping_id: str | None) -> str:
    """The answer to ``ping``, echoing its id when it had one."""
    body: dict[str, Any] = {"type": "pong"}
    if ping_id is not None:
        body["id"] = ping_id
    return dumps(body)


def replay_gap_frame(requested_after: int, oldest_available: int, reason: str) -> str:
    """Announce that a resume asked for events the server no longer holds."""
    return dumps(
        {
            "type": "replay_gap",
            "requested_after": requested_after,
            "oldest_available": oldest_available,
            "reason": reason,
        }
    )
