"""``stress tokens``: the sans-IO token checker, the knee search, the report, and one
brief run end to end.

Hypothesis proves that any split of a stream's text into deltas reassembles to the same
tokens, and that doubled, missing, reordered and malformed tokens are each reported.
The end-to-end runs are tiny (a few users for a second) and assert the report's shape
and that every tab's text is identical, never a speed: figures come from
``python -m stress tokens`` runs written to docs/performance.md.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.agents.scripted import schedule_thought, token_text
from stress.cli import main
from stress.spec import parse_target
from stress.tokenbench import KneeSearch, server_settings
from stress.tokencheck import (
    Schedule,
    TokenAssembler,
    compare_tokens,
    expected_text,
    parse_schedule,
    token_latencies,
)
from stress.tokenload import Tab, TokenOutcome, TokenSpec
from stress.tokenreport import load_figures, verdict
from stress.wsframes import FrameReader
from tests.support.redisserver import needs_redis

EXPECTED = [f"t{i}" for i in range(60)]


def assemble(pieces: list[str]) -> TokenAssembler:
    """Feed ``pieces`` as deltas (the n-th received at time n), then finish."""
    assembler = TokenAssembler()
    for n, piece in enumerate(pieces):
        assembler.feed(piece, float(n))
    assembler.finish()
    return assembler


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at any set of positions (empty pieces included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=40)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@given(st.integers(0, 60).flatmap(lambda n: st.tuples(st.just(n), splits(expected_text(n)))))
def test_any_split_reassembles_to_the_same_tokens(case: tuple[int, list[str]]) -> None:
    count, pieces = case
    assembler = assemble(pieces)
    assert assembler.tokens == EXPECTED[:count]
    assert compare_tokens(assembler.tokens, count).identical
    assert len(assembler.received_at) == count


@given(st.data())
def test_doubled_missing_reordered_malformed_are_reported(data: st.DataObject) -> None:
    tokens = list(EXPECTED)
    i = data.draw(st.integers(0, len(tokens) - 2))
    doubled = [*tokens[: i + 1], tokens[i], *tokens[i + 1 :]]
    missing = tokens[:i] + tokens[i + 1 :]
    swapped = [*tokens[:i], tokens[i + 1], tokens[i], *tokens[i + 2 :]]
    garbage = [*tokens[:i], "x" + tokens[i], *tokens[i + 1 :]]
    assert compare_tokens(doubled, 60).doubled == 1
    assert compare_tokens(missing, 60).missing == 1
    assert compare_tokens(swapped, 60).reordered == 1
    bad = compare_tokens(garbage, 60)
    assert bad.malformed == 1 and bad.missing == 1
    for wrong in (doubled, missing, swapped, garbage):
        assert not compare_tokens(assemble(["".join(t + " " for t in wrong)]).tokens, 60).identical


def test_schedule_round_trips_and_times_each_token() -> None:
    schedule = parse_schedule(schedule_thought(500, 50, 1764638000.25))
    assert schedule == Schedule(500, 50, 1764638000.25)
    assert schedule.emit_time(10) == pytest.approx(1764638000.45)
    assert parse_schedule("scripted thought 1 of 1") is None
    assembler = TokenAssembler()
    assembler.feed("t0 t1 t", 1764638000.26)  # a merged delta, the third token cut
    assembler.feed("2 ", 1764638000.30)
    assert assembler.tokens == [token_text(i).strip() for i in range(3)]
    assert token_latencies(assembler, schedule) == pytest.approx([10.0, -10.0, 10.0], abs=1e-3)


def _frame(kind: str, seq: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "seq": seq, "timestamp": 100.0, "payload": payload}


def _tab(deltas: list[str]) -> Tab:
    tab = Tab("u", parse_target("ws://127.0.0.1:1/ws"))
    tab.on_line(_frame("agent_thinking", 2, {"thought": schedule_thought(4, 4, 100.0)}), 100.0)
    for n, text in enumerate(deltas):
        tab.on_line(_frame("agent_message_delta", 3 + n, {"delta": text}), 100.0 + n * 0.25)
    tab.on_line(_frame("agent_completed", 9, {}), 101.0)
    tab.assembler.finish()
    return tab


def test_the_report_catches_a_corrupted_tab() -> None:
    spec = TokenSpec(targets=(parse_target("ws://127.0.0.1:1/ws"),), users=1, tabs=2,
                     rate=4, duration=1.0, secret="s")  # fmt: skip
    good, bad = _tab(["t0 ", "t1 t2 ", "t3 "]), _tab(["t0 ", "t2 ", "t1 ", "t1 t3 "])
    figures = load_figures(TokenOutcome(spec, [good, bad], 100.0, 101.0, 0, False))
    assert figures["text"] == {"tabs": 2, "identical": 1, "mismatched": 1, "missing": 0,
                               "doubled": 1, "reordered": 1, "malformed": 0}  # fmt: skip
    assert figures["tokens_per_delta"] == pytest.approx(8 / 7, abs=1e-3)
    assert figures["slowdown"]["max"] is not None
    assert verdict(figures)["every_text_identical"] is False


@given(st.integers(1, 5000), st.integers(1, 400))
def test_the_knee_search_is_bounded_and_close(threshold: int, start: int) -> None:
    search, steps = KneeSearch(start, 1.5), 0
    while (users := search.next()) is not None:
        search.record(users, users <= threshold)
        steps += 1
        assert steps < 40
    if search.best is not None:
        assert search.best <= threshold
        assert search.failed is not None and search.failed > threshold
        assert search.failed - search.best <= max(1, round(search.failed * 0.05))


def test_server_settings_are_checked() -> None:
    assert server_settings(["WSAO_DELTA_MAX_DELAY_MS=0"]) == {"WSAO_DELTA_MAX_DELAY_MS": "0"}
    with pytest.raises(ValueError):
        server_settings(["DELTA=0"])


def _run(tmp_path: Path, modes: str) -> dict[str, Any]:
    argv = ["tokens", "--users", "3", "--tabs", "2", "--token-rate", "40", "--duration", "1"]
    code = main([*argv, "--spread", "0.2", "--modes", modes, "--out", str(tmp_path)])
    summary: dict[str, Any] = json.loads((tmp_path / "tokens.json").read_text())
    assert code == 0
    assert (tmp_path / "tokens.png").stat().st_size > 0
    return summary


def _assert_clean(report: dict[str, Any]) -> None:
    assert report["text"]["tabs"] == 6
    assert report["text"]["identical"] == 6, report["text"]
    assert report["tabs_by_end"] == {"agent_completed": 6}
    assert report["token_latency_ms"]["count"] == 6 * 40
    assert report["offered_tokens_per_s"] == 3 * 40
    assert 0 < report["delivered"] <= 1.01
    assert report["server"]["cpu_ms_per_token"] > 0 and report["server"]["rss_mb_max"] > 0
    assert set(report["verdict"]) >= {"p99_under_50ms", "every_text_identical"}


def test_tokens_baseline_and_memory_end_to_end(tmp_path: Path) -> None:
    summary = _run(tmp_path, "baseline,memory")
    assert [m["name"] for m in summary["medians"]] == ["baseline", "memory"]
    for report in summary["medians"]:
        _assert_clean(report)
    assert summary["medians"][0]["tokens_per_delta"] == 1.0  # the baseline never merges


@needs_redis
def test_tokens_across_two_processes_on_redis(tmp_path: Path) -> None:
    summary = _run(tmp_path, "redis2")
    _assert_clean(summary["medians"][0])


def _server_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    if len(payload) < 65536:
        return head + bytes([126]) + len(payload).to_bytes(2, "big") + payload
    return head + bytes([127]) + len(payload).to_bytes(8, "big") + payload


@given(st.lists(st.binary(max_size=70_000), max_size=5), st.data())
def test_frame_reader_returns_every_message_for_any_chunking(
    payloads: list[bytes], data: st.DataObject
) -> None:
    wire = b"".join(_server_frame(p) for p in payloads)
    wire += _server_frame(b"ab", fin=False) + _server_frame(b"cd", 0x0) + _server_frame(b"", 0x8)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=20)))
    reader, got = FrameReader(), []
    for a, b in itertools.pairwise([0, *cuts, len(wire)]):
        got.extend(reader.feed(wire[a:b]))
    assert got == [*((0x1, p) for p in payloads), (0x1, b"abcd"), (0x8, b"")]
    assert not reader.buffer
