"""Checks every test applies to what a client received."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from wsao_trio.protocol import EVENTS, TERMINAL_EVENTS


def check_run(events: list[dict[str, Any]]) -> None:
    """One run's events: started first, one terminal last, tools paired before it, and
    each event of the vocabulary carrying the payload keys ``protocol.EVENTS`` names."""
    assert events, "no events"
    for event in events:
        spec = EVENTS.get(event["type"])
        missing = set(spec.keys) - set(event["payload"]) if spec else set()
        assert not missing, f"{event['type']} without {sorted(missing)}: {event['payload']}"
    assert events[0]["type"] == "agent_started"
    terminals = [e for e in events if e["type"] in TERMINAL_EVENTS]
    assert len(terminals) == 1 and events[-1] is terminals[0], [e["type"] for e in events]
    open_calls: set[str] = set()
    for event in events:
        call_id = event["payload"].get("tool_call_id")
        if event["type"] == "tool_executing":
            open_calls.add(call_id)
        elif event["type"] == "tool_completed":
            open_calls.remove(call_id)
    assert not open_calls, f"tool calls never completed: {open_calls}"


def check_stream(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A user's stream: seq contiguous from its first, no duplicates; runs grouped."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        runs[event["run_id"]].append(event)
    return dict(runs)
