"""The llm agent's sans-IO parts, driven directly by hypothesis: stream chunks in,
actions and whole turns out; the conversation's messages; the thread memory."""

from __future__ import annotations

import itertools
import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsao_trio._runs.tools import Tool
from wsao_trio.llm.chunks import (
    MAX_TOOL_CALLS,
    THOUGHT_CHARS,
    MalformedStream,
    ReasoningLines,
    TextDelta,
    Thought,
    ToolCall,
    Turn,
    TurnAssembler,
)
from wsao_trio.llm.conversation import (
    MAX_RESULT_CHARS,
    assistant_message,
    opening_messages,
    parse_arguments,
    result_text,
    tool_specs,
)
from wsao_trio.llm.memory import ThreadMemory


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def cut(text: str, points: list[int]) -> list[str]:
    """``text`` cut at ``points`` (any ints; taken modulo the length)."""
    marks = sorted({p % (len(text) + 1) for p in points} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(marks)]


def assemble(chunks: list[Any], separator: str = "") -> tuple[list[Any], Turn]:
    assembler = TurnAssembler(separator=separator)
    actions = [action for c in chunks for action in assembler.feed(c)]
    last, turn = assembler.finish()
    return actions + last, turn


# --- content ------------------------------------------------------------------------------


@given(st.text(), st.lists(st.integers()), st.sampled_from(["", "\n\n"]))
def test_content_is_passed_on_piece_by_piece_and_joins_back(
    text: str, points: list[int], separator: str
) -> None:
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in cut(text, points)]
    actions, turn = assemble([*chunks, chunk(finish="stop")], separator)
    assert all(isinstance(a, TextDelta) and a.text for a in actions)
    shown = "".join(a.text for a in actions)
    assert shown == (separator + text if text else "")
    assert turn == Turn(text, (), "stop")


# --- tool calls ---------------------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
calls = st.lists(
    st.tuples(names, st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
    min_size=1,
    max_size=6,
)


def _fragments(index: int, name: str, arguments: str, points: list[int]) -> list[dict[str, Any]]:
    pieces = cut(arguments, points)
    head = {"index": index, "id": f"id{index}", "type": "function", "function": {"name": name}}
    return [head] + [{"index": index, "function": {"arguments": p}} for p in pieces]


@given(calls, st.data())
def test_tool_calls_reassemble_however_split_and_interleaved(
    wanted: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    texts = [json.dumps(arguments) for _, arguments in wanted]
    queues = [
        _fragments(i, name, text, data.draw(st.lists(st.integers(), max_size=6)))
        for i, ((name, _), text) in enumerate(zip(wanted, texts, strict=True))
    ]
    fragments: list[dict[str, Any]] = []
    while any(queues):  # interleave the calls, keeping each call's own order
        queue = data.draw(st.sampled_from([q for q in queues if q]))
        fragments.append(queue.pop(0))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=len(fragments)))
    chunks, start = [], 0
    for size in sizes:  # several fragments may share one chunk
        if start < len(fragments):
            chunks.append(chunk({"tool_calls": fragments[start : start + size]}))
            start += size
    actions, turn = assemble([*chunks, chunk(finish="tool_calls")])
    assert actions == []
    expected = tuple(
        ToolCall(i, f"id{i}", name, text)
        for i, ((name, _), text) in enumerate(zip(wanted, texts, strict=True))
    )
    assert turn.tool_calls == expected and turn.finish_reason == "tool_calls"
    assert [parse_arguments(c.arguments) for c in turn.tool_calls] == [a for _, a in wanted]


def test_calls_without_an_index_are_told_apart_by_id() -> None:
    first = {"id": "a", "function": {"name": "calculator", "arguments": '{"expression": '}}
    more = {"function": {"arguments": '"1+1"}'}}
    second = {"id": "b", "function": {"name": "echo", "arguments": "{}"}}
    again = {"id": "a", "function": {"name": "calculator"}}  # a repeated head changes nothing
    chunks = [chunk({"tool_calls": [f]}) for f in (first, more, second, again)]
    _, turn = assemble([*chunks, chunk(finish="stop")])
    assert turn.tool_calls == (
        ToolCall(0, "a", "calculator", '{"expression": "1+1"}'),
        ToolCall(1, "b", "echo", "{}"),
    )


