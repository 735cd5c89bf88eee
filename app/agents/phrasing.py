"""How the assistant says what its tools found: one plain sentence per result.

Documentation is quoted only when it matches the question (most of its keywords), as
prose with the file and section it comes from; otherwise the assistant says it does
not know rather than pasting an unrelated paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from app.agents.smalltalk import DONT_KNOW
from app.agents.steps import ToolStep
from wsao_trio.errors import ToolFailed

MAX_QUOTES = 2


def number(value: Any) -> str:
    """A number as a person would write it: no ``.0``, ten significant digits at most."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}" if 1e-4 <= abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def _say_calculator(step: ToolStep, result: Any) -> str:
    if step.label:
        return f"{step.label[0].upper()}{step.label[1:]} is {number(result)}."
    expression = str(step.arguments["expression"]).replace("**", "^")
    return f"{expression} = {number(result)}"


def _say_datetime(step: ToolStep, result: Any) -> str:
    zone, offset = result["timezone"], result.get("utc_offset", "")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if len(offset) == 5 else ""
    if zone == "UTC" or not utc:
        place = zone
    else:
        place = f"{step.label} ({zone}, {utc})" if step.label else f"{zone} ({utc})"
    return f"It is {result['time'][:5]} on {result['weekday']}, {result['date']}, in {place}."


def _say_units(step: ToolStep, result: Any) -> str:
    converted = number(round(result["result"], 6))
    amount = f"{number(result['value'])} {result['from']} = {converted} {result['to']}"
    return f"{step.label} is {amount}." if step.label else amount


def _say_docs(step: ToolStep, result: Any) -> str:
    needed = required_matches(len(result["keywords"]))
    hits = [hit for hit in result["results"] if len(hit.get("matched", ())) >= needed]
    if not hits:
        return DONT_KNOW
    quotes = [_quote(hit) for hit in hits[:MAX_QUOTES]]
    return "Here is what the wsao_trio docs say.\n\n" + "\n\n".join(quotes)


def required_matches(keywords: int) -> int:
    """How many of a question's keywords a paragraph must contain to be quoted."""
    return keywords if keywords <= 2 else -(-keywords * 2 // 3)


def _quote(hit: Mapping[str, Any]) -> str:
    where = f"{hit['file']}, “{hit['section']}”" if hit.get("section") else hit["file"]
    return f"{hit['snippet']} ({where})"


_SAY: Mapping[str, Callable[[ToolStep, Any], str]] = MappingProxyType(
    {
        "calculator": _say_calculator,
        "datetime": _say_datetime,
        "convert_units": _say_units,
        "search_docs": _say_docs,
    }
)


def describe_result(step: ToolStep, result: Any) -> str:
    """One sentence of the answer for a successful tool ``result``."""
    return _SAY[step.tool](step, result)


def describe_failure(step: ToolStep, error: ToolFailed) -> str:
    """One sentence of the answer explaining that ``step``'s tool failed."""
    reason = re.sub(r"^\w+(?:Error|Exception): ", "", error.error)
    return f"I couldn't get an answer from the {step.tool} tool: {reason}."
