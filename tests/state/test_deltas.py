"""The delta merger (sans-IO): same text, in order, never across another event, bounded.

Hypothesis drives one run's life: deltas of any text arriving with the way clear or
not, other events between them, the clock moving, the timer firing. What the run
publishes, with adjacent deltas joined, must equal what the agent emitted with
adjacent deltas joined: the client assembles the same text for any split, timing and
interleaving, and no event moves across a delta.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wsao_trio._state.deltas import DeltaMerger

MAX_DELAY = 0.02
MAX_BYTES = 64

steps = st.lists(
    st.one_of(
        st.tuples(st.just("delta"), st.text(max_size=20), st.booleans()),
        st.tuples(st.just("other"), st.integers(0, 9), st.just(False)),
        st.tuples(st.just("tick"), st.floats(0, 0.05), st.just(False)),
    ),
    max_size=60,
)


def joined(stream: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Adjacent deltas joined into one (what a client's text cannot tell apart)."""
    out: list[tuple[str, Any]] = []
    for kind, value in stream:
        if kind == "delta" and out and out[-1][0] == "delta":
            out[-1] = ("delta", out[-1][1] + value)
        elif kind != "delta" or value:
            out.append((kind, value))
    return out


def play(merger: DeltaMerger, script: list[tuple[str, Any, bool]]) -> dict[str, Any]:
    """Run ``script``; what the agent emitted and what the run published."""
    now, emitted, published = 0.0, [], []
    for kind, value, behind in script:
        if kind == "delta":
            emitted.append(("delta", value))
            out = merger.offer(value, now, behind)
        elif kind == "other":
            emitted.append(("other", value))
            out = [t for t in [merger.interrupt()] if t is not None]
        else:
            now += value
            out = [t for t in [merger.due(now)] if t is not None]
        published += [("delta", text) for text in out]
        if kind == "other":
            published.append(("other", value))
    tail = merger.interrupt()  # the terminal event flushes what is held
    published += [("delta", tail)] if tail is not None else []
    return {"emitted": emitted, "published": published}


@settings(max_examples=500)
@given(steps)
def test_the_text_and_the_order_are_kept(script: list[tuple[str, Any, bool]]) -> None:
    result = play(DeltaMerger(MAX_DELAY, MAX_BYTES), script)
    assert joined(result["published"]) == joined(result["emitted"])


@given(steps)
def test_merging_off_publishes_every_delta_as_it_comes(
    script: list[tuple[str, Any, bool]],
) -> None:
    result = play(DeltaMerger(0, MAX_BYTES), script)
    assert result["published"] == result["emitted"]


@given(steps)
def test_a_hold_never_outlasts_the_delay_when_the_timer_fires(
    script: list[tuple[str, Any, bool]],
) -> None:
    merger = DeltaMerger(MAX_DELAY, MAX_BYTES)
    now = 0.0
    for kind, value, behind in script:
        if kind == "tick":
            # the caller's timer fires at the deadline, not later than the next tick
            deadline = merger.deadline
            if deadline is not None and deadline <= now + value:
                assert merger.due(deadline) is not None
            now += value
        elif kind == "delta":
            merger.offer(value, now, behind)
        assert merger.deadline is None or merger.deadline - now <= MAX_DELAY + 1e-9


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=40))
def test_the_first_delta_goes_out_at_once_and_merged_ones_respect_the_size_cap(
    texts: list[str],
) -> None:
    merger = DeltaMerger(MAX_DELAY, MAX_BYTES)
    first = merger.offer(texts[0], 0.0, behind=True)
    assert first == [texts[0]]  # time to first token does not grow
    out = [t for text in texts[1:] for t in merger.offer(text, 0.0, behind=True)]
    out += [merger.interrupt() or ""]
    longest_piece = max(len(t.encode()) for t in texts)
    assert all(len(t.encode()) <= max(MAX_BYTES, longest_piece) for t in out)
    assert "".join([*first, *out]) == "".join(texts)


def test_a_delta_after_another_event_goes_out_at_once() -> None:
    merger = DeltaMerger(MAX_DELAY, MAX_BYTES)
    assert merger.offer("a", 0.0, behind=False) == ["a"]
    assert merger.offer("b", 0.0, behind=True) == []  # held: the way is not clear
    assert merger.interrupt() == "b"  # a tool call comes: "b" goes out first
    assert merger.offer("c", 0.0, behind=True) == ["c"]  # first after another event
    assert merger.offer("d", 0.001, behind=True) == []
    assert merger.offer("e", 0.002, behind=False) == ["de"]  # the way is clear again
    assert merger.merged == 1