def test_the_llama_cpp_python_shape_with_repeated_heads_and_nulls() -> None:
    """As llama-cpp-python 0.3 streams a tool call (recorded): every fragment repeats
    the index, id and name, with the legacy ``function_call`` beside it and nulls."""
    head = {"role": "assistant", "content": None, "function_call": None, "tool_calls": None}
    chunks = [chunk(head)]
    for piece in ['{"expression"', ': "1234 * 5678"', "}", ""]:
        function = {"name": "calculator", "arguments": piece}
        fragment = {"index": 0, "id": "call__0_calculator", "type": "function"}
        delta = {"role": None, "content": None, "function_call": function}
        chunks.append(chunk({**delta, "tool_calls": [{**fragment, "function": function}]}))
    chunks.append(chunk({"role": None, "content": None, "tool_calls": None}, "tool_calls"))
    actions, turn = assemble(chunks)
    assert actions == []
    assert turn.tool_calls == (
        ToolCall(0, "call__0_calculator", "calculator", '{"expression": "1234 * 5678"}'),
    )


def test_a_missing_id_is_made_up_and_an_object_argument_accepted() -> None:
    fragment = {"index": 0, "function": {"name": "echo", "arguments": {"text": "hi"}}}
    _, turn = assemble([chunk({"tool_calls": [fragment]}), chunk(finish="tool_calls")])
    assert turn.tool_calls == (ToolCall(0, "call_0", "echo", '{"text": "hi"}'),)


@pytest.mark.parametrize(
    ("fragment", "words"),
    [
        ({"index": MAX_TOOL_CALLS, "function": {"name": "x"}}, "outside"),
        ({"index": -1, "function": {"name": "x"}}, "outside"),
        ({"index": True, "function": {"name": "x"}}, "'index' is a bool"),
        ({"index": 0, "function": {"arguments": "{}"}}, "no function name"),
        ({"index": 0, "function": {"name": "x", "arguments": 5}}, "neither text nor"),
        ({"index": 0, "function": "x"}, "'function' is a str"),
    ],
)
def test_impossible_tool_calls_are_malformed(fragment: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedStream, match=words):
        assemble([chunk({"tool_calls": [fragment]}), chunk(finish="tool_calls")])


# --- reasoning ----------------------------------------------------------------------------


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=2000), st.lists(st.integers()))
def test_reasoning_lines_keep_every_character_and_ignore_how_it_was_split(
    text: str, points: list[int]
) -> None:
    whole = ReasoningLines()
    at_once = whole.feed(text) + whole.flush()
    pieces = ReasoningLines()
    split = [line for piece in cut(text, points) for line in pieces.feed(piece)] + pieces.flush()
    assert split == at_once
    assert all(line and line == line.strip() and "\n" not in line for line in at_once)
    assert all(len(line) <= THOUGHT_CHARS for line in at_once)
    assert "".join("".join(line.split()) for line in at_once) == "".join(text.split())


def test_reasoning_comes_before_the_text_it_led_to() -> None:
    chunks = [
        chunk({"reasoning_content": "First I think.\nThen "}),
        chunk({"reasoning": "I decide"}),
        chunk({"content": "Answer"}),
        chunk(finish="stop"),
    ]
    actions, turn = assemble(chunks)
    assert actions == [Thought("First I think."), Thought("Then I decide"), TextDelta("Answer")]
    assert turn.content == "Answer"


def test_reasoning_sent_under_both_names_counts_once() -> None:
    both = {"reasoning_content": "Only once.\n", "reasoning": "Only once.\n"}
    actions, _ = assemble([chunk(both), chunk(finish="stop")])
    assert actions == [Thought("Only once.")]


# --- malformed input ----------------------------------------------------------------------

