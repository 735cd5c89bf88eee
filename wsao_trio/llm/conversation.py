"""The messages of a Chat Completions conversation, without any I/O.

What the ``llm`` agent sends: a system prompt, the thread's earlier exchanges, the
user's message, then for each step the model's turn and one ``tool`` message per
tool call it made. The tools are offered as functions whose parameters are the
tools' JSON schemas. Tool results go back as JSON text, cut to
:data:`MAX_RESULT_CHARS` so one large result cannot fill the model's context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from wsao_trio._runs.tools import Tool, parameters_schema
from wsao_trio.llm.chunks import ToolCall, Turn

MAX_RESULT_CHARS = 16_000
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a chat. Answer clearly and concisely. When one of "
    "the provided tools can give an exact answer (arithmetic, unit conversions, the "
    "current date and time, documentation look-ups), call it instead of guessing, then "
    "answer in plain words from its result."
)

Message = dict[str, Any]


def tool_specs(tools: Iterable[Tool]) -> list[dict[str, Any]]:
    """The ``tools`` request field: each tool as a function with a JSON-schema."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": parameters_schema(tool),
            },
        }
        for tool in tools
    ]


def opening_messages(
    system_prompt: str, history: Sequence[tuple[str, str]], text: str
) -> list[Message]:
    """The system prompt, earlier (question, answer) pairs, and the new question."""
    messages: list[Message] = [{"role": "system", "content": system_prompt}]
    for question, answer in history:
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": text})
    return messages


def assistant_message(turn: Turn) -> Message:
    """The model's own turn, as it must be sent back before its tool results."""
    message: Message = {"role": "assistant", "content": turn.content or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in turn.tool_calls
        ]
    return message


def tool_message(call: ToolCall, content: str) -> Message:
    """The result of ``call``, for the model."""
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def parse_arguments(raw: str) -> dict[str, Any]:
    """The model's argument text as an object; empty text is ``{}``.

    Raises ValueError, saying why, when the text is not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def result_text(result: Any) -> str:
    """A tool's result as JSON text for the model, cut to :data:`MAX_RESULT_CHARS`."""
    text = json.dumps(result, ensure_ascii=False, default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + f"… [cut: the result has {len(text)} characters]"


def error_text(error: str) -> str:
    """A failed tool call, for the model: ``{"error": "..."}``."""
    return json.dumps({"error": error}, ensure_ascii=False)
