"""Chat Completions stream chunks → what the agent does next, without any I/O.

A streamed Chat Completions answer is a series of JSON chunks, each
``{"choices": [{"index": 0, "delta": {...}, "finish_reason": null | "stop" | ...}]}``.
:class:`TurnAssembler` reads them one at a time and says what to do at once:

- ``delta.content`` → :class:`TextDelta`, passed on as it arrives (token by token);
- ``delta.reasoning_content`` (vLLM, llama.cpp, DeepSeek) or else ``delta.reasoning``
  (Ollama, OpenRouter, newer vLLM) → :class:`Thought`, one per line of reasoning (a line longer
  than :data:`THOUGHT_CHARS` is cut at a space), since a thought per token would be
  unreadable;
- ``delta.tool_calls`` → fragments merged by ``index``: the id and the name come once,
  the JSON arguments in pieces, several calls interleaved; a server that leaves out
  ``index`` (one whole call per fragment) is read by the fragment's ``id``;
- ``finish_reason`` → the turn is complete.

:meth:`TurnAssembler.finish` returns the whole :class:`Turn`. A chunk of the wrong
shape, a stream that ends without a ``finish_reason``, or a turn over the size limits
raises :class:`MalformedStream`. Only choice 0 is read (the agent asks for one).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

MAX_TOOL_CALLS = 64
MAX_TURN_CHARS = 1_000_000
THOUGHT_CHARS = 400
REASONING_KEYS = ("reasoning_content", "reasoning")


class MalformedStream(ValueError):
    """The stream is not a Chat Completions stream this module can read; says why."""


@attrs.frozen
class TextDelta:
    """A piece of the answer to show the user now."""

    text: str


@attrs.frozen
class Thought:
    """One line of the model's reasoning."""

    text: str


Action = TextDelta | Thought


@attrs.frozen
class ToolCall:
    """A complete tool call: ``arguments`` is the model's JSON text, not yet parsed."""

    index: int
    id: str
    name: str
    arguments: str


@attrs.frozen
class Turn:
    """One complete model turn: its text, its tool calls by index, and why it ended."""

    content: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str


def _typed(mapping: dict[str, Any], key: str, kind: type) -> Any:
    """``mapping[key]`` if present and of ``kind``; None if absent or null."""
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        found = type(value).__name__
        raise MalformedStream(f"{key!r} is a {found} where a {kind.__name__} belongs")
    return value