json_chunks = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
KEYS = ["content", "reasoning", "reasoning_content", "tool_calls", "role"]
near_chunks = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {
                    "index": st.sampled_from([0, 0, 1, None, "0"]),
                    "delta": st.dictionaries(st.sampled_from(KEYS), json_chunks) | json_chunks,
                    "finish_reason": st.sampled_from([None, "stop", 3]),
                }
            ),
            max_size=2,
        )
        | json_chunks
    }
)


@given(st.lists(json_chunks | near_chunks, max_size=6))
def test_any_json_either_reads_or_is_malformed_never_crashes(chunks: list[Any]) -> None:
    try:
        actions, turn = assemble(chunks)
    except MalformedStream as exc:
        assert str(exc)
        return
    assert all(isinstance(a, TextDelta | Thought) for a in actions)
    assert isinstance(turn.finish_reason, str) and turn.finish_reason


def test_a_stream_without_a_finish_reason_is_malformed() -> None:
    with pytest.raises(MalformedStream, match="ended before"):
        assemble([chunk({"content": "half an ans"})])


def test_a_huge_answer_is_malformed() -> None:
    assembler = TurnAssembler()
    with pytest.raises(MalformedStream, match="characters"):
        for _ in range(2000):
            assembler.feed(chunk({"content": "x" * 1000}))


# --- conversation -------------------------------------------------------------------------


@given(st.dictionaries(st.text(), json_values))
def test_arguments_parse_back_to_the_object(arguments: dict[str, Any]) -> None:
    assert parse_arguments(json.dumps(arguments)) == arguments


@pytest.mark.parametrize(
    ("raw", "words"), [("[1]", "a JSON list"), ("{", "not valid JSON"), ("7", "a JSON int")]
)
def test_arguments_that_are_no_object_are_refused(raw: str, words: str) -> None:
    assert parse_arguments("  ") == {}
    with pytest.raises(ValueError, match=words):
        parse_arguments(raw)


def test_tools_become_functions_with_a_permissive_default_schema() -> None:
    async def handler(arguments: Any) -> Any:
        return arguments

    nested = MappingProxyType({"type": "object", "properties": MappingProxyType({"q": {}})})
    specs = tool_specs([Tool("bare", "No schema.", handler), Tool("q", "Q.", handler, nested)])
    json.dumps(specs)  # read-only mappings became plain JSON
    assert specs[0]["function"] == {
        "name": "bare",
        "description": "No schema.",
        "parameters": {"type": "object"},
    }
    assert specs[1]["function"]["parameters"] == {"type": "object", "properties": {"q": {}}}


def test_results_are_cut_and_turns_sent_back_whole() -> None:
    assert len(result_text("x" * (MAX_RESULT_CHARS * 2))) < MAX_RESULT_CHARS + 100
    assert result_text({"a": float("nan")}) == '{"a": NaN}'
    turn = Turn("", (ToolCall(0, "c", "echo", ""),), "tool_calls")
    assert assistant_message(turn) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "echo", "arguments": "{}"}}
        ],
    }
    opening = opening_messages("sys", [("q", "a")], "next")
    assert [m["role"] for m in opening] == ["system", "user", "assistant", "user"]


# --- thread memory ------------------------------------------------------------------------

operations = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"), st.text(max_size=30)), max_size=60
)


@given(operations)
def test_memory_keeps_the_newest_exchanges_within_its_bounds(
    ops: list[tuple[str, str, str]],
) -> None:
    memory = ThreadMemory(max_threads=4, max_exchanges=3, max_chars=50)
    everything: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for user, thread, text in ops:
        memory.remember(user, thread, text, text.upper())
        everything.setdefault((user, thread), []).append((text, text.upper()))
    assert len(memory) <= 4
    for (user, thread), exchanges in everything.items():
        kept = memory.history(user, thread)
        assert len(kept) <= 3 and sum(len(q) + len(a) for q, a in kept) <= 50
        assert list(kept) == exchanges[len(exchanges) - len(kept) :]
    if ops:
        user, thread, text = ops[-1]
        if len(text) * 2 <= 50:
            assert memory.history(user, thread)[-1] == (text, text.upper())
