"""The ``convert_units`` tool: length, mass, temperature and time conversions.

Linear units are stored as (dimension, size in the dimension's base unit); temperature
goes through kelvin. Unit names accept common spellings ("miles", "feet", "°C") and
are matched exactly first, then case-insensitively.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from wsao_trio import Tool

LINEAR: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "m": ("length", 1.0),
        "km": ("length", 1000.0),
        "cm": ("length", 0.01),
        "mm": ("length", 0.001),
        "mi": ("length", 1609.344),
        "ft": ("length", 0.3048),
        "in": ("length", 0.0254),
        "yd": ("length", 0.9144),
        "kg": ("mass", 1.0),
        "g": ("mass", 0.001),
        "lb": ("mass", 0.45359237),
        "oz": ("mass", 0.028349523125),
        "s": ("time", 1.0),
        "min": ("time", 60.0),
        "h": ("time", 3600.0),
        "day": ("time", 86400.0),
    }
)

TEMPERATURES = frozenset({"C", "F", "K"})

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{name: "m" for name in ("meter", "meters", "metre", "metres")},
        **{name: "km" for name in ("kilometer", "kilometers", "kilometre", "kilometres")},
        **{name: "cm" for name in ("centimeter", "centimeters", "centimetre", "centimetres")},
        **{name: "mm" for name in ("millimeter", "millimeters", "millimetre", "millimetres")},
        **{name: "mi" for name in ("mile", "miles")},
        **{name: "ft" for name in ("foot", "feet")},
        **{name: "in" for name in ("inch", "inches")},
        **{name: "yd" for name in ("yard", "yards")},
        **{name: "kg" for name in ("kilogram", "kilograms", "kilo", "kilos")},
        **{name: "g" for name in ("gram", "grams")},
        **{name: "lb" for name in ("lbs", "pound", "pounds")},
        **{name: "oz" for name in ("ounce", "ounces")},
        **{name: "C" for name in ("°C", "celsius", "centigrade")},
        **{name: "F" for name in ("°F", "fahrenheit")},
        **{name: "K" for name in ("kelvin", "kelvins")},
        **{name: "s" for name in ("sec", "secs", "second", "seconds")},
        **{name: "min" for name in ("mins", "minute", "minutes")},
        **{name: "h" for name in ("hr", "hrs", "hour", "hours")},
        **{name: "day" for name in ("d", "days")},
    }
)

_KELVIN_OFFSET = 273.15


def canonical_unit(name: str) -> str:
    """The canonical symbol for a unit name (``"miles"`` → ``"mi"``), or ValueError."""
    if not isinstance(name, str):
        raise ValueError("a unit must be a string")
    stripped = name.strip()
    for candidate in (stripped, stripped.lower()):
        if candidate in LINEAR or candidate in TEMPERATURES:
            return candidate
        if candidate in ALIASES:
            return ALIASES[candidate]
    if stripped.upper() in TEMPERATURES:
        return stripped.upper()
    raise ValueError(f"unknown unit {name!r}")


def dimension(unit: str) -> str:
    """The dimension (length, mass, temperature, time) of a canonical unit."""
    return "temperature" if unit in TEMPERATURES else LINEAR[unit][0]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from one unit to another; ValueError if they are incompatible."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value must be a number")
    if not math.isfinite(value):
        raise ValueError("value must be finite")
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    if dimension(source) != dimension(target):
        raise ValueError(
            f"cannot convert {dimension(source)} ({source}) to {dimension(target)} ({target})"
        )
    if source in TEMPERATURES:
        return _from_kelvin(_to_kelvin(float(value), source), target)
    return float(value) * LINEAR[source][1] / LINEAR[target][1]


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value + _KELVIN_OFFSET
    if unit == "F":
        return (value - 32.0) * 5.0 / 9.0 + _KELVIN_OFFSET
    return value


def _from_kelvin(kelvin: float, unit: str) -> float:
    if unit == "C":
        return kelvin - _KELVIN_OFFSET
    if unit == "F":
        return (kelvin - _KELVIN_OFFSET) * 9.0 / 5.0 + 32.0
    return kelvin


async def _handle(arguments: Mapping[str, Any]) -> dict[str, Any]:
    value, from_unit, to_unit = arguments.get("value"), arguments.get("from"), arguments.get("to")
    if not isinstance(from_unit, str) or not isinstance(to_unit, str):
        raise ValueError("arguments 'from' and 'to' (unit names) are required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("argument 'value' (a number) is required")
    result = convert(value, from_unit, to_unit)
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    return {"value": value, "from": source, "to": target, "result": result}


def units_tool() -> Tool:
    """Build the ``convert_units`` tool: ``{"value", "from", "to"}`` → the converted value."""
    return Tool(
        name="convert_units",
        description="Convert a value between units of length, mass, temperature or time.",
        handler=_handle,
        parameters=MappingProxyType(
            {
                "type": "object",
                "properties": {
                    "value": {"type": "number"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                },
            }
        ),
    )
