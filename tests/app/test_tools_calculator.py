"""The calculator tool: exact arithmetic, a closed whitelist, and caps on abuse."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.tools.calculator import MAX_EXPRESSION_LENGTH, calculator_tool, evaluate

# An expression is rendered text plus the value Python arithmetic gives it, computed
# here with the operator module (never eval) — or the exception Python raises.
Expr = tuple[str, Callable[[], Any]]

_OPS = (
    ("+", operator.add),
    ("-", operator.sub),
    ("*", operator.mul),
    ("//", operator.floordiv),
    ("%", operator.mod),
)


def _leaf(n: int) -> Expr:
    return str(n), lambda: n


def _power(base: int, exponent: int) -> Expr:
    return f"{base} ** {exponent}", lambda: base**exponent


def _negate(inner: Expr) -> Expr:
    return f"-({inner[0]})", lambda: -inner[1]()


def _combine(left: Expr, op: tuple[str, Callable[[Any, Any], Any]], right: Expr) -> Expr:
    symbol, fn = op
    return f"({left[0]} {symbol} {right[0]})", lambda: fn(left[1](), right[1]())


_LEAVES = st.integers(0, 10_000).map(_leaf) | st.builds(
    _power, st.integers(0, 30), st.integers(0, 6)
)
_EXPRESSIONS = st.recursive(
    _LEAVES,
    lambda inner: (
        st.builds(_combine, inner, st.sampled_from(_OPS), inner) | st.builds(_negate, inner)
    ),
    max_leaves=12,
)


@given(_EXPRESSIONS)
def test_agrees_with_python_integer_arithmetic(expr: Expr) -> None:
    text, value = expr
    assume(len(text) <= MAX_EXPRESSION_LENGTH)
    try:
        expected = value()
    except ZeroDivisionError:
        with pytest.raises(ValueError, match="division by zero"):
            evaluate(text)
        return
    result = evaluate(text)
    assert result == expected
    assert type(result) is int


_MATHY = st.text(alphabet="0123456789+-*/%().,e ", max_size=80) | st.lists(
    st.sampled_from(
        ("sqrt(", "log(", "exp(", "round(", "pi", "e", "**", "9", "0", ")", ",", "-", "1e308", ".5")
    ),
    max_size=40,
).map("".join)


@given(st.text(max_size=300) | _MATHY)
def test_arbitrary_text_gives_a_number_or_a_value_error(text: str) -> None:
    try:
        result = evaluate(text)
    except ValueError:
        return
    assert isinstance(result, int | float) and not isinstance(result, bool)
    assert math.isfinite(result)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23 + 4", 395),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("+(3)", 3),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(2.567, 2)", 2.57),
        ("floor(2.5) + ceil(2.5)", 5),
        ("log10(1000)", 3.0),
        ("log(e)", 1.0),
        ("cos(0) + sin(0) + tan(0) + exp(0)", 2.0),
        ("2 * pi", 2 * math.pi),
        ("10 ** 300", 10**300),
        ("(" * 99 + "1" + ")" * 99, 1),
        ("-" * 199 + "1", -1),
    ],
)
def test_known_values(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == pytest.approx(expected)
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(1).real", "unsupported syntax"),
        ("math.pi", "unsupported syntax"),
        ("__import__('os').system('true')", "unsupported function"),
        ("open('/etc/passwd')", "unsupported function"),
        ("eval('1')", "unsupported function"),
        ("pow(2, 3)", "unsupported function"),
        ("x + 1", "unknown name"),
        ("__builtins__", "unknown name"),
        ("'a' * 3", "unsupported literal"),
        ("True + 1", "unsupported literal"),
        ("1j", "unsupported literal"),
        ("[1, 2]", "unsupported syntax"),
        ("1 < 2", "unsupported syntax"),
        ("lambda: 1", "unsupported syntax"),
        ("2 ^ 3", "unsupported operator"),
        ("sqrt(x=4)", "bad arguments"),
        ("sqrt(1, 2, 3)", "bad arguments"),
        ("9 ** 9 ** 9", "too large"),
        ("2 ** 100000", "too large"),
        ("10 ** 301", "too large"),
        ("1e308 * 10", "too large"),
        ("exp(1000)", "too large"),
        ("round(5, -10 ** 20)", "round"),
        ("(-8) ** 0.5", "negative"),
        ("sqrt(-1)", "undefined"),
        ("1 / 0", "division by zero"),
        ("5 // 0", "division by zero"),
        ("5 % 0.0", "division by zero"),
        ("1 +", "not a valid expression"),
        ("", "empty"),
        ("1 + " * 60 + "1", "longer than"),
        ("((1)", "not a valid expression"),
        ("1\x00", "not a valid expression"),
    ],
)
def test_rejects_with_a_clear_value_error(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(expression)


async def test_tool_handler() -> None:
    tool = calculator_tool()
    assert tool.name == "calculator"
    assert await tool.handler({"expression": "17 * 23 + 4"}) == 395
    with pytest.raises(ValueError, match="expression"):
        await tool.handler({})
    with pytest.raises(ValueError, match="expression"):
        await tool.handler({"expression": 42})
