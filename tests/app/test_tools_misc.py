"""The demo tools other than the calculator: units, clock, docs search and echo."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.tools import datetime_tool, docs_search_tool, echo_tool, units_tool
from app.tools.clock import describe_time, resolve_timezone
from app.tools.docs_search import keywords, load_paragraphs, rank, snippet, split_paragraphs
from app.tools.prose import blocks, table_rows
from app.tools.units import LINEAR, canonical_unit, convert

# 2025-01-06 12:00:00 UTC, a Monday
MONDAY_NOON = 1736164800.0


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "km", "m", 1000),
        (10, "km", "mi", 6.2137119),
        (1, "mi", "ft", 5280),
        (12, "in", "ft", 1),
        (3, "yd", "ft", 9),
        (25, "mm", "cm", 2.5),
        (1, "lb", "oz", 16),
        (1, "kg", "lb", 2.2046226),
        (500, "g", "kg", 0.5),
        (100, "C", "F", 212),
        (32, "F", "C", 0),
        (0, "K", "C", -273.15),
        (-40, "F", "C", -40),
        (300, "K", "F", 80.33),
        (2, "h", "min", 120),
        (1, "day", "s", 86400),
        (90, "min", "h", 1.5),
    ],
)
def test_conversions(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "unit"),
    [("miles", "mi"), ("Feet", "ft"), ("KM", "km"), ("°F", "F"), ("celsius", "C"), ("c", "C")],
)
def test_unit_aliases(name: str, unit: str) -> None:
    assert canonical_unit(name) == unit


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [("kg", "m", "cannot convert"), ("C", "s", "cannot convert"), ("furlong", "m", "unknown")],
)
def test_bad_conversions(source: str, target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        convert(1, source, target)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(sorted(LINEAR)),
    st.sampled_from(sorted(LINEAR)),
)
def test_linear_round_trip(value: float, source: str, target: str) -> None:
    try:
        there = convert(value, source, target)
    except ValueError:
        assert LINEAR[source][0] != LINEAR[target][0]
        return
    assert convert(there, target, source) == pytest.approx(value, rel=1e-9, abs=1e-9)


async def test_units_tool() -> None:
    tool = units_tool()
    result = await tool.handler({"value": 5, "from": "km", "to": "miles"})
    assert result["from"] == "km" and result["to"] == "mi"
    assert result["result"] == pytest.approx(3.10686, rel=1e-5)
    for bad in ({"value": "5", "from": "km", "to": "m"}, {"value": 5, "from": "km"}):
        with pytest.raises(ValueError):
            await tool.handler(bad)
    with pytest.raises(ValueError):
        await tool.handler({"value": math.inf, "from": "km", "to": "m"})


def test_describe_time() -> None:
    utc = describe_time(MONDAY_NOON)
    assert utc["iso"] == "2025-01-06T12:00:00+00:00"
    assert utc["weekday"] == "Monday" and utc["date"] == "2025-01-06"
    assert utc["unix"] == MONDAY_NOON
    tokyo = describe_time(MONDAY_NOON, "Asia/Tokyo")
    assert tokyo["time"] == "21:00:00" and tokyo["utc_offset"] == "+0900"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime"])
def test_unknown_timezone(name: str) -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        resolve_timezone(name)


async def test_datetime_tool() -> None:
    tool = datetime_tool(now=lambda: MONDAY_NOON)
    assert tool.name == "datetime"
    assert (await tool.handler({}))["timezone"] == "UTC"
    paris = await tool.handler({"timezone": "Europe/Paris"})
    assert paris["iso"] == "2025-01-06T13:00:00+01:00"
    with pytest.raises(ValueError, match="unknown timezone"):
        await tool.handler({"timezone": "Nowhere/Else"})


def _write_docs(docs: Path) -> None:
    docs.mkdir()
    (docs / "protocol.md").write_text(
        "# Protocol\n\nEvery event carries a seq.\n\n"
        "To resume after a reconnect, send last_seq and the epoch; the server replays "
        "every event after that seq.\n",
        encoding="utf-8",
    )
    (docs / "stop.md").write_text(
        "# Stopping\n\nA stop_agent frame cancels a run. Reconnecting does not stop it.\n",
        encoding="utf-8",
    )
    (docs / "notes.txt").write_text("reconnect reconnect reconnect\n", encoding="utf-8")


async def test_docs_search_ranks_paragraphs(tmp_path: Path) -> None:
    _write_docs(tmp_path / "docs")
    tool = docs_search_tool(tmp_path / "docs")
    result = await tool.handler({"query": "How do I resume after a reconnect?"})
    assert result["keywords"] == ["resume", "reconnect"]  # "after" is a stop word
    files = [hit["file"] for hit in result["results"]]
    assert files == ["protocol.md", "stop.md"]
    assert "last_seq" in result["results"][0]["snippet"]
    assert (await tool.handler({"query": "kubernetes"}))["results"] == []


async def test_docs_search_edge_cases(tmp_path: Path) -> None:
    missing = docs_search_tool(tmp_path / "nowhere")
    assert (await missing.handler({"query": "seq"}))["results"] == []
    with pytest.raises(ValueError, match="query"):
        await missing.handler({"query": "  "})


def test_docs_search_pieces(tmp_path: Path) -> None:
    _write_docs(tmp_path / "docs")
    paragraphs = load_paragraphs(tmp_path / "docs")
    assert {p.file for p in paragraphs} == {"protocol.md", "stop.md"}
    assert keywords("What is the seq?") == ("seq",)
    assert [p.text for p in split_paragraphs("a.md", "one\ntwo\n\n\n three ")] == [
        "one two",
        "three",
    ]
    many = split_paragraphs("x.md", "\n\n".join(f"seq {i}" for i in range(10)))
    assert len(rank(many, "seq")) == 3
    long = "word " * 100 + "needle " + "word " * 100
    cut = snippet(long.strip(), ["needle"], width=80)
    assert "needle" in cut and cut.startswith("…") and cut.endswith("…")


async def test_echo_tool() -> None:
    tool = echo_tool()
    assert tool.name == "echo"
    assert await tool.handler({"a": 1, "b": [2]}) == {"a": 1, "b": [2]}


def test_prose_blocks_read_like_sentences() -> None:
    markdown = (
        "# Guide\n\n- [Setup](#setup)\n- [Run](#run)\n\n## Setup\n\nNotes:\n\n"
        "- Install **it** with `pip install 'x[**y**]'`.\n- Then read [the docs](docs.md).\n"
        "  It takes a minute.\n\n```python\nsecret = 1\n\nprint(secret)\n```\n\n"
        "| name | type | meaning |\n|:---|---|---:|\n| `bind` | str | Where to listen. |\n"
    )
    found = [(block.section, block.text) for block in blocks(markdown)]
    assert found == [
        ("Setup", "Install it with pip install 'x[**y**]'."),
        ("Setup", "Then read the docs. It takes a minute."),
        ("Setup", "bind: Where to listen. (type: str)"),
    ]


def test_table_rows_need_a_header_and_a_body() -> None:
    assert list(table_rows(["| a | b |", "|---|---|"])) == []
    assert list(table_rows(["| a | b |", "| 1 | 2 |"])) == ["1: 2"]


async def test_docs_search_reports_section_and_matched_keywords(tmp_path: Path) -> None:
    _write_docs(tmp_path / "docs")
    tool = docs_search_tool(tmp_path / "docs")
    result = await tool.handler({"query": "How do I resume after a reconnect?"})
    best = result["results"][0]
    assert best["section"] == "Protocol"
    assert best["matched"] == ["resume", "reconnect"]
    assert result["results"][1]["matched"] == ["reconnect"]
