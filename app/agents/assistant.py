"""The ``assistant`` agent: rule-based answers in visible steps, with real tools.

No language model and no external service: the agent reads the question, says what it
is doing in ``agent_thinking`` lines, picks tools with a few rules and answers from
their results::

    "convert 5 km to miles", "how many miles is a marathon"          → convert_units
    "What is 17 * 23 + 4?", "square root of 2", "15% of 80", "2^10"  → calculator
    "what time is it in Tokyo", "what day is it in Europe/Paris"     → datetime
    "how do I stop a run?", anything about wsao / the docs           → search_docs
    "hello", "what can you do", "tell me a joke", "weather in Paris" → said directly

Small talk is answered without a tool, and honestly: the assistant says it runs
offline (no weather, no general knowledge). Documentation is quoted only when it
matches the question, as prose (:mod:`app.agents.phrasing`). A failed tool
(``ToolFailed``) is explained in the answer instead of ending the run. The answer is
streamed as a few ``agent_message_delta`` chunks and returned as ``{"answer": text}``.
Questions containing "slowly" or "long" first think in many one-second steps (about
20 s), so a demo or a test can press Stop mid-run.

Only the first :data:`MAX_SCAN_CHARS` characters are read, and every pattern is
linear (no backtracking on digits or whitespace), so no question can stall the loop.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import trio

from app.agents.mathwords import find_worded_math, operator_words_to_symbols
from app.agents.phrasing import describe_failure, describe_result
from app.agents.places import Place, find_place, place_index
from app.agents.smalltalk import (
    NO_WEATHER,
    is_about_question,
    is_weather_question,
    small_talk,
)
from app.agents.steps import NUMBER, UNIT, ToolStep
from app.tools.calculator import CONSTANTS, FUNCTIONS
from app.tools.units import canonical_unit
from wsao_trio.errors import ToolFailed

if TYPE_CHECKING:
    from wsao_trio import RunContext

_CONVERT = re.compile(
    rf"(?P<value>{NUMBER})\s*+(?P<from>{UNIT})\s++(?:to|in|into|as)\s++(?P<to>{UNIT})",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(
    rf"how\s++many\s++(?P<to>{UNIT})\s++(?:are\s++|is\s++)?(?:there\s++)?in\s++"
    rf"(?P<value>{NUMBER})\s*+(?P<from>{UNIT})",
    re.IGNORECASE,
)
NAMED_DISTANCES: Mapping[str, tuple[float, str]] = MappingProxyType(
    {"marathon": (42.195, "km"), "half marathon": (21.0975, "km"), "mile": (1, "mi")}
)
_THING = r"(?P<thing>half[\s-]marathon|marathon|[A-Za-z]++)"
_HOW_MANY_IN_A = re.compile(
    rf"how\s++(?:many|much|far)\s++(?P<to>{UNIT})\s++(?:is|are|in)\s++(?:a|an|one)\s++{_THING}",
    re.IGNORECASE,
)
_HOW_LONG_IS_A = re.compile(
    rf"how\s++(?:long|far)\s++is\s++(?:a|an|one)\s++{_THING}\s++in\s++(?P<to>{UNIT})",
    re.IGNORECASE,
)
_NAMES = "|".join(sorted((*FUNCTIONS, *CONSTANTS), key=len, reverse=True))
_MATH_TOKEN = rf"(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+|\*\*|//|[-+*/%(),]|\b(?:{_NAMES})\b)"
_MATH_RUN = re.compile(rf"{_MATH_TOKEN}(?:\s*{_MATH_TOKEN})*")
_TIME_WORDS = re.compile(r"\b(?:time|date|day|today|weekday|clock)\b", re.IGNORECASE)
_ZONE = re.compile(r"\b(?:[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+-]+){1,2}|UTC|GMT)\b")
_DOCS_WORDS = re.compile(r"\b(?:docs?|documentation|wsao\w*|orchestrator)\b", re.IGNORECASE)
_SLOW_WORDS = re.compile(
    r"\b(?:slowly|think\s++(?:long|hard)|take\s++your\s++time)\b", re.IGNORECASE
)
MAX_SCAN_CHARS = 2000
_SYMBOLS = MappingProxyType({"\u00d7": "*", "\u00f7": "/", "^": "**", "\u2212": "-"})


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
    return find_named_conversion(text)


def find_named_conversion(text: str) -> tuple[ToolStep, str] | None:
    """A step for "how many miles is a marathon" / "how long is a mile in km"."""
    for pattern in (_HOW_MANY_IN_A, _HOW_LONG_IS_A):
        match = pattern.search(text)
        if match is None:
            continue
        thing = " ".join(match["thing"].lower().replace("-", " ").split())
        try:
            value, source = NAMED_DISTANCES.get(thing) or (1, canonical_unit(thing))
            target = canonical_unit(match["to"])
        except ValueError:
            continue
        label = f"A {thing}" if thing in NAMED_DISTANCES else f"One {thing}"
        reason = f"{label} is {value} {source}; converting that to {target}."
        arguments = {"value": value, "from": source, "to": target}
        return ToolStep("convert_units", arguments, reason, label), text[match.end() :]
    return None


def find_expression(text: str) -> tuple[ToolStep, str] | None:
    """A ``calculator`` step for the longest arithmetic expression in ``text``."""
    for symbol, replacement in _SYMBOLS.items():
        text = text.replace(symbol, replacement)
    text = operator_words_to_symbols(text)
    candidates = [m for m in _MATH_RUN.finditer(text) if _is_calculation(_trim(m[0]))]
    if not candidates:
        return None
    match = max(candidates, key=lambda m: len(_trim(m[0])))
    expression = " ".join(_trim(match[0]).split())
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


def find_time_question(text: str, places: Mapping[str, str]) -> ToolStep | None:
    """A ``datetime`` step when ``text`` asks for the time, date or day (or the weather)."""
    weather = is_weather_question(text)
    if not _TIME_WORDS.search(text) and not weather:
        return None
    zone = _ZONE.search(text)
    place = None if zone else find_place(text, places)
    if weather and place is None:
        return None  # the weather somewhere unknown: small talk says what it can do
    if place is not None:
        reason = f"{place.name} is in the {place.zone} time zone; checking the clock there."
        return ToolStep("datetime", {"timezone": place.zone}, reason, place.name)
    arguments = {"timezone": zone[0]} if zone else {}
    where = f" in {zone[0]}" if zone else " (UTC, since no place was named)"
    return ToolStep("datetime", arguments, f"You asked about the date or time; checking{where}.")


def plan(text: str, places: Mapping[str, str] | None = None) -> tuple[ToolStep, ...]:
    """The tool calls that answer ``text``, in the order they will run.

    No steps means small talk (:func:`app.agents.smalltalk.small_talk` answers). The
    docs are searched when the question is about them, or when nothing else fits.
    """
    steps: list[ToolStep] = []
    for finder in (find_conversion, find_worded_math, find_expression):
        found = finder(text)
        if found is not None:
            steps.append(found[0])
            text = found[1]
    time_step = find_time_question(text, place_index() if places is None else places)
    steps += [time_step] if time_step is not None else []
    about_docs = _DOCS_WORDS.search(text) is not None and not is_about_question(text)
    if about_docs or not (steps or small_talk(text) is not None):
        reason = "Let me look this up in the project's documentation."
        steps.append(ToolStep("search_docs", {"query": text.strip()}, reason))
    return tuple(steps)


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
        places: place names → IANA zones (read from the tz database once, at start-up).
    """

    slow_steps: int = 20
    slow_step_seconds: float = 1.0
    places: Mapping[str, str] = attrs.field(factory=place_index, repr=False)

    async def run(self, run: RunContext) -> Any:
        """Think, call the planned tools (or answer small talk), stream the answer."""
        text = run.message.strip()[:MAX_SCAN_CHARS]
        await run.thinking(f"Reading the question: {text[:200]!r}")
        if _SLOW_WORDS.search(text):
            await self._think_slowly(run)
        steps = plan(text, self.places)
        if steps:
            answer = await _answer_with_tools(run, text, steps)
        else:
            await run.thinking("No tool needed for this one; I'll answer directly.")
            answer = small_talk(text, random.Random(run.run_id)) or ""
        for piece in chunks(answer):
            await run.delta(piece)
        return {"answer": answer}

    async def _think_slowly(self, run: RunContext) -> None:
        await run.thinking("You asked me to take my time, so I'll think this through slowly.")
        for step in range(1, self.slow_steps + 1):
            await trio.sleep(self.slow_step_seconds)
            await run.thinking(f"Still thinking… (step {step} of {self.slow_steps})")


async def _answer_with_tools(run: RunContext, text: str, steps: tuple[ToolStep, ...]) -> str:
    names = ", ".join(step.tool for step in steps)
    await run.thinking(f"Plan: {len(steps)} tool call(s) — {names}.")
    sentences = [await _perform(run, step) for step in steps]
    if is_weather_question(text):
        sentences.insert(0, NO_WEATHER + " Here is the local time instead:")
    await run.thinking("Putting the answer together.")
    return "\n\n".join(sentences)


async def _perform(run: RunContext, step: ToolStep) -> str:
    await run.thinking(step.reason)
    try:
        result = await run.call_tool(step.tool, step.arguments)
    except ToolFailed as error:
        await run.thinking(f"The {step.tool} tool failed ({error.error}); I'll say so.")
        return describe_failure(step, error)
    return describe_result(step, result)


__all__ = ["AssistantAgent", "Place", "ToolStep", "chunks", "plan"]
