"""The ``assistant`` agent: rule-based reasoning in visible steps, with real tools.

No language model and no external service: the agent reads the question, says what it
is doing in ``agent_thinking`` lines, picks tools with a few rules and answers from
their results::

    "convert 5 km to miles", "10 km in miles", "how many feet in 3 m"  → convert_units
    an arithmetic expression ("What is 17 * 23 + 4?", "sqrt(2) * 3")    → calculator
    "time", "date", "day", "today" (+ an IANA zone such as Europe/Paris) → datetime
    "docs", "wsao", "how …", or nothing else recognised                  → search_docs

A failed tool (``ToolFailed``) is explained in the answer instead of ending the run.
The answer is streamed as a few ``agent_message_delta`` chunks and returned as
``{"answer": text}``. Questions containing "slowly" or "long" first think in many
one-second steps (about 20 s), so a demo or a test can press Stop mid-run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import trio

from app.tools.calculator import CONSTANTS, FUNCTIONS
from app.tools.units import canonical_unit
from wsao_trio.errors import ToolFailed

if TYPE_CHECKING:
    from wsao_trio.runcontext import RunContext

# The lookbehind keeps a match from starting inside a run of digits and the possessive
# quantifiers never give digits back: "1" * 60000 took 126 s (each of 60,000 start
# positions re-scanned the rest of the run); it now takes one linear pass.
_NUMBER = r"(?<![\d.])[-+]?\d++(?:\.\d++)?+"
_UNIT = r"°?[A-Za-z]+"
_CONVERT = re.compile(
    rf"(?P<value>{_NUMBER})\s*(?P<from>{_UNIT})\s+(?:to|in|into|as)\s+(?P<to>{_UNIT})",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(
    rf"how\s+many\s+(?P<to>{_UNIT})\s+(?:are\s+|is\s+)?(?:there\s+)?in\s+"
    rf"(?P<value>{_NUMBER})\s*(?P<from>{_UNIT})",
    re.IGNORECASE,
)
_NAMES = "|".join(sorted((*FUNCTIONS, *CONSTANTS), key=len, reverse=True))
_MATH_TOKEN = rf"(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+|\*\*|//|[-+*/%(),]|\b(?:{_NAMES})\b)"
_MATH_RUN = re.compile(rf"{_MATH_TOKEN}(?:\s*{_MATH_TOKEN})*")
_TIME_WORDS = re.compile(r"\b(?:time|date|day|today|weekday|clock)\b", re.IGNORECASE)
_ZONE = re.compile(r"\b(?:[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+-]+){1,2}|UTC|GMT)\b")
_DOCS_WORDS = re.compile(r"\b(?:docs?|documentation|wsao\w*|orchestrator)\b", re.IGNORECASE)
_SLOW_WORDS = re.compile(r"\b(?:slowly|long)\b", re.IGNORECASE)
MAX_SCAN_CHARS = 2000
_SYMBOLS = MappingProxyType({"\u00d7": "*", "\u00f7": "/", "^": "**", "\u2212": "-"})


@attrs.frozen
class ToolStep:
    """One planned tool call and the visible reason for it."""

    tool: str
    arguments: Mapping[str, Any]
    reason: str


def find_conversion(text: str) -> tuple[ToolStep, str] | None:
    """A ``convert_units`` step for "5 km to miles"-style text, and the text left over."""
    for pattern in (_HOW_MANY, _CONVERT):
        for match in pattern.finditer(text):
            try:
                source, target = canonical_unit(match["from"]), canonical_unit(match["to"])
            except ValueError:
                continue
            value = float(match["value"])
            arguments = {"value": int(value) if value.is_integer() else value}
            step = ToolStep(
                "convert_units",
                {**arguments, "from": source, "to": target},
                f"This is a unit conversion: {match['value']} {source} → {target}.",
            )
            return step, text[: match.start()] + " " + text[match.end() :]
    return None


def find_expression(text: str) -> tuple[ToolStep, str] | None:
    """A ``calculator`` step for the longest arithmetic expression in ``text``."""
    for symbol, replacement in _SYMBOLS.items():
        text = text.replace(symbol, replacement)
    candidates = [m for m in _MATH_RUN.finditer(text) if _is_calculation(_trim(m[0]))]
    if not candidates:
        return None
    match = max(candidates, key=lambda m: len(_trim(m[0])))
    expression = _trim(match[0])
    step = ToolStep(
        "calculator",
        {"expression": expression},
        f"There is arithmetic here: {expression}. I'll let the calculator work it out.",
    )
    return step, text[: match.start()] + " " + text[match.end() :]


def _trim(candidate: str) -> str:
    candidate = candidate.strip().rstrip(",+-*/%( ").lstrip(",*/%) ")
    while candidate.count("(") > candidate.count(")") and candidate.startswith("("):
        candidate = candidate[1:].lstrip()
    while candidate.count(")") > candidate.count("(") and candidate.endswith(")"):
        candidate = candidate[:-1].rstrip()
    return candidate


def _is_calculation(candidate: str) -> bool:
    if not any(ch.isdigit() for ch in candidate):
        return False
    try:
        tree = ast.parse(candidate, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    return any(isinstance(node, ast.BinOp | ast.Call) for node in ast.walk(tree))


def find_time_question(text: str) -> ToolStep | None:
    """A ``datetime`` step when ``text`` asks for the time, date or day."""
    if not _TIME_WORDS.search(text):
        return None
    zone = _ZONE.search(text)
    arguments = {"timezone": zone[0]} if zone else {}
    where = f" in {zone[0]}" if zone else " (UTC, since no time zone was named)"
    return ToolStep("datetime", arguments, f"You asked about the date or time; checking{where}.")


def plan(text: str) -> tuple[ToolStep, ...]:
    """The tool calls that answer ``text``, in the order they will run."""
    steps: list[ToolStep] = []
    for finder in (find_conversion, find_expression):
        found = finder(text)
        if found is not None:
            steps.append(found[0])
            text = found[1]
    time_step = find_time_question(text)
    if time_step is not None:
        steps.append(time_step)
    if not steps or _DOCS_WORDS.search(text):
        reason = "Let me look this up in the project's documentation."
        steps.append(ToolStep("search_docs", {"query": text.strip()}, reason))
    return tuple(steps)


def _number(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}" if 1e-4 <= abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def _say_calculator(step: ToolStep, result: Any) -> str:
    return f"{step.arguments['expression']} = {_number(result)}"


def _say_datetime(step: ToolStep, result: Any) -> str:
    return (
        f"It is {result['weekday']}, {result['date']}, {result['time']} "
        f"in {result['timezone']} (ISO 8601: {result['iso']})."
    )


def _say_units(step: ToolStep, result: Any) -> str:
    converted = round(result["result"], 6)
    return f"{_number(result['value'])} {result['from']} = {_number(converted)} {result['to']}"


def _say_docs(step: ToolStep, result: Any) -> str:
    hits = result["results"]
    if not hits:
        return (
            "I found nothing about that in the docs. I can do arithmetic (try "
            "'What is 17 * 23 + 4?'), convert units ('10 km in miles') and tell the time."
        )
    lines = [f"- {hit['file']}: {hit['snippet']}" for hit in hits]
    return "Here is what the docs say:\n" + "\n".join(lines)


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


def chunks(text: str, parts: int = 4) -> list[str]:
    """Split ``text`` at spaces into at most ``parts`` pieces that join back to it."""
    words = re.findall(r"\S+\s*|\s+", text)
    size = max(1, -(-len(words) // parts))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


@attrs.frozen
class AssistantAgent:
    """The demo assistant; see the module docstring.

    Attributes:
        slow_steps: how many thinking steps the slow mode takes.
        slow_step_seconds: the pause after each slow step.
    """

    slow_steps: int = 20
    slow_step_seconds: float = 1.0

    async def run(self, run: RunContext) -> Any:
        """Think, call the planned tools, stream the answer and return it.

        Only the first :data:`MAX_SCAN_CHARS` characters are read: a question is short,
        and every rule's cost then has a fixed bound whatever a client sends.
        """
        text = run.message.strip()[:MAX_SCAN_CHARS]
        await run.thinking(f"Reading the question: {text[:200]!r}")
        if _SLOW_WORDS.search(text):
            await self._think_slowly(run)
        steps = plan(text)
        names = ", ".join(step.tool for step in steps)
        await run.thinking(f"Plan: {len(steps)} tool call(s) — {names}.")
        sentences = [await _perform(run, step) for step in steps]
        await run.thinking("Putting the answer together.")
        answer = "\n\n".join(sentences)
        for piece in chunks(answer):
            await run.delta(piece)
        return {"answer": answer}

    async def _think_slowly(self, run: RunContext) -> None:
        await run.thinking("You asked me to take my time, so I'll think this through slowly.")
        for step in range(1, self.slow_steps + 1):
            await trio.sleep(self.slow_step_seconds)
            await run.thinking(f"Still thinking… (step {step} of {self.slow_steps})")


async def _perform(run: RunContext, step: ToolStep) -> str:
    await run.thinking(step.reason)
    try:
        result = await run.call_tool(step.tool, step.arguments)
    except ToolFailed as error:
        await run.thinking(f"The {step.tool} tool failed ({error.error}); I'll say so.")
        return describe_failure(step, error)
    return describe_result(step, result)
