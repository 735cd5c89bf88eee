"""One event vocabulary: ``wsao_trio.protocol.EVENTS``, and everything that must agree.

A new event type is added to the table in ``protocol.py``; this test then names each
place that has not caught up: the AG-UI mapper, the stress checker, the Python client's
run reducer, the chat page's JavaScript (``app/static``), the JS client (``clients/js``)
and ``docs/protocol.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stress import checker
from wsao_trio.agui.mapper import EventMapper, RunIds
from wsao_trio.client import reducer
from wsao_trio.protocol import (
    CONTROL_FRAMES,
    CRITICAL_EVENTS,
    EVENTS,
    RUN_EVENTS,
    TERMINAL_EVENTS,
)

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "app" / "static"


def _js_object_keys(source: str, opening: str) -> set[str]:
    """The keys of the JS object literal that starts at ``opening`` (one level deep)."""
    start = source.index(opening) + len(opening)
    body = source[start : source.index("}", start)]
    return set(re.findall(r"^\s*(\w+)\s*:", body, flags=re.MULTILINE))


def _doc_rows(section: str) -> dict[str, list[str]]:
    """``docs/protocol.md``'s table rows under the heading that starts with ``section``."""
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    part = text[text.index(f"## {section}") :]
    part = part[: part.index("\n## ", 1)]
    rows = {}
    for line in part.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0])
        if match:
            rows[match.group(1)] = cells
    return rows


def _doc_keys(cell: str) -> tuple[set[str], set[str]]:
    """All the keys a payload cell names, and those marked optional (``?``)."""
    cell = re.sub(r"\([^)]*\)", "", cell)  # "(`retention` or `epoch`)" names values
    return set(re.findall(r"`(\w+)`", cell)), set(re.findall(r"`(\w+)`\?", cell))


def test_the_derived_sets_are_the_tables_columns() -> None:
    assert set(EVENTS) == RUN_EVENTS | CONTROL_FRAMES
    assert not RUN_EVENTS & CONTROL_FRAMES
    assert CRITICAL_EVENTS <= RUN_EVENTS and TERMINAL_EVENTS <= RUN_EVENTS
    assert all(EVENTS[name].kind == "control" for name in CONTROL_FRAMES)


def test_the_agui_mapper_maps_every_run_event() -> None:
    assert EventMapper(RunIds("thread", "run")).types == RUN_EVENTS


def test_the_stress_checker_reads_the_table() -> None:
    assert checker.CRITICAL == CRITICAL_EVENTS
    assert checker.TERMINAL == TERMINAL_EVENTS


def test_the_python_client_reads_the_table() -> None:
    assert set(reducer.STATUS_OF_TERMINAL) == TERMINAL_EVENTS


def test_the_chat_page_knows_every_event() -> None:
    model = (STATIC / "chat-model.js").read_text(encoding="utf-8")
    chat = (STATIC / "chat.js").read_text(encoding="utf-8")
    sdk = (ROOT / "clients" / "js" / "src" / "reducer.ts").read_text(encoding="utf-8")
    terminal = re.search(r"const TERMINAL\b[^=]*= new Set\(\[([^\]]*)\]\)", sdk)
    assert terminal and set(re.findall(r'"(\w+)"', terminal.group(1))) == TERMINAL_EVENTS
    reduce_run = sdk[sdk.index("export function reduceRun(") :]
    reduce_run = reduce_run[: reduce_run.index("\n}\n")]
    assert set(re.findall(r'case "(\w+)":', reduce_run)) >= RUN_EVENTS
    apply_event = model[model.index("function applyEvent(") :]
    apply_event = apply_event[: apply_event.index("\n}\n")]
    assert set(re.findall(r'case "(\w+)":', apply_event)) == RUN_EVENTS
    assert "const CONTROL" not in chat  # control frames are the SDK's (below)


def test_the_js_client_handles_every_control_frame() -> None:
    """``@wsao/client`` (vendored for the page) reads every control frame; a pong needs nothing."""
    client = (ROOT / "clients" / "js" / "src" / "client.ts").read_text(encoding="utf-8")
    on_frame = client[client.index("private onFrame(") :]
    on_frame = on_frame[: on_frame.index("\n  }\n")]
    assert set(re.findall(r'case "(\w+)":', on_frame)) | {"pong"} == CONTROL_FRAMES


@pytest.mark.parametrize(
    ("section", "kind"),
    [("Server → client: run events", "run"), ("Server → client: control frames", "control")],
)
def test_docs_protocol_lists_the_same_events(section: str, kind: str) -> None:
    rows = _doc_rows(section)
    assert set(rows) == {name for name, spec in EVENTS.items() if spec.kind == kind}
    for name, cells in rows.items():
        spec = EVENTS[name]
        named, optional = _doc_keys(cells[1])
        assert named == set(spec.keys) | set(spec.optional), name
        assert optional <= set(spec.optional), name
        if kind == "run":
            assert (cells[2] == "yes") == spec.critical, name
            assert cells[3].startswith("terminal") == spec.terminal, name
