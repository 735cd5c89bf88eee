"""Logs that a client cannot inflate: short quotes, bounded records, repeats folded.

A client controls message text, and text ends up in exception messages and so in
tracebacks: before this module a failing run logged the whole 60 KB message each time
(~3 MB/s of log from one connection). Three defences, for any logging setup:

- :func:`shorten` quotes at most a prefix of client text where we log it;
- :class:`BoundedFormatter` cuts every formatted record (message plus traceback) to a
  maximum size, whatever logged it;
- :class:`RepeatFilter` lets the first record of a kind through and folds identical
  ones (same logger, template and exception type) for ``window`` seconds into one
  "suppressed N" note on the next that passes.

:func:`install` puts the last two on a handler; ``python -m app`` does so for its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_RECORD_CHARS = 4000
MAX_LINE_CHARS = 200
DEFAULT_WINDOW = 10.0
MAX_KINDS = 1000


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class BoundedFormatter(logging.Formatter):
    """A formatter whose output, traceback included, is at most ``max_chars`` long."""

    def __init__(self, fmt: str | None = None, max_chars: int = DEFAULT_MAX_RECORD_CHARS) -> None:
        super().__init__(fmt)
        self.max_chars = max_chars

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then cut to ``max_chars``."""
        return shorten(super().format(record), self.max_chars)

    def formatException(self, ei: Any) -> str:
        """The traceback with each line cut to :data:`MAX_LINE_CHARS` (messages quote input)."""
        lines = super().formatException(ei).splitlines()
        return "\n".join(shorten(line, MAX_LINE_CHARS) for line in lines)


class RepeatFilter(logging.Filter):
    """Drops records identical in kind to one let through less than ``window`` s ago."""

    def __init__(
        self, window: float = DEFAULT_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit; repeats within the window are counted instead."""
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, str(record.msg), _exception_type(record))
        now = self._clock()
        passed_at, suppressed = self._seen.get(kind, (-self.window, 0))
        if now - passed_at < self.window:
            self._seen[kind] = (passed_at, suppressed + 1)
            return False
        if len(self._seen) >= MAX_KINDS:
            self._seen.clear()
        self._seen[kind] = (now, 0)
        if suppressed:
            record.msg = f"{record.msg} [{suppressed} similar suppressed]"
        return True


def _exception_type(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    return type(exc).__name__ if exc is not None else ""


def install(
    handler: logging.Handler,
    fmt: str | None = None,
    *,
    max_chars: int = DEFAULT_MAX_RECORD_CHARS,
    window: float = DEFAULT_WINDOW,
) -> logging.Handler:
    """Give ``handler`` a :class:`BoundedFormatter` and a :class:`RepeatFilter`."""
    handler.setFormatter(BoundedFormatter(fmt, max_chars))
    handler.addFilter(RepeatFilter(window))
    return handler