class ReasoningLines:
    """Reasoning text in, complete non-blank lines out (long lines cut at a space)."""

    def __init__(self, limit: int = THOUGHT_CHARS) -> None:
        self._limit = limit
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the lines it completed."""
        self._buffer += text
        lines: list[str] = []
        while "\n" in self._buffer or len(self._buffer) > self._limit:
            line, sep, rest = self._buffer.partition("\n")
            if not sep or len(line) > self._limit:
                cut = line.rfind(" ", 0, self._limit) + 1 or self._limit
                line, rest = line[:cut], line[cut:] + sep + rest
            lines.append(line)
            self._buffer = rest
        return [line.strip() for line in lines if line.strip()]

    def flush(self) -> list[str]:
        """The unfinished last line, if it is not blank."""
        line, self._buffer = self._buffer.strip(), ""
        return [line] if line else []


@attrs.define
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = attrs.Factory(list)


class TurnAssembler:
    """Reads one streamed turn; see the module docstring.

    Args:
        separator: put before this turn's first text (``"\\n\\n"`` when an earlier
            turn of the run already showed text), so the user's answer reads well.
    """

    def __init__(self, *, separator: str = "") -> None:
        self._separator = separator
        self._content: list[str] = []
        self._calls: dict[int, _CallParts] = {}
        self._reasoning = ReasoningLines()
        self._finish_reason: str | None = None
        self._chars = 0

    def feed(self, chunk: Any) -> list[Action]:
        """Read one chunk (a decoded JSON value); return what to do now."""
        if not isinstance(chunk, dict):
            raise MalformedStream(f"a chunk is a {type(chunk).__name__}, not a JSON object")
        actions: list[Action] = []
        for choice in _typed(chunk, "choices", list) or ():
            if not isinstance(choice, dict):
                raise MalformedStream("a choice is not a JSON object")
            if _typed(choice, "index", int) in (None, 0):
                actions += self._read_choice(choice)
        return actions

    def finish(self) -> tuple[list[Action], Turn]:
        """The stream ended: the last thoughts, and the whole turn."""
        if self._finish_reason is None:
            raise MalformedStream("the stream ended before the model finished its answer")
        calls = tuple(self._complete(index) for index in sorted(self._calls))
        turn = Turn("".join(self._content), calls, self._finish_reason)
        return self._thoughts(self._reasoning.flush()), turn

    def _read_choice(self, choice: dict[str, Any]) -> list[Action]:
        delta = _typed(choice, "delta", dict) or {}
        actions = self._read_reasoning(delta)
        content = _typed(delta, "content", str)
        tool_calls = _typed(delta, "tool_calls", list)
        if content or tool_calls:
            actions += self._thoughts(self._reasoning.flush())
        if content:
            actions.append(self._text(content))
        for fragment in tool_calls or ():
            self._read_fragment(fragment)
        finish_reason = _typed(choice, "finish_reason", str)
        if finish_reason:
            self._finish_reason = finish_reason
        return actions

    def _read_reasoning(self, delta: dict[str, Any]) -> list[Action]:
        # The first key present wins: a server sending both names sends the text twice.
        texts = (_typed(delta, key, str) for key in REASONING_KEYS)
        text = next((text for text in texts if text), None)
        if not text:
            return []
        self._grow(len(text))
        return self._thoughts(self._reasoning.feed(text))

    def _text(self, content: str) -> TextDelta:
        self._grow(len(content))
        prefix = "" if self._content else self._separator
        self._content.append(content)
        return TextDelta(prefix + content)

    def _read_fragment(self, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            raise MalformedStream("a tool call fragment is not a JSON object")
        call_id = _typed(fragment, "id", str)
        parts = self._calls.setdefault(self._index_of(fragment, call_id), _CallParts())
        parts.id = parts.id or call_id or ""
        function = _typed(fragment, "function", dict) or {}
        name = _typed(function, "name", str)
        if name and name != parts.name:  # some servers repeat the name in every fragment
            parts.name += name
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # a few servers send the object itself
            arguments = json.dumps(arguments)
        elif not isinstance(arguments, str | None):
            raise MalformedStream("tool call arguments are neither text nor an object")
        if arguments:
            self._grow(len(arguments))
            parts.arguments.append(arguments)

    def _index_of(self, fragment: dict[str, Any], call_id: str | None) -> int:
        index: int | None = _typed(fragment, "index", int)
        if index is None:  # no index: a new id starts a new call, else the last call goes on
            known = {parts.id: i for i, parts in self._calls.items() if parts.id}
            last = max(self._calls, default=0)
            index = known.get(call_id, len(self._calls)) if call_id else last
        if not 0 <= index < MAX_TOOL_CALLS:
            raise MalformedStream(f"tool call index {index} is outside 0..{MAX_TOOL_CALLS - 1}")
        return index

    def _complete(self, index: int) -> ToolCall:
        parts = self._calls[index]
        if not parts.name:
            raise MalformedStream(f"tool call {index} has no function name")
        call_id = parts.id or f"call_{index}"
        return ToolCall(index, call_id, parts.name, "".join(parts.arguments))

    def _grow(self, chars: int) -> None:
        self._chars += chars
        if self._chars > MAX_TURN_CHARS:
            raise MalformedStream(f"the answer is over {MAX_TURN_CHARS} characters")

    @staticmethod
    def _thoughts(lines: list[str]) -> list[Action]:
        return [Thought(line) for line in lines]
