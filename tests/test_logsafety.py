"""Logs a client cannot inflate (issue 7 item 4)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import trio

from tests.support.live import LiveServer
from wsao_trio.logsafety import BoundedFormatter, RepeatFilter, install, shorten

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def test_shorten_keeps_short_text_and_says_what_it_cut() -> None:
    assert shorten("hello", 10) == "hello"
    assert shorten("x" * 100, 10) == "x" * 10 + "… [90 more characters]"


def test_bounded_formatter_cuts_the_traceback_too() -> None:
    try:
        raise ValueError("y" * 50_000)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", (), None)
        record.exc_info = __import__("sys").exc_info()
    text = BoundedFormatter(max_chars=500).format(record)
    assert len(text) < 600 and text.startswith("boom")


def test_repeat_filter_folds_identical_warnings_within_the_window() -> None:
    now = [0.0]
    flt = RepeatFilter(window=10, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, (), None)

    passed = [flt.filter(record("run %s failed")) for _ in range(5)]
    assert passed == [True, False, False, False, False]
    assert flt.filter(record("another kind"))
    now[0] = 11.0
    again = record("run %s failed")
    assert flt.filter(again) and "4 similar suppressed" in str(again.msg)
    info = logging.LogRecord("t", logging.INFO, __file__, 1, "run %s failed", (), None)
    assert flt.filter(info)  # below WARNING: never folded


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    sink = io.StringIO()
    handler = install(logging.StreamHandler(sink), "%(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield sink
    finally:
        root.removeHandler(handler)


async def test_failing_runs_with_huge_messages_log_little(
    server: LiveServer, captured_log: io.StringIO
) -> None:
    junk = "fail=1 " + "z" * 60_000  # a bad script item: the error message quotes it
    with trio.fail_after(20):
        async with server.connect("alice") as client:
            for _ in range(20):
                _, events = await client.run(junk, agent_type="scripted")
                assert events[-1]["type"] == "agent_error"
    logged = captured_log.getvalue()
    assert "run " in logged and len(logged) < 10_000, len(logged)
    assert "z" * 250 not in logged
