"""The ``calculator`` tool: a safe arithmetic evaluator over Python's ``ast``.

The expression is parsed with :func:`ast.parse` in ``eval`` mode and the tree is walked
by hand: nothing is ever compiled to code or run by ``eval``/``exec``. Only numbers, the
arithmetic operators, parentheses and a whitelist of math functions and constants are
accepted. Every way to make the evaluator slow or huge is capped: the expression
length, the size of an integer power and the magnitude of every intermediate result.
All failures are :class:`ValueError` with a message a human can read.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from wsao_trio import Tool, blocking_tool

Number = int | float

MAX_EXPRESSION_LENGTH = 200
MAX_MAGNITUDE = 10**300
MAX_POWER_BITS = 4000
MAX_ROUND_DIGITS = 300
MAX_ARGS = 2

_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = MappingProxyType(
    {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod,
        ast.Pow: operator.pow,
    }
)

_UNARY: Mapping[type[ast.unaryop], Callable[[Any], Any]] = MappingProxyType(
    {ast.UAdd: operator.pos, ast.USub: operator.neg}
)

FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "sqrt": math.sqrt,
        "sin": math.sin,
        "cos": math.cos,
        "tan": math.tan,
        "log": math.log,
        "log10": math.log10,
        "exp": math.exp,
        "abs": abs,
        "round": round,
        "floor": math.floor,
        "ceil": math.ceil,
    }
)

CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "e": math.e})


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic ``expression`` and return an int or a float.

    Integers stay integers under ``+ - * // % **`` (``"17 * 23 + 4"`` gives ``395``);
    ``/`` gives a float as in Python. Raises :class:`ValueError` for anything that is
    not a well-formed, whitelisted, finite and reasonably sized calculation.
    """
    if not isinstance(expression, str):
        raise ValueError("expression must be a string")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    if not expression.strip():
        raise ValueError("expression is empty")
    tree = _parse(expression.strip())
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except (OverflowError, RecursionError, MemoryError):
        raise ValueError("result is too large") from None
    except (TypeError, ArithmeticError) as exc:
        raise ValueError(f"cannot compute: {exc}") from None


def _parse(expression: str) -> ast.Expression:
    try:
        return ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"not a valid expression: {expression!r}") from None


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        return _check(_literal(node.value))
    if isinstance(node, ast.BinOp):
        return _check(_binary(node))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ValueError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Call):
        return _check(_call(node))
    raise ValueError(f"unsupported syntax: {type(node).__name__}")


def _literal(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"unsupported literal {value!r}")
    return value


def _binary(node: ast.BinOp) -> Number:
    op = _BINARY.get(type(node.op))
    if op is None:
        raise ValueError(f"unsupported operator: {type(node.op).__name__}")
    left, right = _eval(node.left), _eval(node.right)
    if isinstance(node.op, ast.Pow):
        _check_power(left, right)
    result: Number = op(left, right)
    return result


def _check_power(base: Number, exponent: Number) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        _check_int_power(base, exponent)
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise ValueError("fractional power of a negative number")


def _check_int_power(base: int, exponent: int) -> None:
    # bit_length * exponent bounds the result's size before any work is done
    if abs(base) > 1 and abs(base).bit_length() * exponent > MAX_POWER_BITS:
        raise ValueError("power is too large")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise ValueError(f"unsupported function: {ast.unparse(node.func)}")
    if node.keywords or not 1 <= len(node.args) <= MAX_ARGS:
        raise ValueError(f"bad arguments to {node.func.id}()")
    name = node.func.id
    args = [_eval(arg) for arg in node.args]
    if name == "round" and len(args) == 2:
        _check_round_digits(args[1])
    try:
        result: Number = FUNCTIONS[name](*args)
    except ValueError:
        raise ValueError(f"{name}() is undefined for {', '.join(map(str, args))}") from None
    return result


def _check_round_digits(digits: Number) -> None:
    if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round() needs a whole number of digits up to {MAX_ROUND_DIGITS}")


def _check(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("result is too large or undefined")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError("result is too large")
    return value


def _compute(arguments: Mapping[str, Any]) -> Number:
    expression = arguments.get("expression")
    if not isinstance(expression, str):
        raise ValueError("argument 'expression' (a string) is required")
    return evaluate(expression)


def calculator_tool() -> Tool:
    """Build the ``calculator`` tool: ``{"expression": str}`` → a number.

    Big-integer arithmetic is CPU work, so it runs in a worker thread (a blocking tool).
    """
    return blocking_tool(
        "calculator",
        "Evaluate an arithmetic expression (+ - * / // % **, sqrt, sin, log, pi, …).",
        _compute,
        MappingProxyType({"type": "object", "properties": {"expression": {"type": "string"}}}),
    )
