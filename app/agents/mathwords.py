"""Arithmetic said in words: "square root of 2", "2 to the power of 10", "15% of 80".

Each phrase becomes a ``calculator`` step whose expression the calculator understands
(``sqrt(2)``, ``2 ** 10``, ``15 / 100 * 80``) and whose label keeps the user's words
for the answer ("15% of 80 is 12"). Word operators ("7 times 6", "10 divided by 4") are
rewritten to symbols for the expression finder. All patterns start at a literal word or
at a number and use possessive whitespace, so each costs one linear pass.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from app.agents.steps import NUMBER, ToolStep

_A, _B = rf"(?P<a>{NUMBER})", rf"(?P<b>{NUMBER})"
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:the\s++)?square\s++root\s++of\s++{_A}", re.I), "sqrt({a})"),
    (re.compile(rf"\b(?:the\s++)?cube\s++root\s++of\s++{_A}", re.I), "{a} ** (1 / 3)"),
    (re.compile(rf"{_A}\s*+(?:%|per\s*+cent)\s++of\s++{_B}", re.I), "{a} / 100 * {b}"),
    (
        re.compile(
            rf"{_A}\s++(?:raised\s++)?to\s++the\s++(?:power\s++of\s++)?{_B}(?:st|nd|rd|th)?+"
            rf"(?:\s++power)?+",
            re.I,
        ),
        "{a} ** {b}",
    ),
    (re.compile(rf"{_A}\s++squared\b", re.I), "{a} ** 2"),
    (re.compile(rf"{_A}\s++cubed\b", re.I), "{a} ** 3"),
)
OPERATOR_WORDS = MappingProxyType(
    {
        re.compile(r"\bplus\b", re.I): "+",
        re.compile(r"\bminus\b", re.I): "-",
        re.compile(r"\b(?:times|multiplied\s++by)\b", re.I): "*",
        re.compile(r"\bdivided\s++by\b", re.I): "/",
    }
)


def find_worded_math(text: str) -> tuple[ToolStep, str] | None:
    """A ``calculator`` step for the first arithmetic phrase in ``text``, and the rest."""
    for pattern, template in _PHRASES:
        match = pattern.search(text)
        if match is None:
            continue
        expression = template.format(**match.groupdict())
        label = " ".join(match[0].split())
        if label[:1].lower() in "sc" and not label.lower().startswith("the "):
            label = "the " + label  # "the square root of 2"
        reason = f"You asked for {label}; in calculator terms that is {expression}."
        step = ToolStep("calculator", {"expression": expression}, reason, label)
        return step, text[: match.start()] + " " + text[match.end() :]
    return None


def operator_words_to_symbols(text: str) -> str:
    """``text`` with "plus", "minus", "times" and "divided by" as symbols."""
    for pattern, symbol in OPERATOR_WORDS.items():
        text = pattern.sub(f" {symbol} ", text)
    return text
