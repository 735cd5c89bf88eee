"""The ``datetime`` tool: the current date and time in a named time zone.

Time zones come from :mod:`zoneinfo` (the IANA database), UTC by default. The clock is
injectable so tests can pin "now".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wsao_trio import Tool

MAX_ZONE_LENGTH = 64


def resolve_timezone(name: str) -> tzinfo:
    """The :class:`~datetime.tzinfo` for an IANA ``name`` such as ``"Europe/Paris"``.

    Raises :class:`ValueError` for a name the time zone database does not know.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ZONE_LENGTH:
        raise ValueError(f"unknown timezone {name!r}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown timezone {name!r}") from None


def describe_time(unix_time: float, timezone: str = "UTC") -> dict[str, Any]:
    """Describe ``unix_time`` in ``timezone``: ISO string, date, time, weekday, unix time."""
    moment = datetime.fromtimestamp(unix_time, tz=resolve_timezone(timezone))
    return {
        "timezone": timezone.strip(),
        "iso": moment.isoformat(timespec="seconds"),
        "date": moment.date().isoformat(),
        "time": moment.strftime("%H:%M:%S"),
        "weekday": moment.strftime("%A"),
        "utc_offset": moment.strftime("%z"),
        "unix": unix_time,
    }


def datetime_tool(now: Callable[[], float] = time.time) -> Tool:
    """Build the ``datetime`` tool: ``{"timezone"?: str}`` → the current date and time.

    Args:
        now: returns the current unix time; tests pass a fixed clock.
    """

    async def handle(arguments: Mapping[str, Any]) -> dict[str, Any]:
        timezone = arguments.get("timezone", "UTC")
        if not isinstance(timezone, str):
            raise ValueError("argument 'timezone' must be a string")
        return describe_time(now(), timezone)

    return Tool(
        name="datetime",
        description="The current date, time and weekday in a time zone (IANA name, UTC default).",
        handler=handle,
        parameters=MappingProxyType(
            {"type": "object", "properties": {"timezone": {"type": "string"}}}
        ),
    )
